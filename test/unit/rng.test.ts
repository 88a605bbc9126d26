// The seeded generator behind every synthetic dataset and `atc data generate`: its int32 form
// must give the very words of xoshiro128** seeded by splitmix32, written here plainly in BigInt.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../datasets/index.js';

const M = (1n << 32n) - 1n;
const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M;

function reference(seed: number): () => bigint {
  let x = BigInt(seed >>> 0);
  const split = (): bigint => {
    x = (x + 0x9e3779b9n) & M;
    let z = x;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
    return z ^ (z >> 16n);
  };
  const s = [split(), split(), split(), split()] as [bigint, bigint, bigint, bigint];
  return () => {
    const r = (rotl((s[1] * 5n) & M, 7n) * 9n) & M;
    const t = (s[1] << 9n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
    return r;
  };
}

describe('Rng', () => {
  it.each([0, 1, 42, 0x7fffffff, 0x80000000, 0xffffffff])('is xoshiro128** seeded by splitmix32 (seed %i)', (seed) => {
    const rng = new Rng(seed);
    const ref = reference(seed);
    for (let i = 0; i < 5_000; i++) expect(rng.u32()).toBe(Number(ref()));
  });

  it('builds unit() from 27 + 26 high bits of two words', () => {
    const rng = new Rng(9);
    const ref = reference(9);
    for (let i = 0; i < 2_000; i++) {
      const hi = Number(ref() >> 5n);
      const lo = Number(ref() >> 6n);
      expect(rng.unit()).toBe((hi * 67108864 + lo) / 2 ** 53);
    }
  });
});
