import { describe, expect, it } from 'vitest';
import type { BarChunk } from '../../src/data/bars-reader.js';
import { chunkStarts, parseShard, planShards } from '../../src/distributed/shards.js';
import type { Slot } from '../../src/pool/slots.js';
import { loadBatches } from '../../src/stages/load/index.js';

/** Per symbol the loader keeps (over symbols of `rows` bars, clean rows read in chunks of 7): its code and whether its last block starts a batch. */
async function loaderCuts(rows: readonly number[], capacity: number, minBars: number, maxSeries?: number): Promise<[number, number][]> {
  const all: number[] = [];
  rows.forEach((r, code) => {
    for (let i = 0; i < r; i++) all.push(code);
  });
  async function* chunks(): AsyncGenerator<BarChunk> {
    for (let a = 0; a < all.length; a += 7) {
      const sym = Uint32Array.from(all.slice(a, a + 7));
      const ts = Float64Array.from(sym, (_, i) => a + i + 1);
      yield { n: sym.length, sym, ts, close: new Float64Array(sym.length).fill(100), tsNull: null, closeNull: null, inputs: [], inputNulls: [] };
    }
  }
  const slot = (): Slot => ({ capacity, ts: new Float64Array(capacity), closes: new Float64Array(capacity), inputs: {} }) as unknown as Slot;
  const cuts: [number, number][] = [];
  const symbols = rows.map((_, i) => `S${i}`);
  for await (const b of loadBatches(chunks(), { symbols, minBars, file: 'f', policy: 'drop', acquire: async () => slot(), ...(maxSeries ? { maxSeries } : {}) })) {
    b.series.forEach((s, i) => s.last && cuts.push([s.code, i === 0 ? 1 : 0]));
  }
  return cuts;
}

describe('shards', () => {
  it('chunk starts replay the loader: whole symbols per chunk, a long symbol alone, a short one withdrawn', () => {
    // chunk 10: [4,4] | [4] moves (8+4 > 10) | [25] alone (cut into blocks, 5 left) | [3] fits, [2] too short (withdrawn) | ...
    const rows = [4, 4, 4, 25, 3, 2, 6];
    const starts = chunkStarts(rows, 10, 3);
    expect(starts.map((s) => s.code)).toEqual([0, 2, 3, 6]);
    expect(starts.map((s) => s.before)).toEqual([0, 8, 12, 42]);
  });

  it.each([undefined, 1, 2, 3])('chunk starts equal the batch starts of the loader (random universes, at most %s series a chunk)', async (maxSeries) => {
    let seed = 7 + (maxSeries ?? 0);
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let trial = 0; trial < 30; trial++) {
      const rows = Array.from({ length: 5 + rand(20) }, () => 1 + rand(rand(4) === 0 ? 40 : 8));
      const starts = chunkStarts(rows, 16, 3, maxSeries).map((s) => s.code);
      const chunkOf = (code: number): number => starts.filter((c) => c <= code).length;
      const got = await loaderCuts(rows, 16, 3, maxSeries);
      expect(got.length).toBe(rows.filter((r) => r >= 3).length);
      // a kept symbol starts a batch exactly where it is in another chunk than the kept symbol before it
      const want = got.map(([code], i) => [code, i === 0 || chunkOf(code) !== chunkOf((got[i - 1] as [number, number])[0]) ? 1 : 0]);
      expect(got, JSON.stringify(rows)).toEqual(want);
      // and no batch holds more than maxSeries of them
      const sizes = got.reduce<number[]>((a, [, start]) => (start ? [...a, 1] : [...a.slice(0, -1), (a.at(-1) as number) + 1]), []);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(maxSeries ?? Infinity);
    }
  });

  it('shards fall on chunk starts, cover every symbol once, and hold about equal bars', () => {
    const rows = Array.from({ length: 40 }, (_, i) => 50 + ((i * 37) % 23));
    const starts = new Set(chunkStarts(rows, 200, 1).map((s) => s.code));
    for (const n of [1, 2, 3, 7]) {
      const shards = planShards({ rows }, n, 200, 1);
      expect(shards).toHaveLength(n);
      expect(shards[0]?.from).toBe(0);
      expect(shards.at(-1)?.to).toBe(rows.length);
      for (let k = 1; k < n; k++) {
        expect(shards[k]?.from).toBe(shards[k - 1]?.to);
        expect(starts.has(shards[k]?.from as number)).toBe(true);
      }
      const total = rows.reduce((a, b) => a + b, 0);
      // within one chunk (200 bars) of an equal share
      for (const s of shards) expect(Math.abs(s.bars - total / n)).toBeLessThanOrEqual(200);
    }
  });

  it('more shards than chunks: the extra shards are empty', () => {
    const shards = planShards({ rows: [5, 5, 5] }, 5, 100, 1);
    expect(shards.map((s) => s.to - s.from).reduce((a, b) => a + b, 0)).toBe(3);
    expect(shards.filter((s) => s.to === s.from)).toHaveLength(4);
  });

  it('parses i/n', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(() => parseShard('5/5')).toThrow(/0 <= i < n/);
    expect(() => parseShard('x')).toThrow(/i\/n/);
  });
});
