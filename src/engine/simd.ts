// Which SIMD path the native kernel runs: $ATC_SIMD when set, else the fastest on this machine
// by measurement. The widest path is not always the fastest (avx512 runs ~30 % slower than
// avx2 on the AMD EPYC of our test machines), so the first run times a small synthetic job on
// every path the CPU runs and keeps the result, per CPU model and kernel build, in a JSON file
// ($ATC_SIMD_CACHE, default <user cache dir>/atc-backtest/simd.json). Every path computes the
// same bits, so the choice changes speed only.

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ACCT_SIZE, freshAccount } from '../backtest/accounting.js';
import { resolveParams } from '../config/params.js';
import { EngineUnavailableError } from '../errors.js';
import { LAST_FIELDS } from './batch.js';
import { createJobKernel } from './job.js';
import { KERNEL_VERSION, type NativeAddon } from './native.js';

export interface SimdChoice {
  path: string;
  /** why: the override, or the measured speeds */
  reason: string;
}

/** One calibration: the paths' speeds in bar-symbols per second on one CPU model and kernel build. */
export interface SimdCalibration {
  key: string;
  cpu: string;
  best: string;
  barsPerSecond: Record<string, number>;
  measuredAt: string;
}

export function simdCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.ATC_SIMD_CACHE || join(base, 'atc-backtest', 'simd.json');
}

/** The native kernel as loadNative() returns it when it loads. */
export interface LoadedNative {
  addon: NativeAddon;
  file: string;
  paths: string[];
}

/** The path for `native`: $ATC_SIMD, a cached calibration, or one measured now (and cached). */
export function chooseSimd(native: LoadedNative, measure: (paths: readonly string[]) => Record<string, number> = measurePaths): SimdChoice {
  const forced = process.env.ATC_SIMD;
  if (forced && forced !== 'auto') {
    if (!native.paths.includes(forced)) throw new EngineUnavailableError(`ATC_SIMD=${forced}: this CPU runs ${native.paths.join('|')}`);
    return { path: forced, reason: `ATC_SIMD=${forced}` };
  }
  if (native.paths.length === 1) return { path: native.paths[0] as string, reason: 'the only path this CPU runs' };
  const file = simdCacheFile();
  const key = calibrationKey(native);
  const all = readCalibrations(file);
  let c = all[key];
  let where = `cached in ${file}`;
  if (!c || !native.paths.includes(c.best)) {
    const speeds = measure(native.paths);
    const best = native.paths.reduce((a, b) => ((speeds[b] ?? 0) > (speeds[a] ?? 0) ? b : a));
    c = { key, cpu: cpuModel(), best, barsPerSecond: speeds, measuredAt: new Date().toISOString() };
    where = writeCalibration(file, all, c);
  }
  const speeds = Object.entries(c.barsPerSecond)
    .sort((a, b) => b[1] - a[1])
    .map(([p, v]) => `${p} ${(v / 1e6).toFixed(1)}`)
    .join(', ');
  return { path: c.best, reason: `fastest measured on this CPU (M bar-symbols/s: ${speeds}; ${where}; ATC_SIMD=<path> overrides)` };
}

function cpuModel(): string {
  return cpus()[0]?.model.trim() ?? 'unknown CPU';
}

/** CPU model, kernel version and build (the .node file's size and mtime), and the paths it runs. */
function calibrationKey(n: LoadedNative): string {
  const st = statSync(n.file, { throwIfNoEntry: false });
  return [cpuModel(), n.addon.version(), KERNEL_VERSION, st ? `${st.size}-${Math.round(st.mtimeMs)}` : 'no-file', n.paths.join(',')].join(' | ');
}

function readCalibrations(file: string): Record<string, SimdCalibration> {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, SimdCalibration>) : {};
  } catch {
    return {};
  }
}

/** Keeps the 8 latest calibrations (builds come and go); says where it went, or why not. */
function writeCalibration(file: string, all: Record<string, SimdCalibration>, c: SimdCalibration): string {
  const kept = Object.values(all)
    .filter((x) => x && x.key !== c.key && typeof x.measuredAt === 'string')
    .sort((a, b) => b.measuredAt.localeCompare(a.measuredAt))
    .slice(0, 7);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries([c, ...kept].map((x) => [x.key, x])), null, 1) + '\n');
    renameSync(tmp, file);
    return `measured now, cached in ${file}`;
  } catch (e) {
    return `measured now, not cached: ${(e as Error).message}`;
  }
}

/**
 * Bar-symbols per second of each path on a synthetic job like a summary run's (one parameter
 * set, 16 symbols x 1,024 bars: full lanes on every path): the best of 4 timed rounds after a
 * warm-up, the paths interleaved so a busy moment of the machine hits them alike. About 0.1 s
 * in all, once per CPU model and kernel build.
 */
export function measurePaths(paths: readonly string[]): Record<string, number> {
  const symbols = 16;
  const bars = 1024;
  const n = symbols * bars;
  // smooth swings plus a fast wobble: trends, reversals and crossovers for every symbol
  const closes = Float64Array.from({ length: n }, (_, j) => 100 * Math.exp(0.2 * Math.sin(j / (40 + (j >> 10))) + 0.02 * Math.sin(j * 1.7)));
  const offsets = Uint32Array.from({ length: symbols + 1 }, (_, s) => s * bars);
  const ts = Float64Array.from({ length: n }, (_, j) => (j % bars) * 3.6e9);
  const sets = [{ params: resolveParams(), trade: { mode: 'long-short' as const, feeBps: 0, slippageBps: 0 } }];
  const kernels = paths.map((p) => createJobKernel(sets, 'rust', { simdPath: p }));
  const best = paths.map(() => Infinity);
  const account = freshAccount();
  for (let round = 0; round < 5; round++) {
    kernels.forEach((k, i) => {
      const accounts = new Float64Array(symbols * ACCT_SIZE);
      for (let s = 0; s < symbols; s++) accounts.set(account, s * ACCT_SIZE);
      const req = { closes, offsets, ts, states: k.freshStates(symbols), accounts, last: new Float64Array(symbols * LAST_FIELDS), alerts: new Uint32Array(symbols * 2) };
      const t0 = performance.now();
      k.run(req);
      // round 0 warms up (page faults, caches)
      if (round > 0) best[i] = Math.min(best[i] as number, performance.now() - t0);
    });
  }
  return Object.fromEntries(paths.map((p, i) => [p, Math.round((n / (best[i] as number)) * 1000)]));
}
