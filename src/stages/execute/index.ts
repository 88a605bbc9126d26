// Execute stage: one batch (in a pool slot) through a kernel worker. A symbol cut into blocks
// continues from the state its previous block left: that block's task must finish first, so a
// block waits for exactly that and nothing else.

import { SeriesError } from '../../errors.js';
import type { KernelPool } from '../../pool/pool.js';
import type { KernelResult } from '../../pool/task.js';
import type { Batch } from '../load/index.js';

export class Dispatcher {
  /** state after the previous block of a symbol cut into blocks */
  private readonly carry = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly pool: KernelPool,
    private readonly stateBytes: number,
  ) {}

  /**
   * Start a batch. Everything about carried states happens synchronously here, before any
   * await: the next block of a symbol must find this block's promise, not an older one.
   */
  run(batch: Batch): Promise<KernelResult> {
    const { series, slot } = batch;
    slot.offsets[0] = series[0]?.start ?? 0;
    series.forEach((s, i) => (slot.offsets[i + 1] = s.start + s.length));
    const blocked = series.some((s) => s.barStart > 0 || !s.last);
    const carriedIn = series.map((s) => (s.barStart > 0 ? this.carry.get(s.symbol) : undefined));
    series.forEach((s, i) => {
      if (s.barStart > 0 && !carriedIn[i]) throw new Error(`internal: no state carried for ${s.symbol}`);
    });
    const sb = this.stateBytes;
    const task = (async () => {
      let stateIn: Uint8Array | undefined;
      for (const [i, p] of carriedIn.entries()) {
        if (!p) continue;
        stateIn ??= new Uint8Array(series.length * sb);
        stateIn.set(await p, i * sb);
      }
      return this.pool.run({
        slot: slot.index,
        nSeries: series.length,
        symbols: series.map((s) => s.symbol),
        ...(stateIn ? { stateIn } : {}),
        wantStates: blocked,
      });
    })();
    for (const [i, s] of series.entries()) {
      this.carry.delete(s.symbol);
      if (!s.last) this.carry.set(s.symbol, task.then((r) => (r.states as Uint8Array).slice(i * sb, (i + 1) * sb)));
    }
    return task.then((r) => {
      if (r.error) {
        const s = series[r.error.series];
        throw new SeriesError(r.error.code as 'ATC_ERR_BAD_CLOSE', r.error.message, { series: r.error.series, bar: r.error.bar, ...(s ? { symbol: s.symbol } : {}) });
      }
      return r;
    });
  }

  /** A symbol whose earlier blocks were discarded. */
  forget(symbol: string): void {
    this.carry.delete(symbol);
  }
}
