// Fixed costs users feel on every call, through the CLI:
//   version   `atc --version` against `node -e 0` (the floor: Node's own start), interleaved
//   generate  `atc data generate --symbols S --bars B` into a scratch file, rows/s
//   cached    with --data: a cold run that fills an empty cache, then cached reruns into fresh
//             --out directories (`--outputs summary,stats`): wall against the job's own seconds
// Correctness first: every generated file has the same bytes as the first one, and every cached
// rerun's tables equal the cold run's byte for byte. Medians of --runs runs (ratios from one
// session). `--bin <path to another checkout's dist/src/cli/bin.js>` times that build instead.
//
//   npm run bench:fixed -- [--runs 7] [--symbols 200] [--bars 10000] [--data <file> [--workers 2]]

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageInfo } from '../src/util/package-root.js';
import { arg, median } from './util.js';

const runs = Number(arg('runs', '7'));
const symbols = Number(arg('symbols', '200'));
const bars = Number(arg('bars', '10000'));
const data = arg('data');
const workers = arg('workers', '2') as string;
const bin = arg('bin', join(packageInfo().root, 'dist', 'src', 'cli', 'bin.js')) as string;
const scratch = mkdtempSync(join(tmpdir(), 'atc-bench-fixed-'));

function exec(args: string[]): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => (code === 0 ? resolve({ seconds: (performance.now() - t0) / 1000, stdout }) : reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const m = (xs: number[]): number => +median(xs).toFixed(3);

const t = { node: [] as number[], version: [] as number[], generate: [] as number[], generateOwn: [] as number[] };
const version = JSON.parse(readFileSync(join(bin, '..', '..', '..', '..', 'package.json'), 'utf8')).version as string;
for (let r = 0; r < runs; r++) {
  t.node.push((await exec(['-e', '0'])).seconds);
  const v = await exec([bin, '--version']);
  if (v.stdout.trim() !== version) throw new Error(`--version printed ${JSON.stringify(v.stdout)}, expected ${version}`);
  t.version.push(v.seconds);
}
let firstSha = '';
for (let r = 0; r < Math.min(runs, 3); r++) {
  const f = join(scratch, `gen-${r}.parquet`);
  const g = await exec([bin, 'data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--seed', '42', '--to', f, '--quiet']);
  const h = sha(f);
  if (r === 0) firstSha = h;
  else if (h !== firstSha) throw new Error(`correctness check failed: generate wrote different bytes in run ${r}`);
  rmSync(f);
  t.generate.push(g.seconds);
  // the command's own time (printed to 0.1 s), without Node's start and module loading
  t.generateOwn.push(Number(/ in ([\d.]+) s /.exec(g.stdout)?.[1] ?? NaN));
}

let cached: { cold: number; coldJob: number; wall: number; job: number } | undefined;
if (data) {
  const cache = join(scratch, 'cache');
  const run = async (out: string) => {
    const r = await exec([bin, 'run', '--data', data, '--out', out, '--cache', cache, '--workers', workers, '--outputs', 'summary,stats', '--json', '--quiet']);
    return { wall: r.seconds, res: JSON.parse(r.stdout) as { seconds: number; symbols: number; cache?: { hits: number } } };
  };
  const cold = await run(join(scratch, 'cold'));
  const walls: number[] = [];
  const jobs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const out = join(scratch, `hit-${r}`);
    const h = await run(out);
    if (h.res.cache?.hits !== h.res.symbols) throw new Error(`cached rerun: expected every symbol a hit, got ${JSON.stringify(h.res.cache)}`);
    for (const tb of ['summary', 'stats']) {
      if (!readFileSync(join(out, `${tb}.parquet`)).equals(readFileSync(join(scratch, 'cold', `${tb}.parquet`)))) throw new Error(`correctness check failed: ${tb} differs from the cold run's`);
    }
    rmSync(out, { recursive: true });
    walls.push(h.wall);
    jobs.push(h.res.seconds);
  }
  cached = { cold: +cold.wall.toFixed(3), coldJob: +cold.res.seconds.toFixed(3), wall: m(walls), job: m(jobs) };
}
rmSync(scratch, { recursive: true, force: true });

const result = {
  bench: 'fixed',
  bin,
  runs,
  nodeStartSeconds: m(t.node),
  versionSeconds: m(t.version),
  generate: { symbols, bars, seconds: m(t.generate), rowsPerSecond: Math.round((symbols * bars) / median(t.generate)), ownSeconds: m(t.generateOwn), ownRowsPerSecond: Math.round((symbols * bars) / median(t.generateOwn)) },
  ...(cached ? { cached: { data, ...cached, coldOverCached: +(cached.cold / cached.wall).toFixed(1) } } : {}),
};
const row = (a: string, b: string, c: string) => console.log(`${a.padEnd(34)}${b.padStart(12)}  ${c}`);
row('what', 'median s', '');
row('node -e 0 (floor)', result.nodeStartSeconds.toFixed(3), '');
row('atc --version', result.versionSeconds.toFixed(3), '');
row(`atc data generate ${symbols} x ${bars}`, result.generate.seconds.toFixed(3), `${(result.generate.rowsPerSecond / 1e6).toFixed(2)} M rows/s wall; ${(result.generate.ownRowsPerSecond / 1e6).toFixed(2)} M rows/s as it reports (${result.generate.ownSeconds} s)`);
if (cached) {
  row('cold run (fills the cache)', cached.cold.toFixed(3), `job ${cached.coldJob.toFixed(3)} s`);
  row('cached rerun', cached.wall.toFixed(3), `job ${cached.job.toFixed(3)} s; cold / cached ${result.cached?.coldOverCached}x`);
}
console.log(JSON.stringify(result));
