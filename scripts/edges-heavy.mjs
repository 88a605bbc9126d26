#!/usr/bin/env node
// The slow checks of reliability at the edges (not in `npm test`): `npm run test:edges-heavy`.
//
//   shapes  1,000,000 symbols x 10 bars, next to 10,000 x 1,000 (the same bars; peak RSS: the
//           larger universe may add its dictionary and index, ~1 KB a symbol); one symbol of
//           50,000,000 bars (time blocks) at two chunk sizes: bounded peak RSS, same bits.
//   fuzz    thousands of damaged Parquet and CSV files (test/e2e/fuzz.test.ts, more cases).
//
// Options: --only shapes|many|long|fuzz, --symbols 1000000, --long-bars 50000000, --fuzz-cases 3000,
// --seed 15, --dir <scratch dir> (default a temporary one, removed; several GB for the long
// symbol; a kept --dir keeps the generated data for the next time).
// Prints one line per check and exits 1 if any failed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSampled } from './proc-sample.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');
const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    symbols: { type: 'string', default: '1000000' },
    'long-bars': { type: 'string', default: '50000000' },
    'fuzz-cases': { type: 'string', default: '3000' },
    seed: { type: 'string', default: '15' },
    dir: { type: 'string' },
  },
});
const dir = opt.dir ?? mkdtempSync(join(tmpdir(), 'atc-edges-heavy-'));
const env = { ...process.env, ATC_CACHE_DIR: 'off' };
let failed = 0;
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

function check(ok, line) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
  if (!ok) failed++;
}

async function atc(args) {
  const r = await runSampled([bin, ...args], { env });
  if (r.code !== 0) throw new Error(`atc ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r;
}

/** Rows of a table in one run and not the other, both ways (DuckDB, through `atc sql`). */
function differing(a, b, table) {
  const sql = `SELECT (SELECT count(*) FROM (FROM '${a}/${table}.parquet' EXCEPT ALL FROM '${b}/${table}.parquet')) + (SELECT count(*) FROM (FROM '${b}/${table}.parquet' EXCEPT ALL FROM '${a}/${table}.parquet')) AS n`;
  const r = spawnSync(process.execPath, [bin, 'sql', '--out', a, '--format', 'csv', sql], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim().split('\n').pop());
}

async function manySymbols() {
  const n = Number(opt.symbols);
  // a short MA so that 10 bars are enough
  const params = ['--lengths', '6', '--robustness', 'Narrow', '--no-cache', '--quiet', '--json'];
  // the baseline: 10,000 symbols and the same bars in all (the slots are as full: memory for
  // bars is the same, the difference is what each symbol costs)
  const shapes = [
    { symbols: 10_000, bars: (10 * n) / 10_000 },
    { symbols: n, bars: 10 },
  ];
  const peaks = [];
  for (const { symbols, bars } of shapes) {
    const data = join(dir, `u${symbols}x${bars}.parquet`);
    if (!existsSync(data)) await atc(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--seed', '1', '--to', data, '--quiet']);
    const r = await atc(['run', '--data', data, '--out', join(dir, `u${symbols}x${bars}-out`), '--overwrite', ...params]);
    const report = JSON.parse(r.stdout);
    peaks.push(r.peakKb);
    check(report.symbols === symbols, `${symbols.toLocaleString('en')} symbols x ${bars} bars: ${report.symbols} symbols with results in ${r.seconds.toFixed(0)} s, peak RSS ${mb(r.peakKb)}`);
  }
  // the dictionary (names as JS strings and a DuckDB ENUM), the index (rows, done flags) and
  // the manifest's symbol lists, per symbol
  const perSymbolBytes = 1024;
  const bound = peaks[0] + ((n - 10_000) * perSymbolBytes) / 1024;
  check(peaks[1] <= bound, `peak RSS ${mb(peaks[1])} for ${n.toLocaleString('en')} symbols vs ${mb(peaks[0])} for 10,000 (same bars); bound ${mb(bound)} (${perSymbolBytes} B per extra symbol); ${(((peaks[1] - peaks[0]) * 1024) / (n - 10_000)).toFixed(0)} B per extra symbol measured`);
}

async function longSymbol() {
  const bars = Number(opt['long-bars']);
  const data = join(dir, `long-${bars}.parquet`);
  if (!existsSync(data)) await atc(['data', 'generate', '--symbols', '1', '--bars', String(bars), '--seed', '2', '--freq', '1m', '--to', data, '--quiet']);
  const outs = [];
  for (const chunk of [524_288, 131_072]) {
    const out = join(dir, `long-${chunk}`);
    const r = await atc(['run', '--data', data, '--out', out, '--overwrite', '--chunk-bars', String(chunk), '--workers', '2', '--outputs', 'summary,stats,trades', '--no-cache', '--quiet', '--json']);
    const report = JSON.parse(r.stdout);
    check(report.bars === bars, `one symbol of ${bars.toLocaleString('en')} bars, --chunk-bars ${chunk}: ${report.bars} bars in ${r.seconds.toFixed(0)} s, peak RSS ${mb(r.peakKb)}`);
    outs.push({ out, peakKb: r.peakKb });
  }
  for (const t of ['summary', 'stats', 'trades']) {
    const d = differing(outs[0].out, outs[1].out, t);
    check(d === 0, `long symbol: ${t} identical at both chunk sizes (${d} rows differ)`);
  }
  // memory is the slots (workers + 2 chunks) and DuckDB's limit, not the length of the symbol
  check(outs.every((o) => o.peakKb < 2 * 1024 * 1024), `long symbol: peak RSS below 2 GB at both chunk sizes`);
}

function fuzz() {
  const cases = opt['fuzz-cases'];
  const r = spawnSync('npx', ['vitest', 'run', 'test/e2e/fuzz.test.ts'], { cwd: root, env: { ...env, ATC_FUZZ_CASES: cases, ATC_FUZZ_SEED: opt.seed }, encoding: 'utf8' });
  const line = /fuzz: .*/.exec(r.stdout)?.[0] ?? '(no tally)';
  check(r.status === 0, `fuzz, ${cases} damaged files, seed ${opt.seed}: ${line}`);
  if (r.status !== 0) console.log(r.stdout.slice(-4000), r.stderr.slice(-2000));
}

try {
  if (!opt.only || opt.only === 'shapes' || opt.only === 'many') await manySymbols();
  if (!opt.only || opt.only === 'shapes' || opt.only === 'long') await longSymbol();
  if (!opt.only || opt.only === 'fuzz') fuzz();
} finally {
  if (!opt.dir) rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed > 0 ? 1 : 0;
