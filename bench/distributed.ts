// Distributed runs: the 64-set grid of pipelines/sweep-64.json over --symbols x --bars, through
// the CLI, against a redis-server started here (appendonly, noeviction) on a free port:
//   one machine   `atc run --workers 1` (the reference)
//   queue N       `atc run --queue` with N = 1, 2, 4 worker processes (`atc worker --workers 1`)
//                 in --shards shards: wall time, and efficiency = T(1) / (T(N) x min(N, cores))
//                 (this machine has 2 cores: 4 processes cannot be faster than 2)
// and the coordination cost per shard in ms: submit (a flow's child added), take + complete
// (BullMQ's round trips for a no-op job), a progress update, commit (sealing a shard: rows and
// sha256 of its parts, then the rename), merge (the merge job over the shards, per shard).
// Correctness first: every queue run's outputs equal the one-machine run's byte for byte.
// Then, on paper: how many workers one Redis feeds for 10,000 symbols x 43,800 bars x 64 sets.
//
//   npm run bench:distributed -- [--symbols 300] [--bars 2500] [--shards 8] [--runs 1] [--dir <scratch>]

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connection, parseQueueUrl } from '../src/distributed/broker.js';
import { DEFAULT_SHARD_BARS } from '../src/distributed/queue.js';
import { parquetRows, sha256File } from '../src/distributed/shard-run.js';
import { packageInfo } from '../src/util/package-root.js';
import { arg, median, runCli } from './util.js';

const symbols = Number(arg('symbols', '300'));
const bars = Number(arg('bars', '2500'));
const nShards = Number(arg('shards', '8'));
const runs = Number(arg('runs', '1'));
const dir = arg('dir', join(tmpdir(), `atc-bench-dist-${symbols}x${bars}`)) as string;
const cores = availableParallelism();
mkdirSync(dir, { recursive: true });
const data = join(dir, 'bars.parquet');
if (!existsSync(data)) {
  const g = await runCli(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--freq', '1d', '--seed', '13', '--to', data, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const totalBars = symbols * bars;
// chunks of a whole number of symbols, a few per shard (shards fall between chunks)
const chunkBars = Math.max(bars, Math.floor(totalBars / nShards / 4 / bars) * bars);
const shardBars = Math.ceil(totalBars / nShards);
const pipeline = join(packageInfo().root, 'pipelines', 'sweep-64.json');
const FLAGS = ['--data', data, '--pipeline', pipeline, '--outputs', 'summary,stats', '--no-cache', '--chunk-bars', String(chunkBars), '--workers', '1', '--quiet'];
const SETS = 64;

// --- the broker
const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const redisDir = join(dir, 'redis');
rmSync(redisDir, { recursive: true, force: true });
mkdirSync(redisDir);
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}/0`;
await new Promise((r) => setTimeout(r, 500));
const bin = join(packageInfo().root, 'dist', 'src', 'cli', 'bin.js');

function files(d: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const f of ['summary.parquet', 'stats.parquet', 'params.parquet', 'rejects.parquet']) m.set(f, readFileSync(join(d, f)));
  return m;
}

try {
  // --- one machine, then the queue with 1, 2, 4 worker processes
  const ref = join(dir, 'one');
  const oneTimes: number[] = [];
  for (let r = 0; r < runs; r++) {
    rmSync(ref, { recursive: true, force: true });
    const one = await runCli(['run', '--out', ref, ...FLAGS]);
    if (one.code !== 0) throw new Error(`one-machine run failed: ${one.stderr}`);
    oneTimes.push(one.seconds);
  }
  const refFiles = files(ref);
  const refJson = JSON.parse(readFileSync(join(ref, 'run.json'), 'utf8')) as { timings: { kernelSeconds: number } };
  const queueTimes = new Map<number, number>();
  let shardSeconds: number[] = [];
  for (const n of [1, 2, 4]) {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const out = join(dir, `q${n}`);
      rmSync(out, { recursive: true, force: true });
      const workers: ChildProcess[] = Array.from({ length: n }, () => spawn(process.execPath, [bin, 'worker', '--queue', url, '--workers', '1'], { stdio: 'ignore' }));
      await new Promise((res) => setTimeout(res, 3000)); // the workers are up (their start is not the run's)
      const q = await runCli(['run', '--out', out, ...FLAGS, '--queue', url, '--shard-bars', String(shardBars)]);
      for (const w of workers) w.kill('SIGTERM');
      if (q.code !== 0) throw new Error(`queue run (${n} workers) failed: ${q.stderr}`);
      for (const [f, b] of refFiles) if (Buffer.compare(b, readFileSync(join(out, f))) !== 0) throw new Error(`queue run (${n} workers): ${f} differs from the one-machine run`);
      times.push(q.seconds);
      if (n === 1) shardSeconds = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { timings: { shards: { seconds: number }[] } }).timings.shards.map((s) => s.seconds);
      await Promise.all(workers.map((w) => new Promise((res) => (w.exitCode !== null ? res(undefined) : w.once('exit', res)))));
    }
    queueTimes.set(n, median(times));
  }

  // --- coordination, per shard: broker round trips on no-op jobs
  const K = 200;
  const conn = { connection: connection(parseQueueUrl(url)) };
  // Redis's own CPU seconds (what bounds one Redis): INFO cpu before and after
  const probe = new Redis(connection(parseQueueUrl(url)));
  const redisCpu = async (): Promise<number> => {
    const info = await probe.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const cpu0 = await redisCpu();
  const flows = new FlowProducer(conn);
  const t0 = performance.now();
  await flows.add({ name: 'merge', queueName: 'bench-runs', opts: { jobId: 'bench' }, children: Array.from({ length: K }, (_, i) => ({ name: 's', queueName: 'bench-shards', opts: { jobId: `bench-${i}`, attempts: 3 }, data: { i } })) });
  const submitMs = (performance.now() - t0) / K;
  let done = 0;
  let progressMs = 0;
  const t1 = performance.now();
  const w = new Worker(
    'bench-shards',
    async (job) => {
      const tp = performance.now();
      await job.updateProgress({ bars: 1 });
      progressMs += performance.now() - tp;
      done++;
    },
    { ...conn, concurrency: 1 },
  );
  while (done < K) await new Promise((r) => setTimeout(r, 20));
  const takeMs = (performance.now() - t1 - progressMs) / K;
  const cpu1 = await redisCpu();
  // progress updates alone
  const progressQ = new Queue('bench-progress', conn);
  const one = await progressQ.add('p', {});
  const U = 1000;
  for (let i = 0; i < U; i++) await one.updateProgress({ bars: i });
  const cpu2 = await redisCpu();
  const redisMsPerShard = ((cpu1 - cpu0) * 1000) / K; // a shard's life: submit, take, one progress update, complete
  const redisMsPerUpdate = ((cpu2 - cpu1) * 1000) / U;
  probe.disconnect();
  await progressQ.close();
  await w.close();
  await flows.close();
  for (const name of ['bench-runs', 'bench-shards', 'bench-progress']) {
    const q = new Queue(name, conn);
    await q.obliterate({ force: true });
    await q.close();
  }

  // commit: seal a shard's parts (rows and sha256) and rename its directory, on the one-machine run's parts
  const parts = readdirSync(join(ref, 'parts'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const t2 = performance.now();
  const rows = await parquetRows(parts);
  for (const p of parts) sha256File(p);
  renameSync(join(ref, 'parts'), join(ref, 'parts-renamed'));
  const commitMs = (performance.now() - t2) / nShards;
  if (rows.size !== parts.length) throw new Error('commit: rows of every part');

  // merge: the merge job's duration (1-worker run), per shard
  const mergeOut = join(dir, 'q1');
  const mergeQ = new Queue('atc-runs', conn);
  const jobs = await mergeQ.getJobs(['completed']);
  const mergeJob = jobs.find((j) => (j.data as { out: string }).out === mergeOut);
  const mergeMs = mergeJob?.finishedOn && mergeJob.processedOn ? (mergeJob.finishedOn - mergeJob.processedOn) / nShards : NaN;
  await mergeQ.close();

  // --- the table
  const t1w = queueTimes.get(1) as number;
  console.log(`distributed: ${symbols} symbols x ${bars} bars x ${SETS} sets, ${nShards} shards (chunks of ${chunkBars} bars), ${cores} cores (load average ${loadavg()[0]?.toFixed(1)}), median of ${runs}`);
  console.log(`one machine (1 kernel thread): ${median(oneTimes).toFixed(2)} s`);
  for (const [n, t] of queueTimes) console.log(`queue, ${n} worker process(es): ${t.toFixed(2)} s, speed-up ${(t1w / t).toFixed(2)}, efficiency ${(t1w / (t * Math.min(n, cores))).toFixed(2)}`);
  console.log(`coordination per shard (ms): submit ${submitMs.toFixed(2)}, take + complete ${takeMs.toFixed(2)}, progress update ${(progressMs / K).toFixed(2)}, commit ${commitMs.toFixed(1)}, merge ${mergeMs.toFixed(1)}`);

  // --- on paper: 10,000 symbols x 43,800 bars x 64 sets
  const barSets = 10_000 * 43_800 * SETS;
  const rate = (totalBars * SETS) / refJson.timings.kernelSeconds; // bar-sets per second per kernel thread
  const shardBarsPaper = DEFAULT_SHARD_BARS;
  const shardsPaper = Math.ceil((10_000 * 43_800) / shardBarsPaper);
  const perShardOverhead = Math.max(0, median(shardSeconds) - (shardBars * SETS) / rate); // a shard's fixed costs here (process, DuckDB, index, persist)
  const shardSecondsPaper = (shardBarsPaper * SETS) / rate + perShardOverhead; // one kernel thread
  // Redis's CPU: shards/s x its CPU per shard + worker processes x one progress update per second
  const threadsPerRedis = (threadsPerWorker: number): number => Math.floor(1 / (redisMsPerShard / 1000 / shardSecondsPaper + redisMsPerUpdate / 1000 / threadsPerWorker));
  const feedable = threadsPerRedis(1);
  console.log(
    `on paper: ${barSets.toExponential(2)} bar-sets at ${(rate / 1e6).toFixed(1)} M bar-sets/s per kernel thread = ${(barSets / rate / 3600).toFixed(0)} core-hours; ` +
      `${shardsPaper} shards of ${shardBarsPaper} bars, ~${shardSecondsPaper.toFixed(0)} s each on one core; Redis spends ${redisMsPerShard.toFixed(2)} ms of CPU per shard ` +
      `and ${redisMsPerUpdate.toFixed(3)} ms per progress update (one a second per worker process): one Redis feeds ~${feedable} single-thread workers, ~${threadsPerRedis(32)} kernel threads as 32-thread workers; ` +
      `the ${shardsPaper} shards, not Redis, bound the parallelism (--shard-bars smaller for more)`,
  );
  console.log(
    JSON.stringify({
      bench: 'distributed',
      symbols,
      bars,
      sets: SETS,
      shards: nShards,
      cores,
      loadAverage: loadavg()[0],
      oneMachineSeconds: median(oneTimes),
      queueSeconds: Object.fromEntries(queueTimes),
      efficiency: Object.fromEntries([...queueTimes].map(([n, t]) => [n, +(t1w / (t * Math.min(n, cores))).toFixed(3)])),
      perShardMs: { submit: +submitMs.toFixed(3), takeComplete: +takeMs.toFixed(3), progress: +(progressMs / K).toFixed(3), commit: +commitMs.toFixed(2), merge: +mergeMs.toFixed(2) },
      redisCpuMs: { perShard: +redisMsPerShard.toFixed(3), perProgressUpdate: +redisMsPerUpdate.toFixed(4) },
      paper: { barSets, rateBarSetsPerThread: Math.round(rate), shards: shardsPaper, shardSeconds: +shardSecondsPaper.toFixed(1), singleThreadWorkersPerRedis: feedable, threadsPerRedisAs32ThreadWorkers: threadsPerRedis(32) },
    }),
  );
} finally {
  redis.kill('SIGTERM');
}
