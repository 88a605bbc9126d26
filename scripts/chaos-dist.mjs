#!/usr/bin/env node
// Chaos run of the distributed mode (longer than the test suite's): a redis-server on a free
// port, --workers worker processes, --rounds queued runs of the embedded sample in many small
// shards while a monkey SIGKILLs random workers (and starts new ones) and restarts Redis.
// Every merged run must equal the one-machine run, byte for byte (run.json aside); exit 1 otherwise.
//
//   npm run build:ts && npm run chaos:distributed -- [--rounds 5] [--workers 3] [--seconds-between-kills 8]
//
// A shard whose worker is killed more than 3 times (maxStalledCount) fails its run by design:
// kill more often than shards take (a loaded machine: seconds each) and rounds fail that way.

import { execFileSync, spawn } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', '5'));
const nWorkers = Number(arg('workers', '3'));
const killEvery = Number(arg('seconds-between-kills', '8')) * 1000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'atc-chaos-'));
const env = { ...process.env, ATC_QUEUE_LOCK_MS: '5000' };
const FLAGS = ['--no-cache', '--chunk-bars', '1500', '--outputs', 'summary,signals,stats,trades,portfolio', '--workers', '1', '--quiet'];

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const url = `redis://127.0.0.1:${port}/0`;
let redis;
const startRedis = async () => {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
};
const stopRedis = () => new Promise((r) => (redis.exitCode !== null ? r() : (redis.once('exit', r), redis.kill('SIGTERM'))));

function outputs(d) {
  const m = new Map();
  const walk = (x) => {
    for (const e of readdirSync(x, { withFileTypes: true })) {
      const p = join(x, e.name);
      const rel = relative(d, p);
      if (e.isDirectory()) walk(p);
      else if (rel !== 'manifest.jsonl' && rel !== 'run.json' && !rel.startsWith('parts/portfolio/')) m.set(rel, readFileSync(p));
    }
  };
  walk(d);
  return m;
}

const cli = (args) =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => resolve({ code, err }));
  });

await startRedis();
const ref = join(dir, 'one');
execFileSync(process.execPath, [bin, 'run', '--out', ref, ...FLAGS], { env });
const want = outputs(ref);
let workers = [];
const spawnWorker = () => workers.push(spawn(process.execPath, [bin, 'worker', '--queue', url], { env, stdio: 'ignore' }));
for (let i = 0; i < nWorkers; i++) spawnWorker();
let kills = 0;
let restarts = 0;
let failures = 0;
const monkey = setInterval(async () => {
  if (Math.random() < 0.2) {
    restarts++;
    await stopRedis();
    await startRedis();
    return;
  }
  const w = workers.splice(Math.floor(Math.random() * workers.length), 1)[0];
  w?.kill('SIGKILL');
  kills++;
  spawnWorker();
}, killEvery);
try {
  for (let r = 0; r < rounds; r++) {
    const out = join(dir, `round-${r}`);
    const t0 = performance.now();
    const res = await cli(['run', '--out', out, ...FLAGS, '--queue', url, '--shard-bars', String(5000 + 2000 * r)]);
    const same = res.code === 0 && [...want].every(([f, b]) => {
      try {
        return Buffer.compare(b, readFileSync(join(out, f))) === 0;
      } catch {
        return false;
      }
    }) && outputs(out).size === want.size;
    if (!same) failures++;
    console.log(`round ${r}: ${same ? 'identical' : `DIFFERENT (exit ${res.code}): ${res.err.slice(-400)}`} in ${((performance.now() - t0) / 1000).toFixed(1)} s (so far ${kills} workers killed, ${restarts} Redis restarts)`);
  }
} finally {
  clearInterval(monkey);
  for (const w of workers) w.kill('SIGKILL');
  await stopRedis();
  if (failures === 0) rmSync(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? `chaos: ${rounds} rounds identical to the one-machine run` : `chaos: ${failures} of ${rounds} rounds failed (kept ${dir})`);
process.exit(failures === 0 ? 0 : 1);
