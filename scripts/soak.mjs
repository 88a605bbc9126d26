#!/usr/bin/env node
// Soak (not in CI): one `atc run` sweep over a grid too large to finish, left running for
// --minutes (default 60), its resident memory and open file descriptors sampled every
// --every seconds (default 10) from /proc and written as CSV; then SIGINT, which must stop it
// cleanly (exit 130). Verdict: RSS and descriptors flat after the warm-up (the first fifth, at
// least a minute): the median RSS of the last third within 10% (and 64 MB) of the median of
// the first third after warm-up, the descriptor count within 4 of it.
//
//   node scripts/soak.mjs [--minutes 60] [--every 10] [--csv soak.csv] [--symbols 50] [--bars 1000] [--workers 2]

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSampled, sample } from './proc-sample.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');
const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    every: { type: 'string', default: '10' },
    csv: { type: 'string', default: 'soak.csv' },
    symbols: { type: 'string', default: '50' },
    bars: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
  },
});
const minutes = Number(opt.minutes);
const dir = mkdtempSync(join(tmpdir(), 'atc-soak-'));
const env = { ...process.env, ATC_CACHE_DIR: 'off' };
const data = join(dir, 'bars.parquet');
const gen = await runSampled([bin, 'data', 'generate', '--symbols', opt.symbols, '--bars', opt.bars, '--seed', '9', '--to', data, '--quiet'], { env });
if (gen.code !== 0) throw new Error(gen.stderr);

const out = join(dir, 'out');
// 200,000 parameter sets: 3,125 passes over the data (about 100 minutes here; a run that ends first
// is reported). Small data: many passes, each over a chunk x 64 sets of kernel memory.
const args = ['run', '--data', data, '--out', out, '--lambda', '0.001:1:0.001', '--decay', '0.005:1:0.005', '--workers', opt.workers, '--outputs', 'summary,stats,trades', '--no-cache', '--quiet'];
const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
const commits = () => (existsSync(join(out, 'manifest.jsonl')) ? readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0);

const rows = [];
const t0 = Date.now();
const end = t0 + minutes * 60_000;
let gone = false;
void exited.then(() => (gone = true));
while (Date.now() < end && !gone) {
  await new Promise((r) => setTimeout(r, Number(opt.every) * 1000));
  const s = sample(child.pid);
  if (!s) break;
  const row = { t_s: Math.round((Date.now() - t0) / 1000), rss_mb: +(s.rssKb / 1024).toFixed(1), peak_mb: +(s.peakKb / 1024).toFixed(1), fds: s.fds, commits: commits() };
  rows.push(row);
  console.log(Object.values(row).join(','));
}
const earlyExit = gone;
child.kill('SIGINT');
const code = await exited;
writeFileSync(opt.csv, ['t_s,rss_mb,peak_mb,fds,commits', ...rows.map((r) => Object.values(r).join(','))].join('\n') + '\n');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : ((s[(s.length - 1) >> 1] ?? 0) + (s[s.length >> 1] ?? 0)) / 2;
};
const warm = Math.max(60, (minutes * 60) / 5);
const after = rows.filter((r) => r.t_s >= warm);
const third = Math.max(1, Math.floor(after.length / 3));
const [first, last] = [after.slice(0, third), after.slice(-third)];
const [rss0, rss1] = [median(first.map((r) => r.rss_mb)), median(last.map((r) => r.rss_mb))];
const [fd0, fd1] = [median(first.map((r) => r.fds)), median(last.map((r) => r.fds))];
const rssFlat = rss1 - rss0 <= Math.min(64, 0.1 * rss0);
const fdFlat = Math.abs(fd1 - fd0) <= 4;
console.log(
  `soak: ${rows.length} samples over ${(rows.at(-1)?.t_s ?? 0) / 60} min, ${rows.at(-1)?.commits ?? 0} commits; after ${warm} s warm-up RSS median ${rss0} -> ${rss1} MB ` +
    `(min ${Math.min(...after.map((r) => r.rss_mb))}, max ${Math.max(...after.map((r) => r.rss_mb))}, peak ${Math.max(...rows.map((r) => r.peak_mb))}), ` +
    `fds ${fd0} -> ${fd1} (min ${Math.min(...after.map((r) => r.fds))}, max ${Math.max(...after.map((r) => r.fds))}); SIGINT exit ${code}; ` +
    `verdict: ${after.length >= 3 && rssFlat && fdFlat && !earlyExit && code === 130 ? 'FLAT' : 'NOT FLAT (or failed)'}; CSV ${opt.csv}`,
);
if (earlyExit || code !== 130) console.log(`the run ended early or not cleanly (exit ${code}):\n${stderr.slice(-2000)}`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = after.length >= 3 && rssFlat && fdFlat && !earlyExit && code === 130 ? 0 : 1;
