// One pass over the data for one group of parameter sets: bars are read (data/bars-reader),
// grouped into batches in pool slots (stages/load), computed by the kernel workers
// (stages/execute), and each finished batch is handed to `consume` (the persister, or a
// stream of Arrow batches), one at a time, in the order their kernels finish or (`ordered`)
// in the order of the source; a slot is released when its batch has been consumed.
//
// An abort (`signal`) stops taking new batches: batches in flight finish and are consumed
// (committed), then the pass throws AbortError. A failure does the same and throws it.

import { type SourceIndex, readBars } from '../data/bars-reader.js';
import type { Db } from '../data/duckdb.js';
import type { BarSource } from '../data/source.js';
import { AbortError } from '../errors.js';
import type { KernelPool } from '../pool/pool.js';
import type { KernelResult } from '../pool/task.js';
import type { Dispatcher } from '../stages/execute/index.js';
import { type Batch, type BadRowPolicy, loadBatches } from '../stages/load/index.js';
import type { StrategyInput } from '../strategies/types.js';

export interface PassInput {
  db: Db;
  pool: KernelPool;
  src: BarSource;
  index: SourceIndex;
  /** the source as the user named it (in errors) */
  file: string;
  policy: BadRowPolicy;
  minBars: number;
  /** per symbol code: 1 = finished already (skipped) */
  done: Uint8Array;
  /** symbols continued from the cache: bars it holds, the last ts it reaches */
  continueFrom: ReadonlyMap<number, { bars: number; lastTs: number }>;
  dispatcher: Dispatcher;
  /** one finished batch (called one at a time) */
  consume: (batch: Batch, r: KernelResult) => Promise<void>;
  /** the strategy's input columns besides close */
  inputs?: readonly StrategyInput[] | undefined;
  /** series a batch holds at most (stages/load maxSeriesPerChunk) */
  maxSeries?: number | undefined;
  /** consume batches in source order (symbol order) rather than as their kernels finish */
  ordered?: boolean;
  signal?: AbortSignal | undefined;
  /** adds the main thread's seconds spent reading and batching bars (not waiting for a free slot) */
  onRead?: ((seconds: number) => void) | undefined;
}

const EMPTY: KernelResult = { last: new Float64Array(0), alerts: new Uint32Array(0), accounts: new Float64Array(0), kernelSeconds: 0 };

/** Runs the pass; returns the kernel seconds spent in the workers. */
export async function runPass(p: PassInput): Promise<number> {
  const { index, continueFrom } = p;
  let kernelSeconds = 0;
  // Consumes run one at a time: chained as kernels finish, or (ordered) as batches are made.
  let chain: Promise<void> = Promise.resolve();
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let after: Float64Array | undefined;
  // symbols that continue are read after their cached bars: ranges are sized by what is read
  let read = index;
  if (continueFrom.size > 0) {
    after = new Float64Array(index.symbols.length).fill(NaN);
    const rows = index.rows.slice();
    for (const [code, c] of continueFrom) {
      after[code] = c.lastTs;
      rows[code] = Math.max(0, (rows[code] as number) - c.bars);
    }
    read = { ...index, rows, totalRows: rows.reduce((a, b) => a + b, 0) + index.nullSymbolRows };
  }
  let slotWait = 0;
  const batches = loadBatches(readBars(p.db, p.src, read, { done: p.done, columns: (p.inputs ?? []).map((c) => c.name), ...(after ? { after } : {}) }), {
    symbols: index.symbols,
    minBars: p.minBars,
    file: p.file,
    policy: p.policy,
    acquire: async () => {
      const t0 = performance.now();
      const slot = await p.pool.acquire();
      slotWait += performance.now() - t0;
      return slot;
    },
    release: (slot) => p.pool.release(slot),
    done: p.done,
    continueFrom,
    expectedRows: index.rows,
    inputs: p.inputs,
    ...(p.maxSeries ? { maxSeries: p.maxSeries } : {}),
  });
  // read time: awaiting the next batch, less the time the loader waited for a free slot
  const timed = async function* (): AsyncGenerator<Batch> {
    try {
      for (;;) {
        const t0 = performance.now();
        const w0 = slotWait;
        const next = await batches.next();
        p.onRead?.((performance.now() - t0 - (slotWait - w0)) / 1000);
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await batches.return(undefined); // a loop left early closes the loader (it gives back its slot)
    }
  };
  try {
    for await (const batch of timed()) {
      if (failure || p.signal?.aborted) {
        p.pool.release(batch.slot);
        break;
      }
      for (const sym of batch.aborted) p.dispatcher.forget(sym);
      // started now, in source order: a block of a long symbol waits for the previous one
      let kernel: Promise<KernelResult>;
      try {
        kernel = batch.series.length > 0 ? p.dispatcher.run(batch) : Promise.resolve(EMPTY);
      } catch (e) {
        kernel = Promise.reject(e);
      }
      let ordered: Promise<void> | undefined;
      if (p.ordered) {
        ordered = chain.then(() => kernel).then((r) => p.consume(batch, r));
        chain = ordered.catch(() => undefined);
      }
      const job = (async () => {
        try {
          const r = await kernel;
          kernelSeconds += r.kernelSeconds;
          if (ordered) await ordered;
          else {
            const c = chain.then(() => p.consume(batch, r));
            chain = c.catch(() => undefined);
            await c;
          }
        } catch (e) {
          failure ??= e;
        } finally {
          p.pool.release(batch.slot);
        }
      })();
      inflight.add(job);
      void job.finally(() => inflight.delete(job));
    }
  } catch (e) {
    failure ??= e;
  }
  // Whatever happened, let the chunks in flight finish (and be consumed) before anything closes.
  await Promise.allSettled(inflight);
  await chain;
  if (failure) throw failure;
  if (p.signal?.aborted) throw new AbortError(p.signal.reason);
  return kernelSeconds;
}
