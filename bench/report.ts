// Report benchmark: `atc report` over the 64-set sweep of pipelines/sweep-64.json on 10,000
// symbols x 5,000 daily bars (no signals: the drawn symbols' series are recomputed). Measures
// the time to build the report (CLI, wall), its size, and the time until the page is
// interactive in headless Chromium (navigation start to every chart drawn). Goals: < 10 s,
// < 15 MB, < 3 s. Also the build's CPU time in process (all threads), which depends less on
// what else the machine runs than its wall time. Nothing is reported unless the page opens without a console error or a
// request, every canvas is drawn, and its universe table holds every symbol.
//
//   npm run bench:report -- [--symbols 10000] [--bars 5000] [--seed 7] [--runs 3] [--dir <work dir>]
//
// --dir keeps the generated data and the sweep there for later runs (~1.4 GB at the defaults).

import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium, launchChromium, openReport } from '../src/report/browser.js';
import { buildReport } from '../src/report/index.js';
import { packageInfo } from '../src/util/package-root.js';
import { arg, median, runCli } from './util.js';

const symbols = Number(arg('symbols', '10000'));
const bars = Number(arg('bars', '5000'));
const runs = Number(arg('runs', '3'));
const keep = arg('dir');
const work = keep ?? mkdtempSync(join(tmpdir(), 'atc-bench-report-'));
mkdirSync(work, { recursive: true });
const chromium = findChromium();
if (!chromium) throw new Error('no Chromium found: apt-get install chromium (or set ATC_CHROMIUM)');

const data = join(work, `bars-${symbols}x${bars}.parquet`);
if (!existsSync(data)) {
  const g = await runCli(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--freq', '1d', '--seed', arg('seed', '7') as string, '--to', data, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const out = join(work, `sweep-${symbols}x${bars}`);
if (!existsSync(join(out, 'run.json'))) {
  const pipeline = join(packageInfo().root, 'pipelines', 'sweep-64.json');
  console.log(`report bench: running the sweep (${pipeline}) over ${data} first`);
  const r = await runCli(['run', '--pipeline', pipeline, '--data', data, '--out', out, '--no-cache', '--quiet']);
  if (r.code !== 0) throw new Error(`sweep failed: ${r.stderr}`);
}

const file = join(work, 'report.html');
const build: number[] = [];
let rss = 0;
for (let k = 0; k < runs; k++) {
  const r = await runCli(['report', '--out', out, '--to', file, '--quiet']);
  if (r.code !== 0) throw new Error(`report failed: ${r.stderr}`);
  build.push(r.seconds);
  rss = Math.max(rss, r.peakRssMB);
}
const bytes = statSync(file).size;
// The same build in this process: its CPU time (all threads, DuckDB's included) depends far
// less on what else the machine runs than the wall time does.
const cpu: number[] = [];
for (let k = 0; k < runs; k++) {
  const c0 = process.cpuUsage();
  await buildReport({ dir: out, to: file });
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1e6);
}

const browser = await launchChromium(chromium);
const ready: number[] = [];
try {
  for (let k = 0; k < runs; k++) {
    const o = await openReport(browser, file, 60_000);
    // correctness first: a clean page, every canvas drawn, every symbol in the table
    const drawn = (await o.page.evaluate(
      `Array.from(document.querySelectorAll('canvas')).every((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v !== 0))`,
    )) as boolean;
    const count = await o.page.textContent('#universe .controls .note');
    if (o.errors.length || o.requests.length || !drawn || count !== `${symbols.toLocaleString('en-US')} of ${symbols.toLocaleString('en-US')} symbols`) {
      throw new Error(`the page is not right: errors ${JSON.stringify(o.errors)}, requests ${JSON.stringify(o.requests)}, every canvas drawn: ${drawn}, table: ${count}`);
    }
    ready.push(o.readyMs);
    await o.page.close();
  }
} finally {
  await browser.close();
}
if (!keep) rmSync(work, { recursive: true, force: true });

const result = {
  bench: 'report',
  symbols,
  bars,
  sets: 64,
  build: { medianSeconds: +median(build).toFixed(2), runs: build.map((s) => +s.toFixed(2)), peakRssMB: rss, goalSeconds: 10, cpuSecondsInProcess: +median(cpu).toFixed(2) },
  size: { MB: +(bytes / 1e6).toFixed(2), goalMB: 15 },
  interactive: { medianMs: Math.round(median(ready)), runs: ready.map(Math.round), goalMs: 3000 },
  loadAverage: +(loadavg()[0] as number).toFixed(1),
  cores: availableParallelism(),
};
console.log(`
correctness: the page opens without console errors or requests, every canvas is drawn, the table holds ${symbols.toLocaleString('en-US')} symbols

                      median     goal
build (CLI, wall)  ${`${result.build.medianSeconds} s`.padStart(9)}   < 10 s   (peak RSS ${rss} MB; in process: ${result.build.cpuSecondsInProcess} s of CPU)
size               ${`${result.size.MB} MB`.padStart(9)}   < 15 MB
interactive        ${`${result.interactive.medianMs} ms`.padStart(9)}   < 3000 ms (navigation start to every chart drawn, headless Chromium)
load average ${result.loadAverage} on ${result.cores} cores`);
console.log(JSON.stringify(result));
