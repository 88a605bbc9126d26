// Kernel benchmark: bar-symbols per second on one core, per engine and per native SIMD path,
// on seeded synthetic walks (pine profile, default parameters). Correctness first: every path
// must give the bits of the scalar path, and the TypeScript engine the bits of Rust, else no
// timing is reported.
//
//   npm run bench:kernel -- [--symbols 1000] [--bars 5000] [--runs 5] [--ts-symbols 40] [--seed 7]

import { randomWalks } from '../datasets/index.js';
import { resolveParams } from '../src/config/params.js';
import { allocOutputs, N_FLOAT_COLUMNS, type Outputs } from '../src/engine/batch.js';
import { createKernel, type Kernel } from '../src/engine/kernel.js';
import { loadNative } from '../src/engine/native.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const symbols = arg('symbols', 1000);
const bars = arg('bars', 5000);
const runs = arg('runs', 5);
const tsSymbols = arg('ts-symbols', 40);
const seed = arg('seed', 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function sameBits(a: Outputs, b: Outputs, n: number): boolean {
  for (let p = 0; p < N_FLOAT_COLUMNS; p++) {
    for (let j = 0; j < n; j++) {
      const x = a.values[p * a.stride + j] as number;
      const y = b.values[p * b.stride + j] as number;
      if (!(Object.is(x, y) || (x !== x && y !== y))) return false;
    }
  }
  for (let j = 0; j < n; j++) if (a.direction[j] !== b.direction[j] || a.alerts[j] !== b.alerts[j]) return false;
  return true;
}

function time(kernel: Kernel, closes: Float64Array, offsets: Uint32Array, out: Outputs): number[] {
  kernel.step({ closes, offsets, out }); // warm-up: page in the output buffers
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    kernel.step({ closes, offsets, out });
    t.push((performance.now() - t0) / 1000);
  }
  return t;
}

const params = resolveParams({ profile: 'pine' });
const { closes, offsets } = randomWalks(symbols, bars, seed);
const n = closes.length;
const native = loadNative();
const paths = native.ok ? native.paths : [];
console.log(`kernel bench: ${symbols} symbols x ${bars} bars (seed ${seed}), pine defaults, ${runs} runs per engine/path, one thread`);

// Correctness: every SIMD path against the scalar path on the full set; TS against Rust on a subset.
const results: Record<string, { seconds: number[]; bars: number }> = {};
if (native.ok) {
  const ref = allocOutputs(n);
  createKernel(params, 'rust', { simdPath: 'scalar' }).step({ closes, offsets, out: ref });
  for (const path of paths) {
    const o = allocOutputs(n);
    createKernel(params, 'rust', { simdPath: path }).step({ closes, offsets, out: o });
    if (!sameBits(ref, o, n)) throw new Error(`correctness check failed: SIMD path ${path} differs from scalar`);
  }
  const sub = offsets.subarray(0, tsSymbols + 1);
  const m = sub[tsSymbols] as number;
  const a = allocOutputs(m);
  const b = allocOutputs(m);
  createKernel(params, 'rust').step({ closes: closes.subarray(0, m), offsets: sub, out: a });
  createKernel(params, 'ts').step({ closes: closes.subarray(0, m), offsets: sub, out: b });
  if (!sameBits(a, b, m)) throw new Error('correctness check failed: ts differs from rust');
  console.log(`correctness: ${paths.join(', ')} bit-identical to scalar on ${n} bar-symbols; ts bit-identical to rust on ${m}`);
  const out = allocOutputs(n);
  for (const path of paths) results[`rust/${path}`] = { seconds: time(createKernel(params, 'rust', { simdPath: path }), closes, offsets, out), bars: n };
} else {
  console.log(`rust engine unavailable (${native.reason}): timing ts only`);
}
{
  const sub = offsets.subarray(0, tsSymbols + 1);
  const m = sub[tsSymbols] as number;
  results.ts = { seconds: time(createKernel(params, 'ts'), closes.subarray(0, m), sub, allocOutputs(m)), bars: m };
}

const rows = Object.entries(results).map(([k, v]) => {
  const med = median(v.seconds);
  return { engine: k, barSymbols: v.bars, medianSeconds: med, mPerSecond: v.bars / med / 1e6, runs: v.seconds.map((s) => +s.toFixed(4)) };
});
console.log('\nengine/path      bar-symbols   median s   M bar-symbols/s/core   runs (s)');
for (const r of rows) {
  console.log(`${r.engine.padEnd(16)} ${String(r.barSymbols).padStart(11)} ${r.medianSeconds.toFixed(3).padStart(10)} ${r.mPerSecond.toFixed(2).padStart(22)}   ${r.runs.join(' ')}`);
}
const best = rows.filter((r) => r.engine.startsWith('rust/')).sort((a, b) => b.mPerSecond - a.mPerSecond)[0];
const tsRow = rows.find((r) => r.engine === 'ts');
const ratio = best && tsRow ? tsRow.mPerSecond / best.mPerSecond : null;
if (ratio !== null && best) console.log(`\nts / rust (${best.engine}) throughput ratio: ${ratio.toFixed(4)} (rust is ${(1 / ratio).toFixed(0)}x faster)`);
console.log(JSON.stringify({ bench: 'kernel', symbols, bars, seed, runs, results: rows, tsOverRust: ratio }));
