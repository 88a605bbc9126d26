// Invariants of the kernel state machine, on seeded random tick-grid walks:
//  * any split of a series into blocks (1-bar blocks included) gives the same bits as one call;
//  * a state serialised mid-series and restored (in the same or the other engine) continues
//    with the same bits;
//  * rust and ts agree bit for bit on random series and random valid parameters.

import { describe, expect, it } from 'vitest';
import { Rng, randomWalks } from '../../datasets/index.js';
import { type AtcParams, resolveParams, ROBUSTNESS } from '../../src/config/params.js';
import { allocOutputs, N_FLOAT_COLUMNS, type Outputs } from '../../src/engine/batch.js';
import { createKernel, type Kernel } from '../../src/engine/kernel.js';
import type { StepEngineName } from '../../src/engine/select.js';
import { readStateInfo } from '../../src/engine/state.js';
import { ENGINES, NATIVE_OK } from '../helpers/engines.js';

function randomParams(rng: Rng): AtcParams {
  const six = (f: () => number): number[] => [f(), f(), f(), f(), f(), f()];
  return resolveParams({
    profile: rng.below(2) === 0 ? 'pine' : 'seed',
    robustness: ROBUSTNESS[rng.below(3)],
    lambda: [0, 0.005, 0.02, 0.1, 0.5][rng.below(5)],
    decay: [0, 0.01, 0.03, 0.25, 2][rng.below(5)],
    cutout: [0, 0, 3, 40][rng.below(4)],
    lengths: rng.below(2) ? (9 + rng.below(40)) : six(() => 9 + rng.below(40)),
    weights: six(() => 0.1 + 3 * rng.unit()),
    longThreshold: 0.05 + 0.3 * rng.unit(),
    shortThreshold: -0.05 - 0.3 * rng.unit(),
  });
}

/** Bitwise comparison of two outputs over [0, n) (NaN == NaN, -0 != +0). */
function sameBits(a: Outputs, b: Outputs, n: number): string | null {
  for (let p = 0; p < N_FLOAT_COLUMNS; p++) {
    for (let j = 0; j < n; j++) {
      const x = a.values[p * a.stride + j] as number;
      const y = b.values[p * b.stride + j] as number;
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) return `plane ${p} row ${j}: ${x} vs ${y}`;
    }
  }
  for (let j = 0; j < n; j++) {
    if (a.direction[j] !== b.direction[j] || a.alerts[j] !== b.alerts[j]) return `direction/alerts row ${j}`;
  }
  return null;
}

function whole(kernel: Kernel, closes: Float64Array, offsets: Uint32Array): { out: Outputs; states: Uint8Array } {
  const out = allocOutputs(closes.length);
  const states = new Uint8Array((offsets.length - 1) * kernel.stateBytes);
  kernel.step({ closes, offsets, out, stateOut: states });
  return { out, states };
}

/** Walk every series in random blocks, all series advancing together, states in place. */
function inBlocks(kernel: Kernel, closes: Float64Array, offsets: Uint32Array, rng: Rng): { out: Outputs; states: Uint8Array } {
  const n = offsets.length - 1;
  const out = allocOutputs(closes.length);
  const states = kernel.freshStates(n);
  const cursor = Array.from(offsets.subarray(0, n));
  while (cursor.some((c, s) => c < (offsets[s + 1] as number))) {
    const blockOffsets = new Uint32Array(n + 1);
    const parts: number[][] = [];
    for (let s = 0; s < n; s++) {
      const left = (offsets[s + 1] as number) - (cursor[s] as number);
      const take = left === 0 ? 0 : Math.min(left, [1, 1, 2, 5, 33, 200][rng.below(6)] as number);
      parts.push([cursor[s] as number, take]);
      blockOffsets[s + 1] = (blockOffsets[s] as number) + take;
    }
    const c = new Float64Array(blockOffsets[n] as number);
    parts.forEach(([from, take], s) => c.set(closes.subarray(from as number, (from as number) + (take as number)), blockOffsets[s] as number));
    const part = allocOutputs(c.length);
    kernel.step({ closes: c, offsets: blockOffsets, out: part, stateIn: states, stateOut: states });
    parts.forEach(([from, take], s) => {
      for (let j = 0; j < (take as number); j++) {
        const src = (blockOffsets[s] as number) + j;
        const dst = (from as number) + j;
        for (let p = 0; p < N_FLOAT_COLUMNS; p++) out.values[p * out.stride + dst] = part.values[p * part.stride + src] as number;
        out.direction[dst] = part.direction[src] as number;
        out.alerts[dst] = part.alerts[src] as number;
      }
      cursor[s] = (cursor[s] as number) + (take as number);
    });
  }
  return { out, states };
}

describe.each(ENGINES)('engine %s', (engine: StepEngineName) => {
  const rounds = engine === 'ts' ? 3 : 10;

  it('gives the same bits for any split of the series into blocks', () => {
    const rng = new Rng(101);
    for (let r = 0; r < rounds; r++) {
      const kernel = createKernel(randomParams(rng), engine);
      const { closes, offsets } = randomWalks(4, 150 + rng.below(300), 1000 + r);
      const a = whole(kernel, closes, offsets);
      const b = inBlocks(kernel, closes, offsets, rng);
      expect(sameBits(a.out, b.out, closes.length)).toBeNull();
      expect(Buffer.compare(Buffer.from(a.states), Buffer.from(b.states))).toBe(0);
    }
  });

  it('restores a serialised state mid-series exactly', () => {
    const rng = new Rng(202);
    for (let r = 0; r < rounds; r++) {
      const kernel = createKernel(randomParams(rng), engine);
      const { closes } = randomWalks(1, 400, 2000 + r);
      const cut = 1 + rng.below(398);
      const full = whole(kernel, closes, Uint32Array.of(0, closes.length));
      const first = whole(kernel, closes.subarray(0, cut), Uint32Array.of(0, cut));
      // serialise: the record's bytes travel as a standalone buffer (as the cache will store them)
      const saved = Uint8Array.from(first.states);
      expect(readStateInfo(saved).bars).toBe(cut);
      const rest = allocOutputs(closes.length - cut);
      kernel.step({ closes: closes.slice(cut), offsets: Uint32Array.of(0, closes.length - cut), out: rest, stateIn: saved });
      const joined = allocOutputs(closes.length);
      for (let p = 0; p < N_FLOAT_COLUMNS; p++) {
        joined.values.set(first.out.values.subarray(p * cut, p * cut + cut), p * closes.length);
        joined.values.set(rest.values.subarray(p * rest.stride, p * rest.stride + rest.stride), p * closes.length + cut);
      }
      joined.direction.set(first.out.direction);
      joined.direction.set(rest.direction, cut);
      joined.alerts.set(first.out.alerts);
      joined.alerts.set(rest.alerts, cut);
      expect(sameBits(full.out, joined, closes.length)).toBeNull();
    }
  });
});

describe.skipIf(!NATIVE_OK)('rust and ts agree bit for bit', () => {
  it('on random series and random valid parameters (outputs and final states)', () => {
    const rng = new Rng(303);
    for (let r = 0; r < 12; r++) {
      const params = randomParams(rng);
      const { closes, offsets } = randomWalks(3, 100 + rng.below(700), 3000 + r);
      const a = whole(createKernel(params, 'rust'), closes, offsets);
      const b = whole(createKernel(params, 'ts'), closes, offsets);
      expect(sameBits(a.out, b.out, closes.length), JSON.stringify(params)).toBeNull();
      expect(Buffer.compare(Buffer.from(a.states), Buffer.from(b.states))).toBe(0);
    }
  });

  it('a state saved by one engine continues in the other', () => {
    const rng = new Rng(404);
    for (let r = 0; r < 6; r++) {
      const params = randomParams(rng);
      const { closes } = randomWalks(1, 500, 4000 + r);
      const cut = 50 + rng.below(400);
      const [from, to] = r % 2 === 0 ? (['rust', 'ts'] as const) : (['ts', 'rust'] as const);
      const full = whole(createKernel(params, to), closes, Uint32Array.of(0, closes.length));
      const first = whole(createKernel(params, from), closes.subarray(0, cut), Uint32Array.of(0, cut));
      const rest = allocOutputs(closes.length - cut);
      createKernel(params, to).step({ closes: closes.slice(cut), offsets: Uint32Array.of(0, closes.length - cut), out: rest, stateIn: first.states });
      for (let p = 0; p < N_FLOAT_COLUMNS; p++) {
        for (let j = 0; j < rest.stride; j++) {
          const x = rest.values[p * rest.stride + j] as number;
          const y = full.out.values[p * full.out.stride + cut + j] as number;
          expect(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))).toBe(true);
        }
      }
    }
  });

  it('every SIMD path of this CPU gives the same bits', async () => {
    const { loadNative } = await import('../../src/engine/native.js');
    const n = loadNative();
    if (!n.ok) return;
    const rng = new Rng(505);
    const params = randomParams(rng);
    const { closes, offsets } = randomWalks(9, 600, 5000);
    const ref = whole(createKernel(params, 'rust', { simdPath: 'scalar' }), closes, offsets);
    expect(n.paths.length).toBeGreaterThanOrEqual(2);
    for (const path of n.paths) {
      const o = whole(createKernel(params, 'rust', { simdPath: path }), closes, offsets);
      expect(sameBits(ref.out, o.out, closes.length), path).toBeNull();
    }
  });
});
