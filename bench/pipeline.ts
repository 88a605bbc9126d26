// Pipeline benchmark: `atc run --outputs summary` on a generated dataset, against its two
// floors measured back to back on the same file: a DuckDB-only scan of the columns it reads,
// and the kernel alone on the same bars (one thread; reading excluded). Also the run's reader
// path alone. Correctness first: the run's summary must hold every symbol and bar, and its last
// Average_Signal must equal the kernel-alone pass for every symbol.
//
//   atc data generate --symbols 10000 --bars 43800 --freq 1h --seed 42 --to /tmp/bench/bars.parquet
//   npm run bench:pipeline -- --data /tmp/bench/bars.parquet [--workers 2] [--chunk-bars 524288] [--runs 1]
//
// Peak RSS is sampled from /proc/<pid>/status (VmHWM) of the CLI process (Linux).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveParams } from '../src/config/params.js';
import { indexSource, readBars } from '../src/data/bars-reader.js';
import { openDb } from '../src/data/duckdb.js';
import { openBarSource } from '../src/data/source.js';
import { allocOutputs } from '../src/engine/batch.js';
import { createKernel } from '../src/engine/kernel.js';
import { selectEngine } from '../src/engine/select.js';
import { attachSlot, createSharedSlot } from '../src/pool/slots.js';
import { loadBatches } from '../src/stages/load/index.js';
import { arg, runCli, timed } from './util.js';

const data = arg('data');
if (!data || !existsSync(data)) {
  console.error('usage: npm run bench:pipeline -- --data <bars.parquet>   (make one with `atc data generate`)');
  process.exit(2);
}
const workers = Number(arg('workers', '2'));
const chunkBars = Number(arg('chunk-bars', '524288'));

const db = await openDb({ threads: 2 });
const src = await openBarSource(db.conn, data);
const index = await indexSource(db.conn, src);
console.log(`pipeline bench: ${data}: ${index.symbols.length} symbols, ${index.totalRows} bars; ${workers} workers, chunks of ${chunkBars} bars`);

// 1. DuckDB-only scan of what the run reads (symbol, ts, close).
const [, scanSeconds] = await timed(() => db.conn.runAndReadAll(`SELECT count(DISTINCT symbol), sum(epoch_us(ts)), sum(close) FROM ${src.relation}`));

// 2. The run's read path alone: DuckDB -> typed arrays -> validated batches (no kernel).
const slots = [attachSlot(createSharedSlot(chunkBars), 0), attachSlot(createSharedSlot(chunkBars), 1)];
let k = 0;
const [readBarsCount, readSeconds] = await timed(async () => {
  let n = 0;
  for await (const b of loadBatches(readBars(db, src, index), { symbols: index.symbols, minBars: 1, file: data, policy: 'error', acquire: async () => slots[k++ % 2]! })) n += b.n;
  return n;
});

// 3. The kernel alone on the same bars: same batches, only the kernel calls are timed.
const params = resolveParams();
const engine = selectEngine('auto');
// auto without a run size keeps the CPU engines (select.ts)
// the SIMD path the run takes (auto's calibration), so that both time the same code
const kernel = createKernel(params, engine.engine === 'cuda' ? 'rust' : engine.engine, { simdPath: engine.simdPath });
const lastAvg = new Map<string, number>();
let kernelSeconds = 0;
const out = allocOutputs(chunkBars);
const carry = new Map<string, Uint8Array>();
for await (const b of loadBatches(readBars(db, src, index), { symbols: index.symbols, minBars: 1, file: data, policy: 'error', acquire: async () => slots[k++ % 2]! })) {
  const offsets = new Uint32Array(b.series.length + 1);
  b.series.forEach((s, i) => (offsets[i + 1] = s.start + s.length));
  const blocked = b.series.some((s) => s.barStart > 0 || !s.last);
  const states = blocked ? kernel.freshStates(b.series.length) : undefined;
  if (states) b.series.forEach((s, i) => s.barStart > 0 && states.set(carry.get(s.symbol)!, i * kernel.stateBytes));
  const t0 = performance.now();
  kernel.step({ closes: b.slot.closes, offsets, out, stateIn: states, stateOut: states });
  kernelSeconds += (performance.now() - t0) / 1000;
  b.series.forEach((s, i) => {
    if (!s.last && states) carry.set(s.symbol, states.slice(i * kernel.stateBytes, (i + 1) * kernel.stateBytes));
    if (s.last) lastAvg.set(s.symbol, out.values[s.start + s.length - 1] as number);
  });
}
db.close();

// 4. The full run, as a user runs it.
const outDir = mkdtempSync(join(tmpdir(), 'atc-bench-'));
const run = await runCli(['run', '--data', data, '--out', outDir, '--outputs', 'summary', '--workers', String(workers), '--chunk-bars', String(chunkBars), '--json', '--quiet', '--no-cache']);
if (run.code !== 0) throw new Error(`atc run failed: ${run.stderr}`);
const res = JSON.parse(run.stdout) as { symbols: number; bars: number; kernelSeconds: number; seconds: number; stages: Record<string, number> };

// Correctness: every symbol and bar, and the same last Average_Signal as the kernel-alone pass.
const check = await openDb();
const rows = (await check.conn.runAndReadAll(`SELECT symbol, Average_Signal FROM '${join(outDir, 'summary.parquet')}'`)).getRows();
check.close();
if (res.symbols !== index.symbols.length || res.bars !== index.totalRows || readBarsCount !== index.totalRows) throw new Error('correctness check failed: counts differ');
for (const [sym, avg] of rows) {
  const want = lastAvg.get(String(sym));
  if (!(Object.is(want, avg === null ? NaN : Number(avg)) || (Number.isNaN(want) && avg === null))) throw new Error(`correctness check failed: ${sym} last Average_Signal ${avg} vs kernel alone ${want}`);
}
rmSync(outDir, { recursive: true, force: true });

const bars = index.totalRows;
const result = {
  bench: 'pipeline',
  data,
  symbols: index.symbols.length,
  bars,
  workers,
  chunkBars,
  engine: engine.engine,
  run: { seconds: +run.seconds.toFixed(2), barsPerSecond: Math.round(bars / run.seconds), peakRssMB: run.peakRssMB, kernelSecondsInWorkers: +res.kernelSeconds.toFixed(2), stages: res.stages },
  duckdbScanSeconds: +scanSeconds.toFixed(2),
  readPathSeconds: +readSeconds.toFixed(2),
  kernelAloneSeconds: +kernelSeconds.toFixed(2),
  ratios: {
    runOverDuckdbScan: +(run.seconds / scanSeconds).toFixed(2),
    runOverKernelAlone: +(run.seconds / kernelSeconds).toFixed(3),
    runOverKernelAlonePerWorker: +(run.seconds / (kernelSeconds / workers)).toFixed(3),
  },
};
console.log(`
correctness: ${rows.length} symbols, ${bars} bars; last Average_Signal of every symbol equals the kernel-alone pass

                                  seconds   M bars/s
DuckDB-only scan (floor 1)       ${scanSeconds.toFixed(2).padStart(8)} ${(bars / scanSeconds / 1e6).toFixed(2).padStart(10)}
read path alone (no kernel)      ${readSeconds.toFixed(2).padStart(8)} ${(bars / readSeconds / 1e6).toFixed(2).padStart(10)}
kernel alone, one thread (floor 2)${kernelSeconds.toFixed(2).padStart(7)} ${(bars / kernelSeconds / 1e6).toFixed(2).padStart(10)}
atc run --outputs summary        ${run.seconds.toFixed(2).padStart(8)} ${(bars / run.seconds / 1e6).toFixed(2).padStart(10)}   peak RSS ${run.peakRssMB} MB
  its stages (s; they overlap): ${Object.entries(res.stages).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}

run / DuckDB scan: ${result.ratios.runOverDuckdbScan}x   run / kernel alone: ${result.ratios.runOverKernelAlone}x   run / (kernel alone / ${workers} workers): ${result.ratios.runOverKernelAlonePerWorker}x`);
console.log(JSON.stringify(result));
