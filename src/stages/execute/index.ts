// Execute stage: one batch (in a pool slot) through a kernel worker, under one group of
// parameter sets. A symbol cut into blocks continues from the states and accounts its
// previous block left: that block's task must finish first, so a block waits for exactly that
// and nothing else.

import { ACCT_SIZE } from '../../backtest/accounting.js';
import type { JobSet } from '../../engine/job.js';
import { AtcError, SeriesError } from '../../errors.js';
import type { KernelPool } from '../../pool/pool.js';
import type { KernelResult, TaskWants } from '../../pool/task.js';
import type { Batch } from '../load/index.js';

interface Carried {
  states: Uint8Array;
  accounts: Float64Array;
}

export class Dispatcher {
  /** state after the previous block of a symbol cut into blocks */
  private readonly carry = new Map<string, Promise<Carried>>();

  constructor(
    private readonly pool: KernelPool,
    private readonly group: number,
    private readonly sets: JobSet[],
    /** bytes of one series' state records (all sets of the group) */
    private readonly recordBytes: number,
    private readonly wants: TaskWants,
    /** return every series' final states (to store them in the cache) */
    private readonly keepStates = false,
  ) {}

  /** Continue `symbol` from states and accounts computed earlier (the cache's). */
  seed(symbol: string, states: Uint8Array, accounts: Float64Array): void {
    this.carry.set(symbol, Promise.resolve({ states, accounts }));
  }

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
    const rb = this.recordBytes;
    const ab = this.sets.length * ACCT_SIZE;
    const task = (async () => {
      let stateIn: Uint8Array | undefined;
      let accountsIn: Float64Array | undefined;
      for (const [i, c] of (await Promise.all(carriedIn)).entries()) {
        if (!c) continue;
        stateIn ??= new Uint8Array(series.length * rb);
        accountsIn ??= new Float64Array(series.length * ab);
        stateIn.set(c.states, i * rb);
        accountsIn.set(c.accounts, i * ab);
      }
      return this.pool.run({
        slot: slot.index,
        group: this.group,
        sets: this.sets,
        nSeries: series.length,
        symbols: series.map((s) => s.symbol),
        ...(stateIn ? { stateIn } : {}),
        ...(accountsIn ? { accountsIn } : {}),
        wantStates: blocked || this.keepStates,
        wants: this.wants,
      });
    })().catch((e: unknown) => {
      // the worker threw, exited or ran out of memory: nothing of this chunk is committed
      if (e instanceof AtcError && e.code === 'ATC_ERR_WORKER') throw e; // an earlier block's
      const first = series[0]?.symbol;
      const last = series[series.length - 1]?.symbol;
      const chunk = `chunk #${batch.seq} (${series.length} series, ${first === last ? first : `${first} .. ${last}`}${series[0]?.barStart ? ` from bar ${series[0].barStart}` : ''}, parameter-set group ${this.group})`;
      throw new AtcError('ATC_ERR_WORKER', `a kernel worker failed on ${chunk}: ${e instanceof Error ? e.message : String(e)}; committed chunks are kept: run the same command again to resume`, { cause: e });
    });
    for (const [i, s] of series.entries()) {
      this.carry.delete(s.symbol);
      if (!s.last) {
        const carried = task.then((r) => ({ states: (r.states as Uint8Array).slice(i * rb, (i + 1) * rb), accounts: r.accounts.slice(i * ab, (i + 1) * ab) }));
        // handled by the next block, if the pass gets that far (it stops after a failure)
        carried.catch(() => undefined);
        this.carry.set(s.symbol, carried);
      }
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
