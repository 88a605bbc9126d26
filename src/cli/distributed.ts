// `atc run --shard i/n` (one static shard, no broker) and `atc run --queue redis://...`
// (submit to BullMQ workers, follow until merged, or --detach): the flags and their handler.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sampleDataset } from '../../datasets/index.js';
import { resolveJob } from '../config/options.js';
import { loadStrategyOption } from '../strategies/registry.js';
import type { JobSpec } from '../distributed/shard-run.js';
import { DEFAULT_SHARD_BARS, parseShard } from '../distributed/shards.js';
import { UsageError } from '../errors.js';
import { progressPrinter } from '../pipeline/progress.js';
import type { Flag } from './args.js';
import { interruptible, type Io } from './io.js';
import { optionsFromArgv, progressMode } from './options.js';

export function distributedOptions(): Record<string, Flag> {
  const group = 'Distributed (see README "Distributed runs")';
  return {
    shard: { type: 'string', group, describe: 'compute shard i of n (0 <= i < n) into --out/shards, without a broker; `atc merge --out` merges them' },
    queue: { type: 'string', group, describe: 'submit the run to the workers of this Redis (redis://host:port[/db]) instead of computing it' },
    'shard-bars': { type: 'string', group, describe: `with --queue: about this many bars per shard [${DEFAULT_SHARD_BARS}]` },
    detach: { type: 'boolean', group, describe: 'with --queue: return once submitted (follow with `atc status`)' },
  };
}

/** The job of the command line with absolute paths (what a shard file or a queue carries), and its --out. */
export async function jobSpecOf(argv: Record<string, unknown>): Promise<{ job: JobSpec; out: string }> {
  // the strategy travels as its spec (plain data); a shard rebuilds it
  const { out, overwrite, strategy: _strategy, ...job } = resolveJob(await loadStrategyOption(optionsFromArgv(argv)), 'flags');
  if (overwrite) throw new UsageError('--overwrite does not combine with --shard or --queue: remove the --out directory instead');
  return { job: { ...job, data: resolve(job.data ?? sampleDataset()), cache: job.cache === undefined ? undefined : resolve(job.cache) }, out: resolve(out) };
}

const positive = (flag: string, v: unknown): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${String(v)}`);
  return n;
};

/** Handles --shard and --queue; false when the run has neither (a plain run). */
export async function runDistributed(argv: Record<string, unknown>, io: Io): Promise<boolean> {
  if (argv.shard === undefined && argv.queue === undefined) {
    if (argv['shard-bars'] !== undefined || argv.detach) throw new UsageError('--shard-bars and --detach go with --queue');
    return false;
  }
  if (argv.shard !== undefined && argv.queue !== undefined) throw new UsageError('--shard and --queue exclude each other: a queue run is sharded by the queue');
  const log = (m: string): void => io.err(`atc: ${m}\n`);
  const { job, out } = await jobSpecOf(argv);
  if (argv.shard !== undefined) {
    if (argv['shard-bars'] !== undefined || argv.detach) throw new UsageError('--shard-bars and --detach go with --queue');
    const shard = parseShard(String(argv.shard));
    const { computeShard } = await import('../distributed/shard-run.js');
    const r = await interruptible(io, (signal) => computeShard(job, out, shard, { log, signal, onProgress: progressPrinter(progressMode(argv), io.err, `atc run --shard ${shard.index}/${shard.count}`) }));
    if (!r) return true;
    if (argv.json) io.out(JSON.stringify({ out, ...r }) + '\n');
    else if (!argv.quiet) io.out(`atc run: shard ${shard.index}/${shard.count} ${r.committed ? 'committed' : 'was committed already'} in ${out}; \`atc merge --out ${out}\` when all ${shard.count} are\n`);
    return true;
  }
  // BullMQ and ioredis (~280 modules, ~0.25 s to load) only for a queue run
  const { parseQueueUrl } = await import('../distributed/broker.js');
  const { submitRun, watchRun } = await import('../distributed/queue.js');
  const u = parseQueueUrl(String(argv.queue));
  const shardBars = argv['shard-bars'] === undefined ? DEFAULT_SHARD_BARS : positive('--shard-bars', argv['shard-bars']);
  const sub = await submitRun(u, job, out, shardBars, log);
  const counts = (): unknown => (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { counts: unknown }).counts;
  if (sub.alreadyComplete) {
    if (argv.json) io.out(JSON.stringify({ out, alreadyComplete: true, counts: counts() }) + '\n');
    else if (!argv.quiet) io.out(`atc run: ${out} already holds the complete results of this run\n`);
    return true;
  }
  if (argv.detach) {
    if (argv.json) io.out(JSON.stringify({ runId: sub.runId, shards: sub.shards, out }) + '\n');
    else io.out(`atc run: submitted run ${sub.runId} (${sub.shards} shards) to ${u.display}; follow it with \`atc status --queue ${u.display} --run ${sub.runId}\`\n`);
    return true;
  }
  if (!argv.quiet) log(`submitted run ${sub.runId} (${sub.shards} shards) to ${u.display}`);
  const t0 = performance.now();
  const print = progressPrinter(progressMode(argv), io.err, `atc run ${sub.runId}`);
  const s = await interruptible(io, (signal) =>
    watchRun(
      u,
      sub.runId,
      (p, st) => {
        const seconds = (performance.now() - t0) / 1000;
        const rate = p.bars / Math.max(seconds, 1e-9);
        const done = st.state === 'completed';
        print({ ...p, barsPerSecond: Math.round(rate), etaSeconds: done ? 0 : Math.round((p.barsTotal - p.bars) / Math.max(rate, 1e-9)), seconds: +seconds.toFixed(2), done });
      },
      log,
      signal,
    ),
  );
  if (!s) return true;
  if (argv.json) io.out(JSON.stringify({ runId: sub.runId, shards: sub.shards, out, counts: counts() }) + '\n');
  else if (!argv.quiet) io.out(`atc run: run ${sub.runId} merged from ${sub.shards} shards into ${out}: ${JSON.stringify(counts())}\n`);
  return true;
}
