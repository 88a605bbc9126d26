// Distributed runs against a real redis-server (started here on a free loopback port): static
// shards merged, BullMQ workers (one SIGKILLed mid-shard), Redis restarted mid-run, a
// resubmitted run, a shard that fails every attempt. Every merged run must hold the same bytes
// as the one-machine run.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import { atc, BIN, parquetFrom, tempDir } from '../helpers/cli.js';
import { RedisServer, redisServerPath } from '../helpers/redis.js';

const bin = redisServerPath();
if (!bin) console.warn('distributed tests skipped: no redis-server on PATH (.ci/run installs Debian\'s redis-server)');

// small chunks, so that the 29 symbols of the sample make several chunks (shards fall between chunks)
const FLAGS = ['--no-cache', '--chunk-bars', '2000', '--outputs', 'summary,signals,stats,trades,portfolio', '--workers', '1', '--quiet'];
const SHARD_BARS = 12000;
const ENV = { ATC_QUEUE_LOCK_MS: '3000' };

/** Every file of a run directory but its bookkeeping (manifest, portfolio partial sums, run.json), with its bytes. */
function outputs(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory()) walk(p);
      else if (rel !== 'manifest.jsonl' && rel !== 'run.json' && !rel.startsWith('parts/portfolio/')) files.set(rel, readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

/** run.json without what may differ: timings, worker names, the end time, commit operations (portfolio checkpoints are timed). */
function runJson(dir: string): Record<string, unknown> {
  const j = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown> & { counts: Record<string, unknown> };
  const { timings: _t, finished: _f, ...rest } = j;
  const { commits: _c, ...counts } = j.counts;
  return { ...rest, counts };
}

function expectSameRun(dir: string, ref: string): void {
  const a = outputs(ref);
  const b = outputs(dir);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [f, bytes] of a) expect(Buffer.compare(b.get(f) as Buffer, bytes), f).toBe(0);
  expect(runJson(dir)).toEqual(runJson(ref));
  // every symbol committed once
  const symbols = readFileSync(join(dir, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).flatMap((l) => (JSON.parse(l) as { symbols: string[] }).symbols);
  expect(symbols.length).toBe(new Set(symbols).size);
  expect(symbols.length).toBe((runJson(ref).counts as { symbols: number }).symbols);
  expect(existsSync(join(dir, 'shards'))).toBe(false);
}

const shardTimings = (dir: string): { shard: number; worker: string }[] =>
  (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { timings: { shards: { shard: number; worker: string }[] } }).timings.shards;

class AtcWorker {
  readonly proc: ChildProcess;
  log = '';
  constructor(url: string) {
    this.proc = spawn(process.execPath, [BIN, 'worker', '--queue', url], { env: { ...process.env, ...ENV } });
    this.proc.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
  }
  get name(): string {
    return /worker (\S+) on/.exec(this.log)?.[1] ?? '?';
  }
}

describe.skipIf(!bin)('distributed runs', () => {
  const root = tempDir('atc-dist-');
  const ref = join(root, 'one');
  let redis: RedisServer;
  let workers: AtcWorker[] = [];
  let nShards = 0;

  beforeAll(async () => {
    redis = await RedisServer.start(bin as string, root);
    const r = await atc(['run', '--out', ref, ...FLAGS]);
    expect(r.code, r.stderr).toBe(0);
    nShards = Math.ceil((runJson(ref).counts as { bars: number }).bars / SHARD_BARS);
    expect(nShards).toBeGreaterThan(2);
  });

  afterAll(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    await redis?.stop();
  });

  it('static shards, computed in any order, merge into the one-machine run; merge checks before it writes', async () => {
    const out = join(root, 'static');
    const rs = await Promise.all(['2/3', '0/3'].map((s) => atc(['run', '--out', out, ...FLAGS, '--shard', s])));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    const missing = await atc(['merge', '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ATC_ERR_MERGE: .*shard 1 of 3 not committed/);
    expect(existsSync(join(out, 'summary.parquet'))).toBe(false);

    expect((await atc(['run', '--out', out, ...FLAGS, '--shard', '1/3'])).code).toBe(0);
    // a part changed after its shard was sealed: refused, nothing written
    const shard1 = join(out, 'shards', '00001-of-00003');
    const part = join(shard1, 'parts', 'summary', readdirSync(join(shard1, 'parts', 'summary'))[0] as string);
    const bytes = readFileSync(part);
    const bad = Buffer.from(bytes);
    bad.writeUInt8((bad.readUInt8(bad.length >> 1) ^ 0xff) & 0xff, bad.length >> 1);
    writeFileSync(part, bad);
    const corrupt = await atc(['merge', '--out', out]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/ATC_ERR_MERGE: .*00001-of-00003/);
    expect(existsSync(join(out, 'summary.parquet'))).toBe(false);
    writeFileSync(part, bytes);

    const m = await atc(['merge', '--out', out]);
    expect(m.code, m.stderr).toBe(0);
    expectSameRun(out, ref);
  });

  it('three workers, one SIGKILLed in the middle of a shard: another takes it, the run is the one-machine run', async () => {
    workers = [0, 1, 2].map(() => new AtcWorker(redis.url));
    const out = join(root, 'queue');
    let killed: { worker: string; shard: string } | undefined;
    const watch = setInterval(() => {
      for (const w of workers) {
        const m = /shard (\d+)\/\d+ of run \S+: computing/.exec(w.log);
        if (m && !killed) {
          killed = { worker: w.name, shard: m[1] as string };
          w.proc.kill('SIGKILL');
        }
      }
    }, 5);
    const r = await atc(['run', '--out', out, ...FLAGS, '--queue', redis.url, '--shard-bars', String(SHARD_BARS)]);
    clearInterval(watch);
    expect(r.code, r.stderr).toBe(0);
    expect(killed).toBeDefined();
    expectSameRun(out, ref);
    const timings = shardTimings(out);
    expect(timings.map((t) => t.shard)).toEqual(Array.from({ length: nShards }, (_, i) => i));
    // the killed worker's shard was committed by another worker
    expect(timings[Number(killed?.shard)]?.worker).not.toBe(killed?.worker);
    workers = workers.filter((w) => w.name !== killed?.worker);

    // resubmitted when finished: nothing to compute
    const again = await atc(['run', '--out', out, ...FLAGS, '--queue', redis.url, '--shard-bars', String(SHARD_BARS), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyComplete: true });
  });

  it('a half-finished run resubmitted computes only what is missing, across a Redis restart', async () => {
    const out = join(root, 'resumed');
    // shard 0 committed before (by a static run): the queue's workers must not compute it again
    expect((await atc(['run', '--out', out, ...FLAGS, '--shard', `0/${nShards}`])).code).toBe(0);
    const args = ['run', '--out', out, ...FLAGS, '--queue', redis.url, '--shard-bars', String(SHARD_BARS)];
    const sub = await atc([...args, '--detach', '--json']);
    expect(sub.code, sub.stderr).toBe(0);
    const { runId } = JSON.parse(sub.stdout) as { runId: string };
    const st = await atc(['status', '--queue', redis.url, '--run', runId, '--json']);
    expect(st.code, st.stderr).toBe(0);
    const [status] = JSON.parse(st.stdout) as { runId: string; out: string; shards: unknown[] }[];
    expect(status).toMatchObject({ runId, out });
    expect(status?.shards).toHaveLength(nShards);
    await redis.restart();
    const r = await atc(args);
    expect(r.code, r.stderr).toBe(0);
    expectSameRun(out, ref);
    const names = new Set(workers.map((w) => w.name));
    expect(names.has(shardTimings(out)[0]?.worker as string)).toBe(false);
  });

  it('a shard that fails every attempt fails the run with its error, and nothing is merged', async () => {
    const data = await parquetFrom(
      join(root, 'bad.parquet'),
      `SELECT symbol, ts, CASE WHEN symbol = (SELECT max(symbol) FROM '${sampleDataset()}') AND ts = (SELECT max(ts) FROM '${sampleDataset()}') THEN -1 ELSE close END AS close FROM '${sampleDataset()}' ORDER BY symbol, ts`,
    );
    const out = join(root, 'failing');
    // two shards: the bad row is in the last symbol, so in shard 1
    const r = await atc(['run', '--data', data, '--out', out, ...FLAGS, '--queue', redis.url, '--shard-bars', String(SHARD_BARS * 2 + 1000)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ATC_ERR_SHARD_FAILED: shard 1\/2 .* failed after 3 attempt\(s\): ATC_ERR_BAD_CLOSE/);
    expect(existsSync(join(out, 'summary.parquet'))).toBe(false);
    expect(existsSync(join(out, 'run.json'))).toBe(false);
  });
});
