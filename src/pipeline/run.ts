// The `atc run` job: Parquet bars -> load (validated batches in shared slots) -> execute
// (kernel workers) -> persist (Parquet parts, committed per chunk) -> summary.
//
// Memory is bounded by the slots (workers + 2 chunks of `chunkBars` bars) and DuckDB's memory
// limit, whatever the number of symbols or bars. Each chunk is committed atomically (see
// results/run-dir.ts), so a killed run resumes where it stopped with identical results.

import { randomUUID } from 'node:crypto';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { type AtcParams, minimumBars } from '../config/params.js';
import { indexSource, readBars } from '../data/bars-reader.js';
import { openDb } from '../data/duckdb.js';
import { openBarSource } from '../data/source.js';
import { createPlan } from '../engine/plan.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { type EngineChoice, type EngineRequest, selectEngine } from '../engine/select.js';
import { KernelPool } from '../pool/pool.js';
import { LAST_FIELDS, type KernelResult } from '../pool/task.js';
import { fileFingerprint, RunDir, runKey } from '../results/run-dir.js';
import { REJECT_COLUMNS, SUMMARY_COLUMNS, trendOf } from '../results/schema.js';
import { Dispatcher } from '../stages/execute/index.js';
import { type Batch, type BadRowPolicy, loadBatches, type Reject } from '../stages/load/index.js';
import { SignalsWriter } from '../stages/persist/signals.js';
import { writeRows } from '../stages/persist/tables.js';
import { packageInfo } from '../util/package-root.js';
import { Progress, type ProgressMode } from './progress.js';

export const OUTPUTS = ['summary', 'signals'] as const;
export type OutputKind = (typeof OUTPUTS)[number];

export interface RunJobOptions {
  data: string;
  out: string;
  params: AtcParams;
  engine: EngineRequest;
  outputs: readonly OutputKind[];
  workers: number;
  /** bars per chunk (one kernel task, one committed part) */
  chunkBars: number;
  badRows: BadRowPolicy;
  /** |last Average_Signal| below this is trend NEUTRAL */
  minSignal: number;
  overwrite: boolean;
  progress: ProgressMode;
  simdPath?: string | undefined;
  log: (msg: string) => void;
  write: (s: string) => void;
}

export interface RunJobResult {
  out: string;
  engine: EngineChoice;
  symbols: number;
  symbolsSkipped: number;
  bars: number;
  rejects: number;
  resumedSymbols: number;
  chunks: number;
  seconds: number;
  kernelSeconds: number;
  alreadyComplete: boolean;
}

/** A symbol cut into blocks: its files and counters until its last block commits. */
interface Pending {
  files: { temp: string; final: string }[];
  firstTs: number;
  long: number;
  short: number;
}

export async function runJob(o: RunJobOptions): Promise<RunJobResult> {
  const t0 = performance.now();
  const engine = selectEngine(o.engine, o.log);
  const db = await openDb({ threads: 2, memoryLimit: '512MB', tempDirectory: join(o.out, '.duckdb-tmp') });
  let pool: KernelPool | undefined;
  try {
    const src = await openBarSource(db.conn, o.data);
    const keyParts = {
      data: fileFingerprint(src.files),
      params: o.params,
      outputs: [...o.outputs].sort(),
      badRows: o.badRows,
      minSignal: o.minSignal,
      kernel: KERNEL_VERSION,
    };
    const rd = RunDir.open(o.out, runKey(keyParts), keyParts, o.overwrite);
    const result: RunJobResult = {
      out: o.out,
      engine,
      symbols: 0,
      symbolsSkipped: 0,
      bars: 0,
      rejects: 0,
      resumedSymbols: 0,
      chunks: 0,
      seconds: 0,
      kernelSeconds: 0,
      alreadyComplete: rd.isComplete(),
    };
    if (result.alreadyComplete) {
      const j = rd.readRunJson() as unknown as { counts: Partial<RunJobResult> };
      Object.assign(result, j.counts, { alreadyComplete: true, engine, seconds: (performance.now() - t0) / 1000 });
      return result;
    }
    const index = await indexSource(db.conn, src);
    const symbols = index.symbols;
    const doneSet = rd.doneSymbols();
    const done = Uint8Array.from(symbols, (s) => (doneSet.has(s) ? 1 : 0));
    result.resumedSymbols = doneSet.size;
    const progress = new Progress(o.progress, { symbols: symbols.length, bars: index.totalRows }, o.write, { symbols: doneSet.size, bars: rd.committedBars() });

    const plan = createPlan(o.params);
    pool = new KernelPool({ params: o.params, engine: engine.engine, simdPath: o.simdPath }, { workers: o.workers, slots: o.workers + 2, capacity: o.chunkBars });
    const dispatcher = new Dispatcher(pool, plan.stateBytes);
    const signals = o.outputs.includes('signals') ? new SignalsWriter(await db.connect()) : undefined;
    const wconn = await db.connect();
    const pending = new Map<string, Pending>();
    let heldRejects: { temp: string; final: string }[] = [];
    let heldRejectCount = 0;

    // Commits run one at a time, in the order their kernels finished.
    let commitChain: Promise<void> = Promise.resolve();
    const persist = async (batch: Batch, r: KernelResult): Promise<void> => {
      const files: { temp: string; final: string }[] = [];
      const first = batch.series[0];
      // Named by content (first symbol and bar): unique across resumed runs. A batch of rejected
      // rows only has no such name, so it gets a random one.
      const partName = first
        ? `part-${String(first.code).padStart(7, '0')}-${String(first.barStart).padStart(12, '0')}.parquet`
        : `part-rejects-${randomUUID().slice(0, 13)}.parquet`;
      if (signals && batch.series.length > 0) {
        const f = rd.tempFile('signals', partName);
        await signals.write(f.temp, batch);
        files.push(f);
      }
      if (batch.rejects.length > 0) {
        const f = rd.tempFile('rejects', partName);
        await writeRows(wconn, REJECT_COLUMNS, batch.rejects.map(rejectRow), f.temp);
        files.push(f);
      }
      for (const sym of batch.aborted) {
        const p = pending.get(sym);
        if (p) {
          rd.discard(p.files.filter((f) => f.final.startsWith('signals/')));
          heldRejects.push(...p.files.filter((f) => f.final.startsWith('rejects/')));
          pending.delete(sym);
        }
      }
      const completed: string[] = [];
      const summary: unknown[][] = [];
      let bars = 0;
      batch.series.forEach((s, i) => {
        bars += s.length;
        const lastVals = r.last.subarray(i * LAST_FIELDS, (i + 1) * LAST_FIELDS);
        const long = r.alerts[i * 2] as number;
        const short = r.alerts[i * 2 + 1] as number;
        if (!s.last) {
          const p = pending.get(s.symbol) ?? { files: [], firstTs: batch.slot.ts[s.start] as number, long: 0, short: 0 };
          p.files.push(...files.splice(0));
          p.long += long;
          p.short += short;
          pending.set(s.symbol, p);
          return;
        }
        const p = pending.get(s.symbol);
        pending.delete(s.symbol);
        if (p) files.push(...p.files);
        const lastTs = batch.slot.ts[s.start + s.length - 1] as number;
        const avg = lastVals[0] as number;
        const dir = lastVals[13] as number;
        summary.push([
          s.symbol,
          s.barStart + s.length,
          p?.firstTs ?? (batch.slot.ts[s.start] as number),
          lastTs,
          batch.slot.closes[s.start + s.length - 1],
          ...Array.from(lastVals.subarray(0, 7), (v) => (Number.isNaN(v) ? null : v)),
          dir === 0 ? null : dir,
          long + (p?.long ?? 0),
          short + (p?.short ?? 0),
          trendOf(avg, o.minSignal),
        ]);
        completed.push(s.symbol);
      });
      const rejectsHere = batch.rejects.length;
      if (completed.length === 0 && batch.series.length > 0) {
        // a block of a symbol still going: everything waits for its last block
        heldRejectCount += rejectsHere;
        return;
      }
      files.push(...heldRejects);
      const rejectCount = rejectsHere + heldRejectCount;
      heldRejects = [];
      heldRejectCount = 0;
      rd.commit({ symbols: completed, files, bars, summary, rejects: rejectCount });
      result.chunks++;
      progress.add(completed.length, bars);
    };

    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    const batches = loadBatches(readBars(db, src, index, { done }), {
      symbols,
      minBars: minimumBars(o.params),
      file: o.data,
      policy: o.badRows,
      acquire: () => pool!.acquire(),
      done,
    });
    try {
      for await (const batch of batches) {
        if (failure) break;
        for (const sym of batch.aborted) dispatcher.forget(sym);
        const job = (async () => {
          try {
            const r = batch.series.length > 0 ? await dispatcher.run(batch) : { last: new Float64Array(0), alerts: new Uint32Array(0), kernelSeconds: 0 };
            result.kernelSeconds += r.kernelSeconds;
            const c = commitChain.then(() => persist(batch, r));
            commitChain = c.catch(() => undefined);
            await c;
          } catch (e) {
            failure ??= e;
          } finally {
            pool!.release(batch.slot);
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
    progress.finish();

    // Consolidate the committed parts into the run's tables.
    await writeRows(wconn, SUMMARY_COLUMNS, rd.summaryRows(), join(o.out, '.summary.parquet.tmp'), 'symbol');
    const rejectParts = rd.partFiles('rejects');
    if (rejectParts.length > 0) {
      await wconn.run(`COPY (SELECT * FROM read_parquet([${rejectParts.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}]) ORDER BY symbol NULLS FIRST, ts NULLS FIRST) TO '${join(o.out, '.rejects.parquet.tmp').replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    } else {
      await writeRows(wconn, REJECT_COLUMNS, [], join(o.out, '.rejects.parquet.tmp'));
    }
    renameSync(join(o.out, '.summary.parquet.tmp'), join(o.out, 'summary.parquet'));
    renameSync(join(o.out, '.rejects.parquet.tmp'), join(o.out, 'rejects.parquet'));

    const summaryRows = rd.summaryRows();
    result.symbols = summaryRows.length;
    result.bars = summaryRows.reduce((a, row) => a + Number(row[1]), 0);
    result.rejects = (await wconn.runAndReadAll(`SELECT count(*) FROM '${join(o.out, 'rejects.parquet').replaceAll("'", "''")}'`)).getRows()[0]?.[0] as number;
    result.rejects = Number(result.rejects);
    result.symbolsSkipped = Number(
      (await wconn.runAndReadAll(`SELECT count(*) FROM '${join(o.out, 'rejects.parquet').replaceAll("'", "''")}' WHERE action = 'skipped symbol'`)).getRows()[0]?.[0] ?? 0,
    );
    result.seconds = (performance.now() - t0) / 1000;
    const prev = rd.readRunJson();
    rd.writeRunJson({
      ...prev,
      status: 'complete',
      tool: { name: 'atc-backtest', version: packageInfo().version, kernel: KERNEL_VERSION, node: process.version },
      data: { spec: o.data, files: src.files },
      params: o.params,
      profileSwitches: plan.switches,
      engine,
      outputs: o.outputs,
      badRows: o.badRows,
      minSignal: o.minSignal,
      workers: o.workers,
      chunkBars: o.chunkBars,
      counts: {
        symbols: result.symbols,
        symbolsSkipped: result.symbolsSkipped,
        bars: result.bars,
        rejects: result.rejects,
        chunks: result.chunks,
        resumedSymbols: result.resumedSymbols,
      },
      timings: { seconds: +result.seconds.toFixed(3), kernelSeconds: +result.kernelSeconds.toFixed(3) },
      finished: new Date().toISOString(),
    });
    return result;
  } finally {
    await pool?.close();
    db.close();
  }
}

function rejectRow(r: Reject): unknown[] {
  return [r.file, r.symbol, r.ts === null ? null : r.ts, r.reason, r.detail, r.action];
}
