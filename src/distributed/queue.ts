// Runs on BullMQ: one flow per run, a child job per shard (queue `atc-shards`) and a parent
// that merges them (queue `atc-runs`). Job ids come from the run key and the shard index
// (`<id16>-<n>-shard-<i>`, no ':'; id16 hashes the key and --out), so submitting a run twice adds nothing, and a shard's
// results are committed by a rename (shard-run.ts): a shard computed twice commits once.
//
// Timing (ATC_QUEUE_LOCK_MS overrides the lock, for tests):
// - lockDuration 30 s, renewed every 15 s by the worker's event loop, which stays free during
//   long shards (the kernel runs in worker threads, DuckDB in its own): a SIGKILLed worker's
//   shard is taken by another worker within lockDuration + stalledInterval (45 s).
// - stalledInterval 15 s: how often workers look for shards whose lock lapsed.
// - maxStalledCount 3: a shard may lose its worker three times (machines preempted, OOM kills)
//   before it fails the run.
// - attempts 3, exponential backoff from 5 s: a shard that throws is retried twice (a flaky
//   shared filesystem); a data error fails every attempt and then fails the run with its error.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { openDb } from '../data/duckdb.js';
import { indexSource } from '../data/bars-reader.js';
import { openBarSource } from '../data/source.js';
import { AtcError } from '../errors.js';
import type { ProgressEvent } from '../pipeline/progress.js';
import { checkBroker, connection, type QueueUrl } from './broker.js';
import { mergeShards } from './merge.js';
import { completeKey, computeShard, jobKey, type JobSpec, workerName } from './shard-run.js';
import { shardCount, type ShardSpec } from './shards.js';

export const SHARDS_QUEUE = 'atc-shards';
export const RUNS_QUEUE = 'atc-runs';
export { DEFAULT_SHARD_BARS } from './shards.js';

const lockDuration = Number(process.env.ATC_QUEUE_LOCK_MS) || 30_000;
const backoffMs = Math.min(5000, lockDuration / 6);
export const QUEUE_TIMING = { lockDuration, stalledInterval: lockDuration / 2, maxStalledCount: 3, attempts: 3, backoffMs } as const;

interface ShardData {
  job: JobSpec;
  out: string;
  shard: ShardSpec;
}
interface RunData {
  job: JobSpec;
  out: string;
  count: number;
}

/** A run's id: its key, its --out (two directories are two runs) and its shard count. */
export const runIdOf = (key: string, out: string, count: number): string => `${createHash('sha256').update(`${key}\n${out}`).digest('hex').slice(0, 16)}-${count}`;
const shardJobId = (runId: string, i: number): string => `${runId}-shard-${i}`;

/** The progress a worker reports for its shard (and the status adds up). */
export interface ShardProgress {
  symbols: number;
  symbolsTotal: number;
  bars: number;
  barsTotal: number;
}

export interface Submitted {
  runId: string;
  shards: number;
  /** the run's results were complete already: nothing was submitted */
  alreadyComplete: boolean;
}

/** Submit a run as a flow (nothing when `out` holds its complete results; a failed earlier flow of it is replaced). */
export async function submitRun(u: QueueUrl, job: JobSpec, out: string, shardBars: number, log: (m: string) => void): Promise<Submitted> {
  const key = jobKey(job);
  if (completeKey(out) === key) return { runId: runIdOf(key, out, 0), shards: 0, alreadyComplete: true };
  await checkBroker(u);
  const db = await openDb({ threads: 2, memoryLimit: '256MB' });
  let count: number;
  try {
    count = shardCount(await indexSource(db.conn, await openBarSource(db.conn, job.data)), shardBars);
  } finally {
    db.close();
  }
  const runId = runIdOf(key, out, count);
  const conn = { connection: connection(u) };
  const runs = new Queue<RunData>(RUNS_QUEUE, conn);
  const flows = new FlowProducer(conn);
  try {
    const prev = await runs.getJob(runId);
    const state = prev ? await prev.getState() : undefined;
    if (prev && (state === 'failed' || state === 'completed')) {
      // a finished flow's ids would make the new one a no-op: results on disk are kept, so
      // the new flow computes only the shards not committed
      log(`run ${runId}: replacing its ${state} flow`);
      await prev.remove({ removeChildren: true });
    }
    const retry = { attempts: QUEUE_TIMING.attempts, backoff: { type: 'exponential', delay: QUEUE_TIMING.backoffMs } };
    await flows.add({
      name: 'merge',
      queueName: RUNS_QUEUE,
      data: { job, out, count } satisfies RunData,
      opts: { jobId: runId, ...retry },
      children: Array.from({ length: count }, (_, index) => ({
        name: `shard ${index}/${count}`,
        queueName: SHARDS_QUEUE,
        data: { job, out, shard: { index, count } } satisfies ShardData,
        opts: { jobId: shardJobId(runId, index), ...retry, failParentOnFailure: true },
      })),
    });
    return { runId, shards: count, alreadyComplete: false };
  } finally {
    await flows.close();
    await runs.close();
  }
}

export interface RunStatus {
  runId: string;
  state: string;
  out: string;
  shards: { index: number; state: string; attempts: number; worker: string | undefined; progress: ShardProgress | undefined; error: string | undefined }[];
  /** the merge's error (a failed parent) */
  error: string | undefined;
  progress: ShardProgress;
}

async function statusOf(runs: Queue, shards: Queue, runId: string): Promise<RunStatus | undefined> {
  const parent = (await runs.getJob(runId)) as Job<RunData> | undefined;
  if (!parent) return undefined;
  const count = parent.data.count;
  const list: RunStatus['shards'] = [];
  const total: ShardProgress = { symbols: 0, symbolsTotal: 0, bars: 0, barsTotal: 0 };
  for (let index = 0; index < count; index++) {
    const j = (await shards.getJob(shardJobId(runId, index))) as Job<ShardData> | undefined;
    const state = j ? await j.getState() : 'removed';
    const p = j && typeof j.progress === 'object' ? (j.progress as unknown as ShardProgress) : undefined;
    if (p) for (const k of Object.keys(total) as (keyof ShardProgress)[]) total[k] += p[k];
    list.push({ index, state, attempts: j?.attemptsMade ?? 0, worker: j?.processedBy, progress: p, error: j?.failedReason || undefined });
  }
  const state = await parent.getState();
  return { runId, state, out: parent.data.out, shards: list, error: state === 'failed' ? parent.failedReason : undefined, progress: total };
}

/** Where runs stand: one (`runId`), or every run the broker knows. */
export async function queueStatus(u: QueueUrl, runId?: string): Promise<RunStatus[]> {
  await checkBroker(u);
  const conn = { connection: connection(u) };
  const runs = new Queue(RUNS_QUEUE, conn);
  const shards = new Queue(SHARDS_QUEUE, conn);
  try {
    const ids = runId ? [runId] : (await runs.getJobs(['active', 'waiting', 'waiting-children', 'delayed', 'completed', 'failed'])).map((j) => j.id as string);
    const out: RunStatus[] = [];
    for (const id of ids) {
      const s = await statusOf(runs, shards, id);
      if (s) out.push(s);
      else if (runId) throw new AtcError('ATC_ERR_USAGE', `the broker ${u.display} has no run ${runId} (see \`atc status --queue ${u.display}\`)`);
    }
    return out;
  } finally {
    await runs.close();
    await shards.close();
  }
}

/** Follow a run until its merge is committed; a failed shard (or merge) is a coded error naming it. */
export async function watchRun(u: QueueUrl, runId: string, onProgress: (p: ShardProgress, s: RunStatus) => void, log: (m: string) => void, signal?: AbortSignal): Promise<RunStatus> {
  const conn = { connection: connection(u) };
  const runs = new Queue(RUNS_QUEUE, conn);
  const shards = new Queue(SHARDS_QUEUE, conn);
  let lost = false;
  // the queues' clients reconnect by themselves; their errors (a broker restarting) are not the run's
  runs.on('error', () => undefined);
  shards.on('error', () => undefined);
  try {
    for (;;) {
      if (signal?.aborted) throw new AtcError('ATC_ERR_ABORTED', `stopped following run ${runId}: it goes on on the workers (atc status --queue ${u.display} --run ${runId})`);
      let s: RunStatus | undefined;
      try {
        s = await statusOf(runs, shards, runId);
        if (lost) log(`the broker ${u.display} is back`);
        lost = false;
      } catch (e) {
        if (!lost) log(`lost the broker ${u.display} (${(e as Error).message}); waiting for it`);
        lost = true;
      }
      if (s) {
        onProgress(s.progress, s);
        if (s.state === 'completed') return s;
        if (s.state === 'failed') {
          const bad = s.shards.find((x) => x.state === 'failed');
          if (bad) throw new AtcError('ATC_ERR_SHARD_FAILED', `shard ${bad.index}/${s.shards.length} of run ${runId} failed after ${bad.attempts} attempt(s): ${bad.error ?? 'no reason given'}`);
          throw new AtcError('ATC_ERR_MERGE', `the merge of run ${runId} failed: ${s.error ?? 'no reason given'}`);
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await runs.close();
    await shards.close();
  }
}

const errorText = (e: unknown): Error => new Error(e instanceof AtcError ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e));

export interface WorkerOptions {
  /** kernel threads per shard (default: the job's) */
  workers?: number | undefined;
  log: (m: string) => void;
  /** stops taking shards; the current one finishes */
  signal: AbortSignal;
}

/** Take shards and merges until `signal`; resolves when the current jobs are done. */
export async function runWorker(u: QueueUrl, o: WorkerOptions): Promise<{ shards: number; merges: number }> {
  await checkBroker(u);
  const name = workerName();
  const opts = {
    connection: connection(u),
    name,
    concurrency: 1,
    lockDuration: QUEUE_TIMING.lockDuration,
    stalledInterval: QUEUE_TIMING.stalledInterval,
    maxStalledCount: QUEUE_TIMING.maxStalledCount,
  };
  const counts = { shards: 0, merges: 0 };
  const shardWorker = new Worker<ShardData>(
    SHARDS_QUEUE,
    async (job) => {
      const { shard } = job.data;
      let last = 0;
      const onProgress = (e: ProgressEvent): void => {
        if (!e.done && performance.now() - last < 1000) return;
        last = performance.now();
        void job.updateProgress({ symbols: e.symbols, symbolsTotal: e.symbolsTotal, bars: e.bars, barsTotal: e.barsTotal } satisfies ShardProgress).catch(() => undefined);
      };
      o.log(`shard ${shard.index}/${shard.count} of run ${job.parent?.id ?? '?'}: computing`);
      try {
        const r = await computeShard(job.data.job, job.data.out, shard, { log: o.log, onProgress, workers: o.workers });
        counts.shards++;
        o.log(`shard ${shard.index}/${shard.count}: ${r.committed ? 'committed' : 'already committed'} (${r.seconds.toFixed(1)} s)`);
        return { committed: r.committed, worker: name };
      } catch (e) {
        throw errorText(e);
      }
    },
    opts,
  );
  const mergeWorker = new Worker<RunData>(
    RUNS_QUEUE,
    async (job) => {
      try {
        const r = await mergeShards(job.data.out, o.log);
        counts.merges++;
        return { ...r, worker: name };
      } catch (e) {
        throw errorText(e);
      }
    },
    opts,
  );
  for (const w of [shardWorker, mergeWorker]) {
    w.on('failed', (job, err) => o.log(`${job?.name ?? 'job'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message}`));
    w.on('error', () => undefined); // connection errors: ioredis reconnects
  }
  o.log(`worker ${name} on ${hostname()} takes shards from ${u.display}`);
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.all([shardWorker.close(), mergeWorker.close()]);
  return counts;
}
