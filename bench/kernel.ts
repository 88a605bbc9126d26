// Kernel benchmark: bar-symbols per second on one core, per engine and per native SIMD path,
// on seeded synthetic walks: ATC (pine profile, default parameters) and Supertrend (factor 3,
// atrPeriod 10, OHLC walks). Correctness first: every path must give the bits of the scalar
// path, and the TypeScript engine the bits of Rust, else no timing is reported.
//
//   npm run bench:kernel -- [--symbols 1000] [--bars 5000] [--runs 5] [--ts-symbols 40] [--seed 7] [--only atc|supertrend]

import { ohlcWalks, randomWalks } from '../datasets/index.js';
import { resolveParams } from '../src/config/params.js';
import { allocOutputs, N_FLOAT_COLUMNS, type Outputs } from '../src/engine/batch.js';
import { createKernel } from '../src/engine/kernel.js';
import { loadNative } from '../src/engine/native.js';
import { nativeSupertrend, STATE_BYTES, type SupertrendBlock, supertrendParams, tsSupertrend } from '../src/strategies/supertrend/kernel.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const symbols = arg('symbols', 1000);
const bars = arg('bars', 5000);
const runs = arg('runs', 5);
const tsSymbols = arg('ts-symbols', 40);
const seed = arg('seed', 7);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

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

/** Seconds of `runs` calls after a warm-up call (which pages in the output buffers). */
function time(f: () => void): number[] {
  f();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    t.push((performance.now() - t0) / 1000);
  }
  return t;
}

type Timings = Record<string, { seconds: number[]; bars: number }>;

/** Print the table and the JSON line of one kernel's timings. */
function report(bench: string, results: Timings): void {
  const rows = Object.entries(results).map(([k, v]) => {
    const med = median(v.seconds);
    return { engine: k, barSymbols: v.bars, medianSeconds: med, mPerSecond: v.bars / med / 1e6, runs: v.seconds.map((s) => +s.toFixed(4)) };
  });
  console.log('\nengine/path      bar-symbols   median s   M bar-symbols/s/core   runs (s)');
  for (const r of rows) {
    console.log(`${r.engine.padEnd(16)} ${String(r.barSymbols).padStart(11)} ${r.medianSeconds.toFixed(3).padStart(10)} ${r.mPerSecond.toFixed(2).padStart(22)}   ${r.runs.join(' ')}`);
  }
  const rust = rows.filter((r) => r.engine.startsWith('rust/')).sort((a, b) => b.mPerSecond - a.mPerSecond);
  const best = rust[0];
  const scalar = rows.find((r) => r.engine === 'rust/scalar');
  const tsRow = rows.find((r) => r.engine === 'ts');
  const ratio = best && tsRow ? tsRow.mPerSecond / best.mPerSecond : null;
  if (ratio !== null && best) console.log(`\nts / rust (${best.engine}) throughput ratio: ${ratio.toFixed(4)} (rust is ${(1 / ratio).toFixed(1)}x faster)`);
  if (best && scalar) console.log(`SIMD lanes: ${best.engine} / rust/scalar throughput: ${(best.mPerSecond / scalar.mPerSecond).toFixed(2)}x`);
  console.log(JSON.stringify({ bench, symbols, bars, seed, runs, results: rows, tsOverRust: ratio }));
}

const native = loadNative();
const paths = native.ok ? native.paths : [];

function benchAtc(): void {
  const params = resolveParams({ profile: 'pine' });
  const { closes, offsets } = randomWalks(symbols, bars, seed);
  const n = closes.length;
  console.log(`kernel bench: ${symbols} symbols x ${bars} bars (seed ${seed}), pine defaults, ${runs} runs per engine/path, one thread`);

  // Correctness: every SIMD path against the scalar path on the full set; TS against Rust on a subset.
  const results: Timings = {};
  const sub = offsets.subarray(0, tsSymbols + 1);
  const m = sub[tsSymbols] as number;
  if (native.ok) {
    const ref = allocOutputs(n);
    createKernel(params, 'rust', { simdPath: 'scalar' }).step({ closes, offsets, out: ref });
    for (const path of paths) {
      const o = allocOutputs(n);
      createKernel(params, 'rust', { simdPath: path }).step({ closes, offsets, out: o });
      if (!sameBits(ref, o, n)) throw new Error(`correctness check failed: SIMD path ${path} differs from scalar`);
    }
    const a = allocOutputs(m);
    const b = allocOutputs(m);
    createKernel(params, 'rust').step({ closes: closes.subarray(0, m), offsets: sub, out: a });
    createKernel(params, 'ts').step({ closes: closes.subarray(0, m), offsets: sub, out: b });
    if (!sameBits(a, b, m)) throw new Error('correctness check failed: ts differs from rust');
    console.log(`correctness: ${paths.join(', ')} bit-identical to scalar on ${n} bar-symbols; ts bit-identical to rust on ${m}`);
    const out = allocOutputs(n);
    for (const path of paths) {
      const k = createKernel(params, 'rust', { simdPath: path });
      results[`rust/${path}`] = { seconds: time(() => k.step({ closes, offsets, out })), bars: n };
    }
  } else {
    console.log(`rust engine unavailable (${native.reason}): timing ts only`);
  }
  const k = createKernel(params, 'ts');
  const out = allocOutputs(m);
  results.ts = { seconds: time(() => k.step({ closes: closes.subarray(0, m), offsets: sub, out })), bars: m };
  report('kernel', results);
}

function benchSupertrend(): void {
  const params = supertrendParams({ factor: 3, atrPeriod: 10 });
  const { high, low, close, offsets } = ohlcWalks(symbols, bars, seed);
  const n = close.length;
  const alloc = (): SupertrendBlock => ({
    high,
    low,
    close,
    offsets,
    supertrend: new Float64Array(n),
    atr: new Float64Array(n),
    direction: new Int8Array(n),
    trade: new Int8Array(n),
    stateOut: new Uint8Array(symbols * STATE_BYTES),
  });
  const bytes = (b: SupertrendBlock): Buffer =>
    Buffer.concat([b.supertrend, b.atr, b.direction, b.trade, b.stateOut].map((a) => Buffer.from((a as ArrayBufferView).buffer)));
  console.log(`\nsupertrend bench: ${symbols} symbols x ${bars} OHLC bars (seed ${seed}), factor 3, atrPeriod 10, every output, ${runs} runs per engine/path, one thread`);

  // Correctness: the TypeScript engine and every SIMD path against the scalar path, on the full set.
  const results: Timings = {};
  const ts = alloc();
  tsSupertrend(params, ts);
  if (native.ok) {
    const ref = alloc();
    nativeSupertrend(params, ref, 'scalar');
    if (!bytes(ts).equals(bytes(ref))) throw new Error('correctness check failed: supertrend ts differs from rust');
    for (const path of paths) {
      const o = alloc();
      nativeSupertrend(params, o, path);
      if (!bytes(o).equals(bytes(ref))) throw new Error(`correctness check failed: supertrend SIMD path ${path} differs from scalar`);
    }
    console.log(`correctness: ts and ${paths.join(', ')} bit-identical to scalar on ${n} bar-symbols (outputs and states)`);
    const o = alloc();
    for (const path of paths) results[`rust/${path}`] = { seconds: time(() => nativeSupertrend(params, o, path)), bars: n };
  } else {
    console.log(`rust engine unavailable (${native.reason}): timing ts only`);
  }
  results.ts = { seconds: time(() => tsSupertrend(params, ts)), bars: n };
  report('kernel-supertrend', results);
}

if (only !== 'supertrend') benchAtc();
if (only !== 'atc') benchSupertrend();
