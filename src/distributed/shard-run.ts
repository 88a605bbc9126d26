// One shard of a run, computed on its own (`atc run --shard i/n`, or a queue worker): the run's
// symbols of that shard are computed into a temporary directory next to the others
// (<out>/shards/.tmp-*), sealed with the row count and sha256 of every part (shard.json), and
// the directory is renamed to <out>/shards/<i>-of-<n>. The rename is the commit: a shard
// computed twice (a stalled job retried while its first worker still runs) commits once, and
// the later copy is discarded. A killed attempt leaves only a temporary directory, which the
// merge removes.

import { resolveStrategy } from '../strategies/registry.js';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ResolvedJob } from '../config/options.js';
import { resolveFiles } from '../data/source.js';
import { AtcError } from '../errors.js';
import { runIdentity } from '../pipeline/resume.js';
import { openDb, sqlString } from '../data/duckdb.js';
import type { EngineChoice } from '../engine/select.js';
import type { CacheReport } from '../pipeline/cache-phase.js';
import type { RunJson } from '../results/run-dir.js';
import type { ProgressEvent } from '../pipeline/progress.js';
import { runJob } from '../pipeline/run.js';
import type { ShardSpec } from './shards.js';

/** A job as a queue or a shard file carries it: plain JSON, absolute paths. */
export type JobSpec = Omit<ResolvedJob, 'out' | 'overwrite' | 'data' | 'strategy'> & { data: string };

export interface ManifestLine {
  group: number;
  symbols: string[];
  files: string[];
  bars: number;
  rejects: number;
}

/** <out>/shards/<i>-of-<n>/shard.json */
export interface ShardFile {
  key: string;
  keyParts: RunJson['keyParts'];
  shard: ShardSpec;
  job: JobSpec;
  engine: EngineChoice;
  /** what the result cache did (absent without a cache) */
  cache?: CacheReport | undefined;
  passes: number;
  kernelSeconds: number;
  seconds: number;
  worker: string;
  manifest: ManifestLine[];
  /** every part: its rows and sha256 */
  files: Record<string, { rows: number; sha256: string }>;
}

export const SHARD_FILE = 'shard.json';
export const SHARDS_DIR = 'shards';

const pad = (n: number): string => String(n).padStart(5, '0');
export const shardDir = (out: string, s: ShardSpec): string => join(out, SHARDS_DIR, `${pad(s.index)}-of-${pad(s.count)}`);
export const workerName = (): string => `${hostname()}/${process.pid}`;

/** The key of the complete run in `out` (undefined: none, or not complete). */
export function completeKey(out: string): string | undefined {
  try {
    const j = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunJson;
    return j.status === 'complete' ? j.key : undefined;
  } catch {
    return undefined;
  }
}

/** The key of `job`'s run (what its run.json will hold). */
export function jobKey(job: JobSpec): string {
  return runIdentity(resolveFiles(job.data).files, job).key;
}

export function readManifest(dir: string): ManifestLine[] {
  const p = join(dir, 'manifest.jsonl');
  if (!existsSync(p)) return [];
  // a shard's manifest is complete (its run finished): every line parses
  return readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ManifestLine);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Rows of Parquet files, from their footers. */
export async function parquetRows(files: string[]): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  if (files.length === 0) return rows;
  const db = await openDb({ threads: 1, memoryLimit: '256MB' });
  try {
    const r = await db.conn.runAndReadAll(`SELECT file_name, sum(num_rows) FROM parquet_file_metadata([${files.map(sqlString).join(', ')}]) GROUP BY file_name`);
    for (const [f, n] of r.getRows()) rows.set(String(f), Number(n));
  } finally {
    db.close();
  }
  return rows;
}

export interface ShardOutcome {
  shard: ShardSpec;
  /** committed by this call; false: another worker (or an earlier run) had committed it */
  committed: boolean;
  seconds: number;
}

export interface ShardHooks {
  log: (m: string) => void;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** kernel threads here (default: the job's) */
  workers?: number | undefined;
}

/** Compute shard `shard` of `job` into `out` (nothing when it is committed already). */
export async function computeShard(job: JobSpec, out: string, shard: ShardSpec, hooks: ShardHooks): Promise<ShardOutcome> {
  const t0 = performance.now();
  const final = shardDir(out, shard);
  const done = (committed: boolean): ShardOutcome => ({ shard, committed, seconds: (performance.now() - t0) / 1000 });
  const key = jobKey(job);
  if (completeKey(out) === key) return done(false);
  if (existsSync(join(final, SHARD_FILE))) {
    if ((JSON.parse(readFileSync(join(final, SHARD_FILE), 'utf8')) as ShardFile).key === key) return done(false);
    throw new AtcError('ATC_ERR_OUTPUT_EXISTS', `${final} holds a shard of another run (other parameters or data); remove ${join(out, SHARDS_DIR)} or use another --out`);
  }
  mkdirSync(join(out, SHARDS_DIR), { recursive: true });
  const tmp = join(out, SHARDS_DIR, `.tmp-${pad(shard.index)}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
  try {
    const strategy = job.strategySpec ? await resolveStrategy(job.strategySpec) : undefined;
    const report = await runJob({ ...job, strategy, workers: hooks.workers ?? job.workers, out: tmp, overwrite: true, shard, log: hooks.log, onProgress: hooks.onProgress, signal: hooks.signal });
    rmSync(join(tmp, '.duckdb-tmp'), { recursive: true, force: true });
    const manifest = readManifest(tmp);
    const names = manifest.flatMap((l) => l.files);
    const rows = await parquetRows(names.map((f) => join(tmp, f)));
    const files: ShardFile['files'] = {};
    for (const f of names) files[f] = { rows: rows.get(join(tmp, f)) ?? -1, sha256: sha256File(join(tmp, f)) };
    const rj = JSON.parse(readFileSync(join(tmp, 'run.json'), 'utf8')) as RunJson;
    const sealed: ShardFile = {
      key: rj.key,
      keyParts: rj.keyParts,
      shard,
      job,
      engine: report.engine,
      cache: report.cache,
      passes: report.passes,
      kernelSeconds: report.kernelSeconds,
      seconds: (performance.now() - t0) / 1000,
      worker: workerName(),
      manifest,
      files,
    };
    writeFileSync(join(tmp, SHARD_FILE), JSON.stringify(sealed) + '\n');
    try {
      renameSync(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      hooks.log(`shard ${shard.index}/${shard.count} was committed by another worker meanwhile: this copy is discarded`);
      return done(false);
    }
    return done(true);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The committed shards in `out` (shard.json of each), and the temporary directories of unfinished attempts. */
export function listShards(out: string): { sealed: ShardFile[]; temporary: string[] } {
  const dir = join(out, SHARDS_DIR);
  if (!existsSync(dir)) return { sealed: [], temporary: [] };
  const sealed: ShardFile[] = [];
  const temporary: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.tmp-')) temporary.push(join(dir, name));
    else if (existsSync(join(dir, name, SHARD_FILE))) sealed.push(JSON.parse(readFileSync(join(dir, name, SHARD_FILE), 'utf8')) as ShardFile);
  }
  return { sealed, temporary };
}
