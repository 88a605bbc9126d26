// Sweep benchmark: the 64-set grid of pipelines/sweep-64.json (4 lambdas x 4 decays x 4
// cutouts) over 1,000 symbols x 5,000 bars, as one shared-work sweep (`atc run --pipeline`)
// against the 64 runs of one set each, back to back, through the CLI as users run them.
// Outputs: summary and stats for both. Peak RSS of the sweep. Nothing is reported unless every
// one of the 64 single runs gives exactly (bit for bit) the sweep's rows for its set.
//
//   npm run bench:sweep -- [--data <bars.parquet>] [--symbols 1000] [--bars 5000] [--seed 7]
//                          [--workers 2] [--runs 3]
//
// Without --data a seeded daily dataset is generated in a temp directory first.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveJob } from '../src/config/options.js';
import { openDb, sqlString } from '../src/data/duckdb.js';
import { packageInfo } from '../src/util/package-root.js';
import { arg, median, runCli } from './util.js';

const work = mkdtempSync(join(tmpdir(), 'atc-bench-sweep-'));
const symbols = Number(arg('symbols', '1000'));
const bars = Number(arg('bars', '5000'));
const workers = arg('workers', '2') as string;
const runs = Number(arg('runs', '3'));
const pipeline = join(packageInfo().root, 'pipelines', 'sweep-64.json');
let data = arg('data');
if (data && !existsSync(data)) throw new Error(`no such data: ${data}`);
if (!data) {
  data = join(work, 'bars.parquet');
  const g = await runCli(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--freq', '1d', '--seed', arg('seed', '7') as string, '--to', data, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const sets = resolveJob({ pipeline }, 'flags').sets;
const common = ['--data', data, '--workers', workers, '--outputs', 'summary,stats', '--json', '--quiet', '--overwrite', '--no-cache'];
console.log(`sweep bench: ${data}; ${sets.length} parameter sets (${pipeline}); ${workers} workers; summary + stats`);

interface Res {
  seconds: number;
  kernelSeconds: number;
  bars: number;
  symbols: number;
}

// The sweep, `runs` times (median reported).
const sweepDir = join(work, 'sweep');
const sweepTimes: number[] = [];
let sweepRss = 0;
let sweepRes: Res | undefined;
for (let r = 0; r < runs; r++) {
  const s = await runCli(['run', '--pipeline', pipeline, '--out', sweepDir, ...common]);
  if (s.code !== 0) throw new Error(`sweep failed: ${s.stderr}`);
  sweepTimes.push(s.seconds);
  sweepRss = Math.max(sweepRss, s.peakRssMB);
  sweepRes = JSON.parse(s.stdout) as Res;
}

// The same 64 sets, one run each, back to back.
const single = join(work, 'single');
let independent = 0;
let independentKernel = 0;
let singleRss = 0;
const db = await openDb();
let mismatches = 0;
for (const s of sets) {
  const p = s.params;
  const flags = [
    '--profile', p.profile, '--lambda', String(p.lambda), '--decay', String(p.decay), '--cutout', String(p.cutout),
    '--lengths', p.lengths.join(','), '--weights', p.weights.join(','), '--long-threshold', String(p.longThreshold),
    '--short-threshold', String(p.shortThreshold), '--mode', s.trade.mode, '--fee-bps', String(s.trade.feeBps), '--slippage-bps', String(s.trade.slippageBps),
  ];
  const r = await runCli(['run', ...flags, '--out', single, ...common]);
  if (r.code !== 0) throw new Error(`single run failed: ${r.stderr}`);
  independent += r.seconds;
  independentKernel += (JSON.parse(r.stdout) as Res).kernelSeconds;
  singleRss = Math.max(singleRss, r.peakRssMB);
  // Correctness: this set's rows of the sweep, bit for bit.
  for (const t of ['stats', 'summary']) {
    const mine = `(SELECT * FROM read_parquet(${sqlString(join(sweepDir, `${t}.parquet`))}) WHERE param_id = ${sqlString(s.id)})`;
    const alone = `read_parquet(${sqlString(join(single, `${t}.parquet`))})`;
    const d = (await db.conn.runAndReadAll(`SELECT (SELECT count(*) FROM (SELECT * FROM ${mine} EXCEPT ALL SELECT * FROM ${alone})) + (SELECT count(*) FROM (SELECT * FROM ${alone} EXCEPT ALL SELECT * FROM ${mine}))`)).getRows()[0]?.[0];
    if (Number(d) !== 0) mismatches++;
  }
}
db.close();
rmSync(work, { recursive: true, force: true });
if (mismatches > 0) throw new Error(`correctness check failed: ${mismatches} tables differ between the sweep and the single runs`);

const sweep = median(sweepTimes);
const barSets = (sweepRes as Res).bars * sets.length;
const result = {
  bench: 'sweep',
  symbols: sweepRes?.symbols,
  bars: sweepRes?.bars,
  sets: sets.length,
  workers: Number(workers),
  sweep: { medianSeconds: +sweep.toFixed(2), runs: sweepTimes.map((t) => +t.toFixed(2)), barSetsPerSecond: Math.round(barSets / sweep), peakRssMB: sweepRss, kernelSecondsInWorkers: +(sweepRes as Res).kernelSeconds.toFixed(2) },
  independent: { seconds: +independent.toFixed(2), barSetsPerSecond: Math.round(barSets / independent), peakRssMB: singleRss, kernelSecondsInWorkers: +independentKernel.toFixed(2) },
  ratios: {
    independentOverSweep: +(independent / sweep).toFixed(2),
    kernelIndependentOverSweep: +(independentKernel / (sweepRes as Res).kernelSeconds).toFixed(2),
  },
};
console.log(`
correctness: all ${sets.length} single runs equal the sweep's rows for their set (stats and summary, bit for bit)

                    seconds   M bar-sets/s   peak RSS MB   kernel s (workers)
sweep (shared)   ${String(result.sweep.medianSeconds).padStart(10)}   ${(result.sweep.barSetsPerSecond / 1e6).toFixed(2).padStart(12)}   ${String(sweepRss).padStart(11)}   ${String(result.sweep.kernelSecondsInWorkers).padStart(18)}
64 single runs   ${String(result.independent.seconds).padStart(10)}   ${(result.independent.barSetsPerSecond / 1e6).toFixed(2).padStart(12)}   ${String(singleRss).padStart(11)}   ${String(result.independent.kernelSecondsInWorkers).padStart(18)}

independent / sweep: ${result.ratios.independentOverSweep}x wall time, ${result.ratios.kernelIndependentOverSweep}x kernel time`);
console.log(JSON.stringify(result));
