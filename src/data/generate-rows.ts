// The bars of `atc data generate` (generate.ts), computed in worker threads (generate-worker.ts):
// worker `first` of `step` computes symbols first, first + step, ... in order, in blocks of at most BLOCK rows
// (a block holds one symbol's bars), into a ring of SLOTS shared slots that the main thread
// hands to DuckDB in symbol order, so generating overlaps DuckDB's Parquet writing.
// Slot flags (one Int32 per slot): 0 = free, n > 0 = n rows ready, -1 = the worker failed.
// Each symbol has its own generator seeded from (seed, symbol index): the same symbol gets the
// same bars whatever the number of symbols, workers or blocks.

import { Rng, Walk } from '../../datasets/generators/synthetic.js';

export interface GenerateWorkerData {
  seed: number;
  vol: number;
  symbols: number;
  bars: number;
  first: number;
  step: number;
  /** SLOTS Int32 flags */
  ctl: SharedArrayBuffer;
  /** SLOTS x FIELDS x BLOCK float64: open, high, low, close, volume, one column after the other */
  data: SharedArrayBuffer;
}

export const BLOCK = 16_384;
export const SLOTS = 4;
export const FIELDS = 5;

export function symbolSeed(seed: number, s: number): number {
  return (seed ^ Math.imul(s + 1, 0x9e3779b1)) >>> 0;
}

export function produce(w: GenerateWorkerData): void {
  const ctl = new Int32Array(w.ctl);
  const data = new Float64Array(w.data);
  const bar = new Float64Array(4);
  let slot = 0;
  try {
    for (let s = w.first; s < w.symbols; s += w.step) {
      const rng = new Rng(symbolSeed(w.seed, s));
      const walk = new Walk(rng, { vol: w.vol });
      for (let i = 0; i < w.bars; ) {
        // no lost wake-up: a slot freed between load and wait makes the wait return at once
        for (let f = Atomics.load(ctl, slot); f !== 0; f = Atomics.load(ctl, slot)) Atomics.wait(ctl, slot, f);
        const n = Math.min(BLOCK, w.bars - i);
        const base = slot * FIELDS * BLOCK;
        for (let r = base; r < base + n; r++) {
          walk.nextBar(bar);
          data[r] = bar[0] as number;
          data[r + BLOCK] = bar[1] as number;
          data[r + 2 * BLOCK] = bar[2] as number;
          data[r + 3 * BLOCK] = bar[3] as number;
          data[r + 4 * BLOCK] = Math.round(Math.exp(9 + 0.8 * rng.normal() + 20 * walk.sigma));
        }
        i += n;
        Atomics.store(ctl, slot, n);
        Atomics.notify(ctl, slot);
        slot = (slot + 1) % SLOTS;
      }
    }
  } catch {
    Atomics.store(ctl, slot, -1);
    Atomics.notify(ctl, slot);
  }
}
