// The `atc run` job: Parquet bars -> load (validated batches in shared slots) -> execute
// (kernel workers, one group of parameter sets per task) -> persist (Parquet parts, committed
// atomically) -> finalize (the run's tables).
//
// Parameter sets are processed in groups of up to GROUP_SIZE, one pass over the data per
// group: inside a group the kernel computes the moving averages and crossovers once for every
// set that shares them; across groups memory stays bounded however large the grid. A run with
// signals output uses groups of one (its per-bar outputs go through the slot).
//
// Memory is bounded by the slots (workers + 2 chunks of `chunkBars` bars), the per-task
// results (chunk series x group sets) and DuckDB's memory limit, whatever the number of
// symbols, bars or sets. Commits are atomic (results/run-dir.ts), so a killed run resumes
// where it stopped with identical results.

import { join } from 'node:path';
import { type ParamSet } from '../config/grid.js';
import { minimumBars } from '../config/params.js';
import { indexSource, readBars } from '../data/bars-reader.js';
import { openDb } from '../data/duckdb.js';
import { openBarSource, tableSource } from '../data/source.js';
import type { JobSet } from '../engine/job.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { createPlan } from '../engine/plan.js';
import { type EngineChoice, type EngineRequest, selectEngine } from '../engine/select.js';
import { UsageError } from '../errors.js';
import { KernelPool } from '../pool/pool.js';
import type { TaskWants } from '../pool/task.js';
import { fileFingerprint, RunDir, runKey } from '../results/run-dir.js';
import { Dispatcher } from '../stages/execute/index.js';
import { type BadRowPolicy, loadBatches } from '../stages/load/index.js';
import { ResultsPersister } from '../stages/persist/results.js';
import { SignalsWriter } from '../stages/persist/signals.js';
import { packageInfo } from '../util/package-root.js';
import { finalizeRun } from './finalize.js';
import { type Fingerprints, fingerprintSource } from '../cache/fingerprint.js';
import { CacheWriter, type GroupPlan, planGroup, recordPlanUse } from '../cache/plan.js';
import { CacheStore, keyTables } from '../cache/store.js';
import { Progress, type ProgressMode } from './progress.js';

export const OUTPUTS = ['summary', 'signals', 'stats', 'trades', 'portfolio'] as const;
export type OutputKind = (typeof OUTPUTS)[number];
export const DEFAULT_OUTPUTS: readonly OutputKind[] = ['summary', 'stats'];

/** Parameter sets per pass over the data (per kernel task). */
export const GROUP_SIZE = 64;

export interface RunJobOptions {
  data: string;
  out: string;
  /** one or more parameter sets of one profile (config/grid.ts) */
  sets: ParamSet[];
  engine: EngineRequest;
  outputs: readonly OutputKind[];
  workers: number;
  /** bars per chunk (one kernel task, one committed part) */
  chunkBars: number;
  badRows: BadRowPolicy;
  /** |last Average_Signal| below this is trend NEUTRAL */
  minSignal: number;
  /** starting capital: scales the equity columns (returns and statistics are fractions) */
  capital: number;
  /** add position, strategy_return and equity columns to signals */
  equity: boolean;
  /** with a portfolio output, commit at most every this many seconds (a kill loses at most that) */
  checkpointSecs: number;
  overwrite: boolean;
  progress: ProgressMode;
  simdPath?: string | undefined;
  /** sets per pass (default GROUP_SIZE; 1 with signals) */
  groupSize?: number | undefined;
  /** the result cache directory (undefined: no cache) */
  cache?: string | undefined;
  log: (msg: string) => void;
  write: (s: string) => void;
}

export interface RunJobResult {
  out: string;
  engine: EngineChoice;
  sets: number;
  /** passes over the data (groups of parameter sets) */
  passes: number;
  symbols: number;
  symbolsSkipped: number;
  bars: number;
  rejects: number;
  resumedSymbols: number;
  commits: number;
  seconds: number;
  kernelSeconds: number;
  outputs: readonly OutputKind[];
  alreadyComplete: boolean;
  cache?: CacheReport;
}

/** What the cache did, in (symbol, parameter set) entries. */
export interface CacheReport {
  dir: string;
  /** results taken from the cache */
  hits: number;
  /** continued from a cached state over new bars only */
  incremental: number;
  /** computed from the first bar */
  computed: number;
  /** entries written */
  stored: number;
  /** corrupt segments found and dropped */
  dropped: number;
  /** the per-symbol fingerprints came from the memo (the data was not read to make them) */
  memo: boolean;
  /** source files read to fingerprint them (the others' fingerprints came from the memo) */
  filesScanned: number;
  /** why results were not taken from the cache, if they were not */
  note?: string;
  /** seconds spent fingerprinting the source and looking entries up */
  fingerprintSeconds: number;
  lookupSeconds: number;
}

export async function runJob(o: RunJobOptions): Promise<RunJobResult> {
  const t0 = performance.now();
  if (o.sets.length === 0) throw new UsageError('no parameter sets to run');
  const profiles = new Set(o.sets.map((s) => s.params.profile));
  if (profiles.size > 1) throw new UsageError('every parameter set of a run must use the same profile');
  if (o.equity && !o.outputs.includes('signals')) throw new UsageError('--equity adds columns to signals: add signals to --outputs');
  // The symbol count is not known yet, so `auto` keeps the CPU engines here (select.ts): the
  // pool runs one job per worker thread, not the one-runner-per-GPU shape CUDA wants.
  const engine = selectEngine(o.engine, o.log, { sets: o.sets.length });
  const db = await openDb({ threads: 2, memoryLimit: '512MB', tempDirectory: join(o.out, '.duckdb-tmp') });
  let pool: KernelPool | undefined;
  let closeCache: (() => void) | undefined;
  try {
    const src = await openBarSource(db.conn, o.data);
    const keyParts = {
      data: fileFingerprint(src.files),
      sets: o.sets.map((s) => s.id),
      outputs: [...o.outputs].sort(),
      badRows: o.badRows,
      minSignal: o.minSignal,
      capital: o.capital,
      equity: o.equity,
      kernel: KERNEL_VERSION,
    };
    const rd = RunDir.open(o.out, runKey(keyParts), keyParts, o.overwrite);
    const groupSize = o.outputs.includes('signals') ? 1 : Math.max(1, o.groupSize ?? GROUP_SIZE);
    const groups: ParamSet[][] = [];
    for (let i = 0; i < o.sets.length; i += groupSize) groups.push(o.sets.slice(i, i + groupSize));
    const result: RunJobResult = {
      out: o.out,
      engine,
      sets: o.sets.length,
      passes: groups.length,
      symbols: 0,
      symbolsSkipped: 0,
      bars: 0,
      rejects: 0,
      resumedSymbols: 0,
      commits: 0,
      seconds: 0,
      kernelSeconds: 0,
      outputs: o.outputs,
      alreadyComplete: rd.isComplete(),
    };
    if (result.alreadyComplete) {
      const j = rd.readRunJson() as unknown as { counts: Partial<RunJobResult> };
      Object.assign(result, j.counts, { alreadyComplete: true, engine, seconds: (performance.now() - t0) / 1000 });
      return result;
    }
    const cache = o.cache ? CacheStore.open(o.cache, 'shared', o.log) : undefined;
    closeCache = () => cache?.close();
    const tf = performance.now();
    const prints: Fingerprints | undefined = cache ? await fingerprintSource(db.conn, src, cache.sources) : undefined;
    const fingerprintSeconds = (performance.now() - tf) / 1000;
    const index = prints ?? (await indexSource(db.conn, src));
    // Per-bar outputs (signals, the portfolio's per-bar sums) are not cached: such runs compute
    // every symbol, and store entries for later runs.
    const serve = !o.outputs.includes('signals') && !o.outputs.includes('portfolio');
    if (cache) {
      result.cache = { dir: cache.dir, hits: 0, incremental: 0, computed: 0, stored: 0, dropped: 0, memo: prints?.memo ?? false, filesScanned: prints?.scanned ?? 0, fingerprintSeconds, lookupSeconds: 0 };
      if (!serve) result.cache.note = 'signals and portfolio outputs are computed in full (the cache holds per-symbol results only)';
    }
    const symbols = index.symbols;
    const minBars = Math.max(...o.sets.map((s) => minimumBars(s.params)));
    const progress = new Progress(
      o.progress,
      { symbols: symbols.length * groups.length, bars: index.totalRows * groups.length },
      o.write,
      { symbols: rd.committedSymbols(), bars: rd.committedBars() },
    );
    // started when some symbol needs computing (a run answered by the cache needs no workers)
    const getPool = (): KernelPool =>
      (pool ??= new KernelPool({ engine: engine.engine, simdPath: o.simdPath }, { workers: o.workers, slots: o.workers + 2, capacity: o.chunkBars, extra: o.equity }));
    const signals = o.outputs.includes('signals') ? new SignalsWriter(await db.connect(), o.equity) : undefined;
    const wconn = await db.connect();
    const wants: TaskWants = { trades: o.outputs.includes('trades'), portfolio: o.outputs.includes('portfolio'), planes: signals !== undefined, extra: o.equity };
    const keys = cache && prints ? keyTables(prints.table, o.sets) : undefined;
    const writer = cache && keys ? new CacheWriter(cache, wconn, keys) : undefined;

    const cachedRows = { summary: [] as string[], stats: [] as string[] };
    const plans: GroupPlan[] = [];
    for (const [g, sets] of groups.entries()) {
      const doneSet = rd.doneSymbols(g);
      result.resumedSymbols += doneSet.size;
      if (doneSet.size === symbols.length) continue;
      const done = Uint8Array.from(symbols, (s) => (doneSet.has(s) ? 1 : 0));
      const jobSets: JobSet[] = sets.map((s) => ({ params: s.params, trade: s.trade }));
      const stateBytes = sets.map((s) => createPlan(s.params).stateBytes);
      const recordBytes = stateBytes.reduce((a, b) => a + b, 0);
      let plan: GroupPlan | undefined;
      const tl = performance.now();
      if (cache && prints && keys && serve) plan = await planGroup(wconn, cache, src, prints, keys, g * groupSize, sets, stateBytes, done, wants.trades);
      if (result.cache) result.cache.lookupSeconds += (performance.now() - tl) / 1000;
      const persister = new ResultsPersister({
        rd,
        conn: wconn,
        group: g,
        sets,
        signals,
        trades: o.outputs.includes('trades'),
        portfolio: wants.portfolio,
        rejects: g === 0,
        minSignal: o.minSignal,
        capital: o.capital,
        checkpointMs: o.checkpointSecs * 1000,
        onCommit: (n, bars) => {
          result.commits++;
          progress.add(n, bars);
        },
        cache: writer ? { writer, k0: g * groupSize, stateBytes } : undefined,
      });
      const continueFrom = new Map<number, { bars: number; lastTs: number }>();
      if (plan && result.cache) {
        if (plan.hitEntries) {
          let bars = 0;
          for (const code of plan.hits) bars += index.rows[code] as number;
          const committed = await persister.persistCached(plan.hitEntries, plan.hits.map((code) => symbols[code] as string), bars);
          if (!committed) progress.add(plan.hits.length, bars);
        }
        for (const code of plan.hits) done[code] = 1;
        for (const [code, t] of plan.tails) {
          persister.seed(symbols[code] as string, t);
          continueFrom.set(code, { bars: t.bars, lastTs: t.lastTs });
        }
        result.cache.hits += plan.hits.length * sets.length;
        result.cache.incremental += plan.tails.size * sets.length;
        let todo = 0;
        done.forEach((d) => (todo += d ? 0 : 1));
        result.cache.computed += (todo - plan.tails.size) * sets.length;
      }
      if (done.includes(0) || (g === 0 && index.nullSymbolRows > 0)) {
        const p = getPool();
        const dispatcher = new Dispatcher(p, g, jobSets, recordBytes, wants, cache !== undefined);
        for (const [code, t] of plan?.tails ?? []) dispatcher.seed(symbols[code] as string, t.states, t.accounts);
        const from = plan?.tailTable ? tableSource(src, plan.tailTable) : src;
        await runPass(o, p, db, from, index, done, minBars, dispatcher, persister, result, continueFrom);
        if (plan?.tailTable) await wconn.run(`DROP TABLE IF EXISTS ${plan.tailTable}`);
      }
      await persister.checkpoint(true);
      await writer?.flush();
      if (plan) plans.push(plan);
      cachedRows.summary.push(...persister.cachedRows.summary);
      cachedRows.stats.push(...persister.cachedRows.stats);
    }
    progress.finish();
    if (result.cache && writer && cache) {
      result.cache.stored = writer.stored;
      result.cache.dropped = cache.dropped.length;
    }

    for (const plan of plans) if (cache) await recordPlanUse(wconn, cache, plan);
    const totals = await finalizeRun(wconn, rd, { outputs: o.outputs, sets: o.sets, capital: o.capital, cached: cachedRows }, await db.connect());
    Object.assign(result, totals);
    result.seconds = (performance.now() - t0) / 1000;
    const prev = rd.readRunJson();
    rd.writeRunJson({
      ...prev,
      status: 'complete',
      tool: { name: 'atc-backtest', version: packageInfo().version, kernel: KERNEL_VERSION, node: process.version },
      data: { spec: o.data, files: src.files },
      profile: o.sets[0]?.params.profile,
      sets: o.sets.length,
      params: o.sets.length === 1 ? { ...o.sets[0]?.params, ...o.sets[0]?.trade, id: o.sets[0]?.id } : 'params.parquet',
      engine,
      outputs: o.outputs,
      badRows: o.badRows,
      minSignal: o.minSignal,
      capital: o.capital,
      equity: o.equity,
      workers: o.workers,
      chunkBars: o.chunkBars,
      passes: groups.length,
      counts: {
        sets: result.sets,
        passes: result.passes,
        symbols: result.symbols,
        symbolsSkipped: result.symbolsSkipped,
        bars: result.bars,
        rejects: result.rejects,
        commits: result.commits,
        resumedSymbols: result.resumedSymbols,
      },
      timings: { seconds: +result.seconds.toFixed(3), kernelSeconds: +result.kernelSeconds.toFixed(3) },
      finished: new Date().toISOString(),
    });
    return result;
  } finally {
    await pool?.close();
    closeCache?.();
    db.close();
  }
}

/** One pass over the data for one group of parameter sets. */
async function runPass(
  o: RunJobOptions,
  pool: KernelPool,
  db: Awaited<ReturnType<typeof openDb>>,
  src: Awaited<ReturnType<typeof openBarSource>>,
  index: Awaited<ReturnType<typeof indexSource>>,
  done: Uint8Array,
  minBars: number,
  dispatcher: Dispatcher,
  persister: ResultsPersister,
  result: RunJobResult,
  continueFrom: Map<number, { bars: number; lastTs: number }>,
): Promise<void> {
  // Commits run one at a time, in the order their kernels finished.
  let commitChain: Promise<void> = Promise.resolve();
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
  const batches = loadBatches(readBars(db, src, read, { done, ...(after ? { after } : {}) }), {
    symbols: index.symbols,
    minBars,
    file: o.data,
    policy: o.badRows,
    acquire: () => pool.acquire(),
    done,
    continueFrom,
    expectedRows: index.rows,
  });
  try {
    for await (const batch of batches) {
      if (failure) break;
      for (const sym of batch.aborted) dispatcher.forget(sym);
      const job = (async () => {
        try {
          const r =
            batch.series.length > 0
              ? await dispatcher.run(batch)
              : { last: new Float64Array(0), alerts: new Uint32Array(0), accounts: new Float64Array(0), kernelSeconds: 0 };
          result.kernelSeconds += r.kernelSeconds;
          const c = commitChain.then(() => persister.persist(batch, r));
          commitChain = c.catch(() => undefined);
          await c;
        } catch (e) {
          failure ??= e;
        } finally {
          pool.release(batch.slot);
        }
      })();
      inflight.add(job);
      void job.finally(() => inflight.delete(job));
    }
  } catch (e) {
    failure ??= e;
  }
  // Whatever happened, let the chunks in flight finish (and commit) before anything closes.
  await Promise.allSettled(inflight);
  await commitChain;
  if (failure) throw failure;
}
