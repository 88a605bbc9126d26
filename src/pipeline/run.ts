// The backtest job: Parquet bars -> load (validated batches in shared slots) -> execute
// (kernel workers, one group of parameter sets per task) -> persist (Parquet parts, committed
// atomically) -> finalize (the run's tables) -> run.json.
//
// Parameter sets are processed in groups of up to GROUP_SIZE, one pass over the data per
// group (pass.ts): inside a group the kernel computes the moving averages and crossovers once
// for every set that shares them; across groups memory stays bounded however large the grid.
// A run with signals output uses groups of one (its per-bar outputs go through the slot).
//
// Memory is bounded by the slots (workers + 2 chunks of `chunkBars` bars), the per-task
// results (chunk series x group sets) and DuckDB's memory limit, whatever the number of
// symbols, bars or sets. Commits are atomic (results/run-dir.ts), so a killed or aborted run
// resumes where it stopped with identical results (resume.ts).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamSet } from '../config/grid.js';
import type { ResolvedJob } from '../config/options.js';
import { minimumBars } from '../config/params.js';
import { indexSource } from '../data/bars-reader.js';
import { openDb } from '../data/duckdb.js';
import { openBarSource, tableSource } from '../data/source.js';
import type { JobSet } from '../engine/job.js';
import { createPlan } from '../engine/plan.js';
import { checkStrategyEngine, type EngineChoice, selectEngine } from '../engine/select.js';
import { AbortError, DataError, UsageError } from '../errors.js';
import { KernelPool } from '../pool/pool.js';
import type { TaskWants } from '../pool/task.js';
import type { OutputKind } from '../results/outputs.js';
import { type RunDir, TABLE_FILES } from '../results/run-dir.js';
import { ACCT_SIZE } from '../backtest/accounting.js';
import { LAST_FIELDS } from '../engine/batch.js';
import { Dispatcher } from '../stages/execute/index.js';
import { maxSeriesPerChunk } from '../stages/load/index.js';
import { ResultsPersister } from '../stages/persist/results.js';
import { SignalsWriter } from '../stages/persist/signals.js';
import { tailColumn } from '../cache/fingerprint.js';
import { CacheStore } from '../cache/store.js';
import { commitCachedRows } from '../distributed/shard-parts.js';
import { planShards, type ShardSpec } from '../distributed/shards.js';
import { type CacheReport, CachePhase } from './cache-phase.js';
import { finalizeRun } from './finalize.js';
import { runPass } from './pass.js';
import { Progress, type ProgressEvent } from './progress.js';
import { openRun } from './resume.js';
import { COUNT_KEYS, writeRunJson } from './run-json.js';
import { tablesOf } from '../strategies/tables.js';
import { diskFullError } from '../util/disk-full.js';

export type { CacheReport };

/** Summary rows (symbols x sets) up to which finalize sorts two tables at a time. */
const FINALIZE_PARALLEL_ROWS = 250_000;

/** Parameter sets per pass over the data (per kernel task). */
export const GROUP_SIZE = 64;

export interface RunJobOptions extends ResolvedJob {
  data: string;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
  log: (msg: string) => void;
  signal?: AbortSignal | undefined;
  simdPath?: string | undefined;
  /** sets per pass (default GROUP_SIZE; 1 with signals) */
  groupSize?: number | undefined;
  /** compute this shard's symbols only and stop before finalizing (distributed/shard-run.ts) */
  shard?: ShardSpec | undefined;
}

/** Seconds per stage of a run. read, kernel and write run concurrently. */
export interface StageSeconds {
  /** waiting for bars from the reader (DuckDB's scan, checks, batching), not for a free slot */
  read: number;
  /** the kernel in the workers, summed over them (= kernelSeconds) */
  kernel: number;
  /** writing results: Parquet parts, commits, checkpoints */
  write: number;
  /** the result cache: fingerprints, lookups, results taken from it, entries stored */
  cache: number;
  /** the run's tables from its parts, and the list of its files */
  finalize: number;
}

/** What a run did. */
export interface RunReport {
  /** the run directory */
  out: string;
  /** the bar source */
  data: string;
  /** the engine used, and why */
  engine: EngineChoice;
  /** parameter sets */
  sets: number;
  /** passes over the data (groups of parameter sets) */
  passes: number;
  /** symbols with results, and symbols skipped by the bad-row policy */
  symbols: number;
  symbolsSkipped: number;
  /** bars of the symbols with results */
  bars: number;
  /** rows in rejects.parquet */
  rejects: number;
  /** symbol passes already committed by an earlier (killed or aborted) run of the same job */
  resumedSymbols: number;
  commits: number;
  seconds: number;
  /** seconds inside the kernel, summed over the workers */
  kernelSeconds: number;
  /** where the time went, per stage (they overlap: they do not add up to `seconds`) */
  stages: StageSeconds;
  /** the process's peak resident set size in MB (main thread, workers and DuckDB) */
  peakRssMB: number;
  outputs: readonly OutputKind[];
  /** `out` already held the complete results of this run: nothing was computed */
  alreadyComplete: boolean;
  /** what the result cache did (absent without a cache) */
  cache?: CacheReport;
  /** the files of the results (absolute paths) */
  files: string[];
}

export async function runJob(o: RunJobOptions): Promise<RunReport> {
  const t0 = performance.now();
  if (o.sets.length === 0) throw new UsageError('no parameter sets to run');
  if (new Set(o.sets.map((s) => s.params.profile)).size > 1) throw new UsageError('every parameter set of a run must use the same profile');
  const strategy = o.strategy;
  if (o.sets.some((s) => s.strategy?.name !== strategy?.name)) throw new UsageError(`every parameter set of a run must be of its strategy (${strategy?.name ?? 'atc'})`);
  // the strategy's input columns besides close, in the slots and in the reads
  const inputs = (strategy?.inputs ?? []).filter((c) => c.name !== 'close');
  const tables = tablesOf(strategy);
  if (o.equity && !o.outputs.includes('signals')) throw new UsageError('--equity adds columns to signals: add signals to --outputs');
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);
  // The symbol count is not known yet, so `auto` keeps the CPU engines here (select.ts): the
  // pool runs one job per worker thread, not the one-runner-per-GPU shape CUDA wants.
  const engine = checkStrategyEngine(selectEngine(o.engine, o.log, { sets: o.sets.length }), strategy?.name);
  const db = await openDb({ threads: 2, memoryLimit: '512MB', tempDirectory: join(o.out, '.duckdb-tmp') });
  let pool: KernelPool | undefined;
  let cache: CachePhase | undefined;
  let dir: RunDir | undefined;
  // opened first: an unusable cache is an error before anything is written
  let store = o.cache ? CacheStore.open(o.cache, 'shared', o.log) : undefined;
  try {
    const src = await openBarSource(db.conn, o.data, inputs.map((c) => c.name));
    const rd = (dir = openRun(o.out, src, o, o.overwrite));
    const groupSize = o.outputs.includes('signals') ? 1 : Math.max(1, o.groupSize ?? GROUP_SIZE);
    const groups: ParamSet[][] = [];
    for (let i = 0; i < o.sets.length; i += groupSize) groups.push(o.sets.slice(i, i + groupSize));
    const report: RunReport = {
      out: o.out,
      data: o.data,
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
      stages: { read: 0, kernel: 0, write: 0, cache: 0, finalize: 0 },
      peakRssMB: 0,
      outputs: o.outputs,
      alreadyComplete: rd.isComplete(),
      files: [],
    };
    if (report.alreadyComplete) {
      const j = rd.readRunJson() as unknown as { counts: Pick<RunReport, (typeof COUNT_KEYS)[number]> };
      Object.assign(report, j.counts, { alreadyComplete: true, engine, files: outputFiles(o.out), seconds: (performance.now() - t0) / 1000, peakRssMB: peakRssMB() });
      return report;
    }
    // Per-bar outputs (signals, the portfolio's per-bar sums) are not served from the cache:
    // such runs compute every symbol, and store entries for later runs.
    const serve = !o.outputs.includes('signals') && !o.outputs.includes('portfolio');
    const stages = report.stages;
    // adds the seconds `f` takes to a stage
    const timed = async <T>(stage: keyof StageSeconds, f: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await f();
      } finally {
        stages[stage] += (performance.now() - t) / 1000;
      }
    };
    if (store) {
      const opened = store;
      cache = await timed('cache', () => CachePhase.open({ store: opened, conn: db.conn, src, sets: o.sets, serve, strategy }));
      store = undefined; // the phase closes it
    }
    const index = cache?.index ?? (await indexSource(db.conn, src));
    if (index.totalRows === 0) throw new DataError('ATC_ERR_NO_BARS', `${o.data}: the source has no rows`, { file: o.data });
    const symbols = index.symbols;
    // a loop, not Math.max(...): a grid of 100,000s of sets overflows the call stack
    const minBars = o.sets.reduce((m, s) => Math.max(m, strategy ? strategy.minimumBars(s.strategy?.values ?? {}) : minimumBars(s.params)), 0);
    // per group, the sets' state record sizes; the series a chunk holds are capped by the
    // largest group's results per series (the same cap for every group, and for shard plans)
    const groupStateBytes = groups.map((sets) => sets.map((s) => (strategy ? strategy.kernel(s.strategy?.values ?? {}, 'ts').stateBytes : createPlan(s.params).stateBytes)));
    const maxSeries = maxSeriesPerChunk(groupStateBytes.reduce((m, b, g) => Math.max(m, b.reduce((x, y) => x + y, 0) + (groups[g] as ParamSet[]).length * (LAST_FIELDS + ACCT_SIZE) * 8), 0));
    const range = o.shard ? planShards(index, o.shard.count, o.chunkBars, minBars, maxSeries)[o.shard.index] : undefined;
    // rows with a NULL symbol are read (and rejected) by the first shard only (of a source sorted by symbol)
    const readIndex = o.shard && o.shard.index > 0 ? { ...index, nullSymbolRows: 0 } : index;
    const progress = new Progress(
      range ? { symbols: (range.to - range.from) * groups.length, bars: range.bars * groups.length } : { symbols: symbols.length * groups.length, bars: index.totalRows * groups.length },
      (e) => o.onProgress?.(e),
      { symbols: rd.committedSymbols(), bars: rd.committedBars() },
    );
    // started when some symbol needs computing (a run answered by the cache needs no workers)
    const getPool = (): KernelPool =>
      (pool ??= new KernelPool(
        { engine: engine.engine, simdPath: o.simdPath ?? engine.simdPath, strategy: o.strategySpec },
        { workers: o.workers, slots: o.workers + 2, capacity: o.chunkBars, extra: o.equity, inputs: inputs.map((c) => c.name) },
      ));
    const signals = o.outputs.includes('signals') ? new SignalsWriter(await db.connect(), o.equity, tables) : undefined;
    const wconn = await db.connect();
    const wants: TaskWants = { trades: o.outputs.includes('trades'), portfolio: o.outputs.includes('portfolio'), planes: signals !== undefined, extra: o.equity };
    const cachedRows = { summary: [] as string[], stats: [] as string[] };

    for (const [g, sets] of groups.entries()) {
      if (o.signal?.aborted) throw new AbortError(o.signal.reason);
      const doneSet = rd.doneSymbols(g);
      report.resumedSymbols += doneSet.size;
      if (doneSet.size === symbols.length) continue;
      const done = Uint8Array.from(symbols, (s, i) => (doneSet.has(s) || (range && (i < range.from || i >= range.to)) ? 1 : 0));
      const jobSets: JobSet[] = sets.map((s) => ({ params: s.params, trade: s.trade, ...(s.strategy ? { values: s.strategy.values } : {}) }));
      const stateBytes = groupStateBytes[g] as number[];
      const persister = new ResultsPersister({
        rd,
        conn: wconn,
        group: g,
        sets,
        signals,
        trades: wants.trades,
        portfolio: wants.portfolio,
        stats: o.outputs.includes('stats') || wants.portfolio,
        rejects: g === 0,
        minSignal: o.minSignal,
        capital: o.capital,
        tables,
        checkpointMs: o.checkpointSecs * 1000,
        onCommit: (n, bars) => {
          report.commits++;
          progress.add(n, bars);
        },
        cache: cache ? { writer: cache.writer, k0: g * groupSize, stateBytes } : undefined,
      });
      const start = cache
        ? await timed('cache', () => cache!.startGroup({ k0: g * groupSize, sets, stateBytes, done, trades: wants.trades }, persister, (n, bars) => progress.add(n, bars)))
        : { continueFrom: new Map<number, { bars: number; lastTs: number }>(), dispatch: () => undefined };
      if (done.includes(0) || (g === 0 && readIndex.nullSymbolRows > 0)) {
        const p = getPool();
        const dispatcher = new Dispatcher(p, g, jobSets, stateBytes.reduce((a, b) => a + b, 0), wants, cache !== undefined);
        start.dispatch(dispatcher);
        try {
          report.kernelSeconds += await runPass({
            db,
            pool: p,
            src: start.tailTable ? tableSource(src, start.tailTable, tailColumn) : src,
            index: readIndex,
            file: o.data,
            policy: o.badRows,
            minBars,
            done,
            continueFrom: start.continueFrom,
            inputs,
            maxSeries,
            dispatcher,
            consume: (batch, r) => timed('write', () => persister.persist(batch, r)),
            signal: o.signal,
            onRead: (s) => (stages.read += s),
          });
        } finally {
          if (start.tailTable) await wconn.run(`DROP TABLE IF EXISTS ${start.tailTable}`);
        }
      }
      await timed('write', () => persister.checkpoint(true));
      if (cache) await timed('cache', () => cache!.writer.flush());
      cachedRows.summary.push(...persister.cachedRows.summary);
      cachedRows.stats.push(...persister.cachedRows.stats);
    }
    progress.finish();
    // the workers and their slots are done with: their memory is not held through finalize
    await pool?.close();
    pool = undefined;
    if (cache) await timed('cache', () => cache!.finish());
    if (cache) report.cache = cache.report;
    if (o.shard) {
      // a shard's results stay parts: the merge finalizes the union of every shard's parts
      await commitCachedRows(wconn, rd, cachedRows);
      report.seconds = (performance.now() - t0) / 1000;
      return report;
    }
    // two tables sorted at once, unless they are large (then one at a time: half the memory)
    const spare = symbols.length * o.sets.length <= FINALIZE_PARALLEL_ROWS ? await db.connect() : undefined;
    const totals = await timed('finalize', async () => finalizeRun(wconn, rd, { outputs: o.outputs, sets: o.sets, capital: o.capital, cached: cachedRows, tables }, spare));
    Object.assign(report, totals);
    if (totals.symbols === 0) {
      throw new DataError('ATC_ERR_NO_BARS', `${o.data}: no symbol has bars to compute: every row or symbol was rejected (${totals.rejects} rejects, see ${join(o.out, 'rejects.parquet')})`, { file: o.data });
    }
    report.files = await timed('finalize', async () => outputFiles(o.out));
    report.seconds = (performance.now() - t0) / 1000;
    stages.kernel = report.kernelSeconds;
    report.peakRssMB = peakRssMB();
    writeRunJson(rd, o, src.files, report);
    return report;
  } catch (e) {
    throw diskFullError(e, `--out ${o.out}${o.cache ? ` or --cache ${o.cache}` : ''}`) ?? e;
  } finally {
    await pool?.close();
    cache?.close();
    store?.close();
    dir?.close();
    db.close();
  }
}

function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** The result files of a complete run directory. */
function outputFiles(dir: string): string[] {
  const present = new Set(readdirSync(dir));
  const files = TABLE_FILES.filter((f) => present.has(f)).map((f) => join(dir, f));
  if (present.has('signals')) for (const f of readdirSync(join(dir, 'signals')).sort()) if (f.endsWith('.parquet') && !f.startsWith('.')) files.push(join(dir, 'signals', f));
  return [...files, join(dir, 'run.json')];
}
