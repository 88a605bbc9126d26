// The synthetic markets' cos (datasets/generators/cos.ts) must be fdlibm's, bit for bit, whatever
// Math.cos the running V8 has. test/fixtures/fdlibm-cos.bin holds (x, cos x) pairs as little-endian
// float64, cos from Math.cos of Node 20.20 (V8 11.3, fdlibm): 2,000 uniform arguments in [0, 2 pi),
// 500 in the medium range (|x| < 2^19 pi/2), x within 6 ulps of k pi/2 (k = 1..40, both signs:
// the reductions that cancel), the double nearest k pi/2 for 500 random k and for 16 k where the
// third reduction round changes the result, and the kernels' thresholds (4,152 in all). 91 of them
// differ from glibc 2.36's cos.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cos } from '../../datasets/generators/cos.js';
import { Rng } from '../../datasets/index.js';

const raw = readFileSync(fileURLToPath(new URL('../fixtures/fdlibm-cos.bin', import.meta.url)));
const pairs = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));

describe('fdlibm cos', () => {
  it('gives the recorded fdlibm value for each recorded argument', () => {
    expect(pairs.length).toBe(2 * 4152);
    let wrong = 0;
    for (let i = 0; i < pairs.length; i += 2) if (!Object.is(cos(pairs[i] as number), pairs[i + 1])) wrong++;
    expect(wrong).toBe(0);
  });

  it('equals Math.cos on a million arguments where Math.cos is fdlibm', (ctx) => {
    let agree = true;
    for (let i = 0; i < pairs.length; i += 2) if (!Object.is(Math.cos(pairs[i] as number), pairs[i + 1])) agree = false;
    if (!agree) ctx.skip('this V8 computes Math.cos otherwise (glibc); the recorded values above still apply');
    const rng = new Rng(11);
    let wrong = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const x = i % 4 === 3 ? (rng.unit() - 0.5) * 1_647_000 * Math.PI : 2 * Math.PI * rng.unit();
      if (!Object.is(cos(x), Math.cos(x))) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('is NaN for NaN and the infinities', () => {
    for (const x of [NaN, Infinity, -Infinity]) expect(cos(x)).toBeNaN();
  });
});
