// streamSignals(): the per-bar outputs as Apache Arrow RecordBatches while the run goes, without
// writing anything. Batches come in symbol order (source order), one per kernel chunk: whole
// symbols, or whole time blocks of a symbol longer than a chunk. Concatenated, they equal the
// `signals` Parquet of the same run value for value (NULL where Pine's na), for the ATC and
// every other strategy (its signals columns).
//
// The float and direction columns are views of the worker's output buffers (makeData over the
// shared typed arrays: no copy); only the validity bitmaps and the timestamps (µs doubles in the
// slot, 64-bit integers in Arrow) are made. So a batch is valid until the consumer asks for the
// next one, when its buffers go back to the pool: keep what you need, or pass `retain: true`.

import {
  Dictionary,
  Field,
  Float64,
  Int8,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { sampleDataset } from '../../datasets/index.js';
import type { ParamSet } from '../config/grid.js';
import { type JobOptions, resolveJob } from '../config/options.js';
import { minimumBars } from '../config/params.js';
import { indexSource } from '../data/bars-reader.js';
import { openDb } from '../data/duckdb.js';
import { openBarSource } from '../data/source.js';
import { createPlan } from '../engine/plan.js';
import { checkStrategyEngine, selectEngine } from '../engine/select.js';
import { runPass } from '../pipeline/pass.js';
import { KernelPool } from '../pool/pool.js';
import { EQUITY_COLUMNS } from '../results/schema.js';
import { loadStrategyOption } from '../strategies/registry.js';
import { ATC_TABLES, type StrategyTables, tablesOf } from '../strategies/tables.js';
import { Dispatcher } from '../stages/execute/index.js';
import type { Batch } from '../stages/load/index.js';

/** Options of streamSignals(): a job's options (no output directory: nothing is written). */
export interface StreamOptions extends JobOptions {
  /** add position, strategy_return, equity columns */
  equity?: boolean;
  /** copy every batch (safe to keep) instead of viewing the worker buffers until the next one */
  retain?: boolean;
  signal?: AbortSignal;
  logger?: (message: string) => void;
}

/** NULL where `valid(i)` is false; undefined when every value is valid. */
function bitmap(n: number, valid: (i: number) => boolean): { nullBitmap: Uint8Array; nullCount: number } | undefined {
  let bits: Uint8Array | undefined;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (valid(i)) continue;
    if (!bits) bits = new Uint8Array(Math.ceil(n / 8)).fill(0xff);
    bits[i >> 3] = (bits[i >> 3] as number) & ~(1 << (i & 7));
    nulls++;
  }
  return bits ? { nullBitmap: bits, nullCount: nulls } : undefined;
}

/** The Arrow schema of the stream (the strategy's signals columns, symbol and param_id dictionary-encoded). */
export function signalsSchema(equity: boolean, tables: StrategyTables = ATC_TABLES): Schema {
  const dict = (): Dictionary<Utf8, Int32> => new Dictionary(new Utf8(), new Int32());
  const fields = tables.signals.columns.map((c) => {
    if (c.name === 'symbol' || c.name === 'param_id') return new Field(c.name, dict(), false);
    if (c.name === 'ts') return new Field(c.name, new TimestampMicrosecond(), false);
    if (c.name === 'direction') return new Field(c.name, new Int8(), c.nullable);
    return new Field(c.name, new Float64(), c.nullable);
  });
  if (equity) for (const c of EQUITY_COLUMNS) fields.push(new Field(c.name, new Float64(), false));
  return new Schema(fields);
}

function toRecordBatch(schema: Schema, tables: StrategyTables, batch: Batch, paramId: string, equity: boolean, capital: number, retain: boolean): RecordBatch {
  const { slot, n } = batch;
  const view = (a: Float64Array, from: number): Float64Array => (retain ? a.slice(from, from + n) : a.subarray(from, from + n));
  const symbols: string[] = [];
  const codes = new Int32Array(n);
  for (const s of batch.series) {
    if (symbols[symbols.length - 1] !== s.symbol) symbols.push(s.symbol);
    codes.fill(symbols.length - 1, s.start, s.start + s.length);
  }
  const dictType = (i: number) => schema.fields[i]?.type as Dictionary<Utf8, Int32>;
  const ts = new BigInt64Array(n);
  for (let j = 0; j < n; j++) ts[j] = BigInt(slot.ts[j] as number);
  const children: Data[] = [];
  schema.fields.forEach((f, i) => {
    if (f.name === 'symbol') children.push(makeData({ type: dictType(i), length: n, data: codes, dictionary: vectorFromArray(symbols, new Utf8()) }));
    else if (f.name === 'param_id') children.push(makeData({ type: dictType(i), length: n, data: new Int32Array(n), dictionary: vectorFromArray([paramId], new Utf8()) }));
    else if (f.name === 'ts') children.push(makeData({ type: new TimestampMicrosecond(), length: n, data: ts }));
    else if (f.name === 'close') children.push(makeData({ type: new Float64(), length: n, data: view(slot.closes, 0) }));
    else if (f.name === 'direction') {
      const d = retain ? slot.out.direction.slice(0, n) : slot.out.direction.subarray(0, n);
      children.push(makeData({ type: new Int8(), length: n, data: d, ...((tables.zeroIsNull && bitmap(n, (k) => d[k] !== 0)) || {}) }));
    } else {
      const c = tables.planes.indexOf(f.name);
      if (c >= 0) {
        const v = view(slot.out.values, c * slot.out.stride);
        children.push(makeData({ type: new Float64(), length: n, data: v, ...(bitmap(n, (k) => v[k] === v[k]) ?? {}) }));
      } else if (equity) {
        const e = EQUITY_COLUMNS.findIndex((x) => x.name === f.name);
        let v = view(slot.extra, e * slot.capacity);
        if (f.name === 'equity' && capital !== 1) v = v.map((x) => x * capital);
        children.push(makeData({ type: new Float64(), length: n, data: v }));
      }
    }
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children }));
}

/** A one-item hand-over: the producer waits until the consumer has taken the item and come back. */
class Handover<T> {
  private item: { value: T; release: () => void } | undefined;
  private waiter: (() => void) | undefined;
  private ended = false;
  private error: unknown;

  put(value: T): Promise<void> {
    return new Promise((release) => {
      this.item = { value, release };
      this.wake();
    });
  }

  end(error?: unknown): void {
    this.ended = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next item, or undefined at the end (throws the producer's error). */
  async take(): Promise<{ value: T; release: () => void } | undefined> {
    while (!this.item && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    const it = this.item;
    this.item = undefined;
    if (it) return it;
    if (this.error !== undefined) throw this.error;
    return undefined;
  }
}

/**
 * Run the job and yield its per-bar outputs as Arrow RecordBatches, set by set, in symbol order.
 * Breaking out of the loop stops the run. Invalid options reject with the CLI's coded errors.
 */
export async function* streamSignals(options: StreamOptions = {}): AsyncGenerator<RecordBatch> {
  const { signal, logger, retain = false, equity = false, ...rest } = options;
  const job = resolveJob(await loadStrategyOption({ ...rest, cache: false, outputs: ['signals'], equity }), 'options');
  const strategy = job.strategy;
  const tables = tablesOf(strategy);
  const inputs = (strategy?.inputs ?? []).filter((c) => c.name !== 'close');
  const data = job.data ?? sampleDataset();
  const log = logger ?? ((m: string) => process.emitWarning(m, 'AtcWarning'));
  const engine = checkStrategyEngine(selectEngine(job.engine, log), strategy?.name);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) onAbort();
  const db = await openDb({ threads: 2, memoryLimit: '512MB' });
  let pool: KernelPool | undefined;
  const hand = new Handover<RecordBatch>();
  let running: Promise<void> | undefined;
  try {
    const src = await openBarSource(db.conn, data, inputs.map((c) => c.name));
    const index = await indexSource(db.conn, src);
    const schema = signalsSchema(equity, tables);
    const p = (pool = new KernelPool(
      { engine: engine.engine, simdPath: engine.simdPath, strategy: job.strategySpec },
      { workers: job.workers, slots: job.workers + 2, capacity: job.chunkBars, extra: equity, inputs: inputs.map((c) => c.name) },
    ));
    const values = (set: ParamSet) => set.strategy?.values ?? {};
    const minBars = job.sets.reduce((m, s) => Math.max(m, strategy ? strategy.minimumBars(values(s)) : minimumBars(s.params)), 0);
    const passes = async (): Promise<void> => {
      for (const [g, set] of job.sets.entries()) {
        const stateBytes = strategy ? strategy.kernel(values(set), 'ts').stateBytes : createPlan(set.params).stateBytes;
        const jobSet = { params: set.params, trade: set.trade, ...(set.strategy ? { values: set.strategy.values } : {}) };
        const dispatcher = new Dispatcher(p, g, [jobSet], stateBytes, { trades: false, portfolio: false, planes: true, extra: equity });
        await runPass({
          db,
          pool: p,
          src,
          index,
          file: data,
          policy: job.badRows,
          minBars,
          done: new Uint8Array(index.symbols.length),
          continueFrom: new Map(),
          dispatcher,
          inputs,
          ordered: true,
          consume: (batch) => (batch.n > 0 ? hand.put(toRecordBatch(schema, tables, batch, (set as ParamSet).id, equity, job.capital, retain)) : Promise.resolve()),
          signal: stop.signal,
        });
      }
    };
    running = passes().then(
      () => hand.end(),
      (e) => hand.end(e),
    );
    for (;;) {
      const it = await hand.take();
      if (!it) break;
      try {
        yield it.value;
      } finally {
        it.release();
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (running) {
      // stopped early (break or an error): let the pass wind down
      stop.abort();
      for (let it = await hand.take().catch(() => undefined); it; it = await hand.take().catch(() => undefined)) it.release();
      await running;
    }
    await pool?.close();
    db.close();
  }
}
