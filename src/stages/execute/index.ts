// Execute stage: one batch through the kernel. Series that continue a long symbol get the
// state carried from its previous block; series that do not end their symbol hand their state
// on. Everything else starts from bar 0 with no state traffic at all.

import { allocOutputs, type Outputs } from '../../engine/batch.js';
import type { Kernel } from '../../engine/kernel.js';
import type { Batch } from '../load/index.js';

export class Executor {
  /** kernel state of symbols cut into blocks, between their blocks */
  private readonly carry = new Map<string, Uint8Array>();

  constructor(readonly kernel: Kernel) {}

  run(batch: Batch, out: Outputs = allocOutputs(batch.n)): Outputs {
    const { series } = batch;
    const offsets = new Uint32Array(series.length + 1);
    series.forEach((s, i) => (offsets[i + 1] = s.start + s.length));
    offsets[0] = series[0]?.start ?? 0;
    const needsState = series.some((s) => s.barStart > 0 || !s.last);
    if (!needsState) {
      this.kernel.step({ closes: batch.closes, offsets, out }, series.map((s) => s.symbol));
      return out;
    }
    const sb = this.kernel.stateBytes;
    const states = this.kernel.freshStates(series.length);
    series.forEach((s, i) => {
      if (s.barStart > 0) {
        const st = this.carry.get(s.symbol);
        if (!st) throw new Error(`internal: no carried state for ${s.symbol}`);
        states.set(st, i * sb);
      }
    });
    this.kernel.step({ closes: batch.closes, offsets, out, stateIn: states, stateOut: states }, series.map((s) => s.symbol));
    series.forEach((s, i) => {
      if (s.last) this.carry.delete(s.symbol);
      else this.carry.set(s.symbol, states.slice(i * sb, (i + 1) * sb));
    });
    return out;
  }
}
