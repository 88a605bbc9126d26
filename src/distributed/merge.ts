// `atc merge`: the committed shards of a run become the run, the same bytes as one machine's.
// Every shard is checked first (all n present, one run key, each part's row count and sha256
// as sealed): a failed check is ATC_ERR_MERGE and nothing is written. Then the parts are
// linked into <out> under the run directory's commit protocol (results/run-dir.ts: a killed
// merge resumes), finalize writes the tables from the union of the parts (the same SQL over
// the same parts as one machine's run), run.json is written complete, and <out>/shards goes.

import { resolveStrategy } from '../strategies/registry.js';
import { tablesOf } from '../strategies/tables.js';
import { copyFileSync, linkSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamSet } from '../config/grid.js';
import { openDb } from '../data/duckdb.js';
import { AtcError } from '../errors.js';
import type { CacheReport } from '../pipeline/cache-phase.js';
import { finalizeRun } from '../pipeline/finalize.js';
import { writeRunJson } from '../pipeline/run-json.js';
import type { RunReport } from '../pipeline/run.js';
import { PART_DIRS, RunDir } from '../results/run-dir.js';
import { completeKey, listShards, parquetRows, SHARDS_DIR, sha256File, shardDir, type ShardFile } from './shard-run.js';

export interface MergeReport {
  out: string;
  shards: number;
  alreadyComplete: boolean;
  symbols: number;
  bars: number;
  rejects: number;
  seconds: number;
}

const mergeError = (m: string): AtcError => new AtcError('ATC_ERR_MERGE', m);

/** The shards' cache reports as one run's: entries add up; every shard fingerprinted the same files. */
function cacheTotals(rs: CacheReport[]): CacheReport {
  const sum = (k: 'hits' | 'incremental' | 'computed' | 'stored' | 'dropped' | 'fingerprintSeconds' | 'lookupSeconds'): number => rs.reduce((a, r) => a + r[k], 0);
  const first = rs[0] as CacheReport;
  return {
    ...first,
    hits: sum('hits'),
    incremental: sum('incremental'),
    computed: sum('computed'),
    stored: sum('stored'),
    dropped: sum('dropped'),
    memo: rs.every((r) => r.memo),
    filesScanned: Math.max(...rs.map((r) => r.filesScanned)),
    fingerprintSeconds: +sum('fingerprintSeconds').toFixed(3),
    lookupSeconds: +sum('lookupSeconds').toFixed(3),
  };
}

/** Check every shard of the run in `out`; returns them in shard order. */
export async function checkShards(out: string): Promise<ShardFile[]> {
  const { sealed } = listShards(out);
  if (sealed.length === 0) throw mergeError(`${out}: no committed shard in ${join(out, SHARDS_DIR)}`);
  const first = sealed[0] as ShardFile;
  const count = first.shard.count;
  const other = sealed.find((s) => s.key !== first.key || s.shard.count !== count);
  if (other) throw mergeError(`${shardDir(out, other.shard)} belongs to another run (other parameters, data or shard count) than ${shardDir(out, first.shard)}`);
  const byIndex = new Map(sealed.map((s) => [s.shard.index, s]));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw mergeError(`${out}: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} not committed yet`);
  const shards = Array.from({ length: count }, (_, i) => byIndex.get(i) as ShardFile);
  for (const s of shards) {
    const dir = shardDir(out, s.shard);
    const names = Object.keys(s.files);
    const listed = new Set(s.manifest.flatMap((l) => l.files));
    if (names.length !== listed.size || names.some((f) => !listed.has(f))) throw mergeError(`${dir}: its manifest and its sealed files differ`);
    const rows = await parquetRows(names.map((f) => join(dir, f))).catch((e: unknown) => {
      throw mergeError(`${dir}: a part cannot be read: ${(e as Error).message}`);
    });
    for (const f of names) {
      const want = s.files[f] as { rows: number; sha256: string };
      const got = rows.get(join(dir, f));
      if (got !== want.rows) throw mergeError(`${dir}/${f}: ${got ?? 'no'} rows where ${want.rows} were sealed`);
      if (sha256File(join(dir, f)) !== want.sha256) throw mergeError(`${dir}/${f}: its sha256 differs from the sealed one`);
    }
  }
  return shards;
}

/** Merge the shards in `out` into the run (nothing to do when the run is complete). */
export async function mergeShards(out: string, log: (m: string) => void = () => undefined): Promise<MergeReport> {
  const t0 = performance.now();
  const report = (alreadyComplete: boolean, counts: { symbols: number; bars: number; rejects: number }, shards: number): MergeReport => ({
    out,
    shards,
    alreadyComplete,
    ...counts,
    seconds: (performance.now() - t0) / 1000,
  });
  const complete = completeKey(out);
  if (complete !== undefined) {
    const other = listShards(out).sealed.find((s) => s.key !== complete);
    if (other) throw mergeError(`${out} holds the complete results of another run than its shards (${shardDir(out, other.shard)})`);
    const j = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: { symbols: number; bars: number; rejects: number } };
    return report(true, j.counts, 0);
  }
  const shards = await checkShards(out);
  const first = shards[0] as ShardFile;
  const job = first.job;
  const rd = RunDir.open(out, first.key, first.keyParts, false);
  const db = await openDb({ threads: 2, memoryLimit: '512MB', tempDirectory: join(out, '.duckdb-tmp') });
  try {
    const listed = new Set(PART_DIRS.flatMap((d) => rd.partFiles(d)));
    let commits = 0;
    for (const s of shards) {
      const dir = shardDir(out, s.shard);
      for (const line of s.manifest) {
        commits++;
        if (line.files.some((f) => listed.has(join(out, f)))) continue; // linked by a merge that was killed
        const files = line.files.map((f) => {
          const [sub, name] = [f.slice(0, f.lastIndexOf('/')), f.slice(f.lastIndexOf('/') + 1)];
          const t = rd.tempFile(sub as (typeof PART_DIRS)[number], name);
          try {
            linkSync(join(dir, f), t.temp);
          } catch {
            copyFileSync(join(dir, f), t.temp); // a filesystem without hard links
          }
          return t;
        });
        rd.commit({ group: line.group, symbols: line.symbols, files, bars: line.bars, rejects: line.rejects });
      }
    }
    const sets = job.sets as ParamSet[];
    const tables = tablesOf(job.strategySpec ? await resolveStrategy(job.strategySpec) : undefined);
    const totals = await finalizeRun(db.conn, rd, { outputs: job.outputs, sets, capital: job.capital, tables }, await db.connect());
    if (totals.symbols === 0) throw new AtcError('ATC_ERR_NO_BARS', `${job.data}: no symbol has bars to compute: every row or symbol was rejected (see ${join(out, 'rejects.parquet')})`);
    const run: RunReport = {
      out,
      data: job.data,
      engine: first.engine,
      sets: sets.length,
      passes: first.passes,
      ...totals,
      resumedSymbols: 0,
      commits,
      seconds: (performance.now() - t0) / 1000 + Math.max(...shards.map((s) => s.seconds)),
      kernelSeconds: shards.reduce((a, s) => a + s.kernelSeconds, 0),
      // the shards' stages are in their own processes: the merge reports the kernel's sum and its own finalize
      stages: { read: 0, kernel: shards.reduce((a, s) => a + s.kernelSeconds, 0), write: 0, cache: 0, finalize: (performance.now() - t0) / 1000 },
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      outputs: job.outputs,
      alreadyComplete: false,
      files: [],
      ...(first.cache ? { cache: cacheTotals(shards.map((s) => s.cache as CacheReport)) } : {}),
    };
    const dataFiles = (first.keyParts.data as { path: string }[]).map((d) => d.path);
    writeRunJson(rd, { ...job, out, overwrite: false, log }, dataFiles, run);
    // worker names and per-shard timings (the only part of run.json a one-machine run lacks)
    const j = rd.readRunJson();
    rd.writeRunJson({ ...j, timings: { ...(j.timings as object), shards: shards.map((s) => ({ shard: s.shard.index, worker: s.worker, seconds: +s.seconds.toFixed(3) })) } });
    rmSync(join(out, SHARDS_DIR), { recursive: true, force: true });
    log(`merged ${shards.length} shard(s) into ${out}`);
    return report(false, { symbols: totals.symbols, bars: totals.bars, rejects: totals.rejects }, shards.length);
  } finally {
    db.close();
    rd.close();
    rmSync(join(out, '.duckdb-tmp'), { recursive: true, force: true });
  }
}

