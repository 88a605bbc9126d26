// Strategy benchmark: the whole run (`atc run --outputs summary,stats`) of each strategy over the
// same bars: the ATC, Supertrend, precomputed signals (a column of the file) and the example user
// module (examples/strategies/sma-cross.js). Correctness first: each strategy's rust run equals
// its ts run on the first symbols (bit for bit, every table), then each full run is timed.
//
//   npm run bench:strategies -- [--data <bars.parquet with open,high,low,close>] [--symbols 500]
//                               [--bars 5000] [--seed 7] [--workers 2] [--runs 3]
//
// Without --data a seeded hourly dataset is generated first; a `signal` column (the sign of the
// last close change) is added to it by DuckDB.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, sqlString } from '../src/data/duckdb.js';
import { packageInfo } from '../src/util/package-root.js';
import { arg, median, runCli } from './util.js';

const work = mkdtempSync(join(tmpdir(), 'atc-bench-strategies-'));
const workers = arg('workers', '2') as string;
const runs = Number(arg('runs', '3'));
let raw = arg('data');
if (raw && !existsSync(raw)) throw new Error(`no such data: ${raw}`);
if (!raw) {
  raw = join(work, 'bars.parquet');
  const g = await runCli(['data', 'generate', '--symbols', arg('symbols', '500') as string, '--bars', arg('bars', '5000') as string, '--seed', arg('seed', '7') as string, '--to', raw, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const db = await openDb();
const data = join(work, 'with-signal.parquet');
const small = join(work, 'small.parquet');
await db.conn.run(
  `COPY (SELECT *, sign(close - lag(close) OVER (PARTITION BY symbol ORDER BY ts))::INTEGER AS signal FROM read_parquet(${sqlString(raw)}) ORDER BY symbol, ts)
   TO ${sqlString(data)} (FORMAT parquet, COMPRESSION zstd)`,
);
await db.conn.run(`COPY (SELECT * FROM read_parquet(${sqlString(data)}) WHERE symbol IN (SELECT DISTINCT symbol FROM read_parquet(${sqlString(data)}) ORDER BY symbol LIMIT 8) ORDER BY symbol, ts) TO ${sqlString(small)} (FORMAT parquet)`);

const strategies: [string, string[]][] = [
  ['atc', []],
  ['supertrend', ['--strategy', 'supertrend']],
  ['signal', ['--strategy', 'signal']],
  ['sma-cross (JS module)', ['--strategy', join(packageInfo().root, 'examples', 'strategies', 'sma-cross.js')]],
];
const common = ['--workers', workers, '--outputs', 'summary,stats', '--json', '--quiet', '--overwrite', '--no-cache'];

for (const [name, flags] of strategies) {
  const out = (e: string) => join(work, `${name.split(' ')[0]}-${e}`);
  for (const engine of ['rust', 'ts']) {
    const r = await runCli(['run', ...flags, '--data', small, '--engine', engine, '--out', out(engine), ...common]);
    if (r.code !== 0) throw new Error(`${name} (${engine}) failed: ${r.stderr}`);
  }
  for (const t of ['summary', 'stats']) {
    const [a, b] = ['rust', 'ts'].map((e) => `read_parquet(${sqlString(join(out(e), `${t}.parquet`))})`);
    const d = (await db.conn.runAndReadAll(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})) + (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a}))`)).getRows()[0]?.[0];
    if (Number(d) !== 0) throw new Error(`${name}: the rust and ts engines differ in ${t} (${String(d)} rows)`);
  }
}
console.log(`strategies bench: ${data}; ${workers} workers; summary + stats; rust == ts checked on 8 symbols`);
console.log('| strategy | bars | median s | M bars/s | kernel s (workers) | peak RSS MB |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, flags] of strategies) {
  const times: number[] = [];
  let rss = 0;
  let res = { bars: 0, kernelSeconds: 0 };
  for (let k = 0; k < runs; k++) {
    const r = await runCli(['run', ...flags, '--data', data, '--out', join(work, 'full'), ...common]);
    if (r.code !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    times.push(r.seconds);
    rss = Math.max(rss, r.peakRssMB);
    res = JSON.parse(r.stdout) as typeof res;
  }
  const t = median(times);
  console.log(`| ${name} | ${res.bars} | ${t.toFixed(2)} | ${(res.bars / t / 1e6).toFixed(2)} | ${res.kernelSeconds.toFixed(2)} | ${rss} |`);
}
db.close();
