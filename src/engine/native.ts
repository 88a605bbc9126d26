// The only module that loads the native kernel (kernels/build/atc_kernel.node). It checks that
// the binary belongs to this package version and kernel version, and otherwise says why not.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ACCT_SIZE, TRADE_FIELDS } from '../backtest/accounting.js';
import { PORT_FIELDS } from '../backtest/portfolio.js';
import { PARAM_WIRE } from '../config/params.js';
import { packageInfo } from '../util/package-root.js';
import { EXTRA_PLANES, LAST_FIELDS, N_FLOAT_COLUMNS } from './batch.js';
import { STATE_HEADER_BYTES, STATE_VERSION } from './plan.js';

export const KERNEL_VERSION = 'atc-kernel/2';

/** The Node-API surface of kernels/node/src/lib.rs. */
export interface NativeAddon {
  version(): string;
  kernelVersion(): string;
  /** comma-separated SIMD paths this CPU runs, widest (default) first */
  paths(): string;
  plan(params: Float64Array): { stateBytes: number; payloadLength: number; fingerprint: bigint; maxLength: number; steadyBar: number };
  freshState(params: Float64Array, record: Uint8Array): void;
  stateBars(params: Float64Array, records: Uint8Array, record: number): number;
  step(
    params: Float64Array,
    closes: Float64Array,
    offsets: Uint32Array,
    values: Float64Array,
    stride: number,
    direction: Int8Array,
    alerts: Int8Array,
    stateIn: Uint8Array | null,
    stateOut: Uint8Array | null,
    path?: string,
  ): void;
  /** kernels/node/src/lib.rs `job`: a multi-set job with accounts (src/engine/job.ts). */
  job(spec: NativeJob): Float64Array | undefined;
  /** The CUDA engine (kernels/cuda, loaded by the kernel at run time): what it runs on, or why not. */
  gpuInfo(): GpuInfo;
  /** the record layouts the build reads and writes (see expectedLayouts) */
  layouts(): Record<string, number>;
  /** kernels/node/src/supertrend.rs: a Supertrend batch (src/strategies/supertrend/kernel.ts). */
  supertrend(spec: NativeSupertrend): void;
  /** kernels/node/src/direct.rs: a direction plane backtested (src/strategies/direct-job.ts). */
  account(spec: NativeAccount): Float64Array | undefined;
}

export interface NativeAccount {
  closes: Float64Array;
  offsets: Uint32Array;
  ts: Float64Array;
  direction: Int8Array;
  set: number;
  nSets: number;
  mode: number;
  feeBps: number;
  slippageBps: number;
  accounts: Float64Array;
  extra?: Float64Array | undefined;
  stride?: number | undefined;
  uIndex?: Uint32Array | undefined;
  nU?: number | undefined;
  sums?: Float64Array | undefined;
  counts?: Float64Array | undefined;
  trades: boolean;
}

export interface NativeSupertrend {
  factor: number;
  atrPeriod: number;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  offsets: Uint32Array;
  /** may be the same buffer as stateOut */
  stateIn?: Uint8Array | null | undefined;
  stateOut?: Uint8Array | null | undefined;
  supertrend?: Float64Array | null | undefined;
  atr?: Float64Array | null | undefined;
  direction?: Int8Array | null | undefined;
  trade?: Int8Array | null | undefined;
  path?: string | undefined;
}

/** The record layouts this code reads and writes; a kernel must report the same (layouts()). */
export function expectedLayouts(): Record<string, number> {
  return {
    'account.fields': ACCT_SIZE,
    'last.fields': LAST_FIELDS,
    'trade.fields': TRADE_FIELDS,
    'portfolio.fields': PORT_FIELDS,
    'planes.fields': N_FLOAT_COLUMNS,
    'extra.fields': EXTRA_PLANES,
    'params.fields': PARAM_WIRE.size,
    'state.version': STATE_VERSION,
    'state.headerBytes': STATE_HEADER_BYTES,
  };
}

/** `kind` 'gpu' is a CUDA device; 'host' is the host build (the engine's code on the CPU, for tests). */
export type GpuInfo =
  | {
      ok: true;
      kind: 'gpu' | 'host';
      library: string;
      name: string;
      deviceCount: number;
      totalMemory: number;
      freeMemory: number;
      /** 1000 * major + 10 * minor */
      driverVersion: number;
      runtimeVersion: number;
      computeCapability: string;
      smCount: number;
    }
  | { ok: false; reason: string };

export interface NativeJob {
  params: Float64Array;
  acct: Float64Array;
  closes: Float64Array;
  offsets: Uint32Array;
  ts: Float64Array;
  states: Uint8Array | null;
  accounts: Float64Array;
  last: Float64Array | null;
  alerts: Uint32Array | null;
  values?: Float64Array;
  stride?: number;
  direction?: Int8Array;
  alertPlane?: Int8Array;
  extra: Float64Array | null;
  uIndex?: Uint32Array;
  nU?: number;
  sums?: Float64Array;
  counts?: Float64Array;
  trades: boolean;
  path?: string;
  /** 'cuda': run on the CUDA engine (same bits); default the Rust kernel */
  engine?: 'cuda';
}

export type NativeLoad =
  | { ok: true; addon: NativeAddon; file: string; paths: string[] }
  /** `code`: ATC_ERR_KERNEL_LAYOUT when the kernel's record layouts differ from this code's (`field` names the first) */
  | { ok: false; reason: string; file: string; code?: 'ATC_ERR_KERNEL_LAYOUT'; field?: string };

let cached: NativeLoad | undefined;

export function nativeFile(): string {
  return process.env.ATC_NATIVE_PATH ?? join(packageInfo().root, 'kernels', 'build', 'atc_kernel.node');
}

/** What the install script recorded (kernels/build/status.json), if anything. */
function buildNote(): string {
  try {
    const s = JSON.parse(readFileSync(join(packageInfo().root, 'kernels', 'build', 'status.json'), 'utf8')) as { reason?: string };
    return s.reason ? ` (install: ${s.reason})` : '';
  } catch {
    return '';
  }
}

let gpu: GpuInfo | undefined;

/** The CUDA engine's status, probed once (through the native kernel, which loads it). */
export function gpuInfo(): GpuInfo {
  if (gpu) return gpu;
  const n = loadNative();
  if (!n.ok) gpu = { ok: false, reason: `the native kernel, which loads the CUDA engine, is unavailable: ${n.reason}` };
  else if (typeof n.addon.gpuInfo !== 'function') gpu = { ok: false, reason: `the native kernel ${n.file} has no CUDA loader` };
  else {
    try {
      gpu = n.addon.gpuInfo();
    } catch (e) {
      gpu = { ok: false, reason: `the CUDA loader failed: ${(e as Error).message}` };
    }
  }
  return gpu;
}

/** One line on the CUDA engine for reports: the device, or why there is none. */
export function describeGpu(g: GpuInfo): string {
  if (!g.ok) return g.reason;
  if (g.kind === 'host') return `host build (no GPU: the CUDA engine's code on the CPU), ${g.library}`;
  const v = (x: number): string => `${Math.floor(x / 1000)}.${Math.floor((x % 1000) / 10)}`;
  return `${g.name} (${(g.totalMemory / 2 ** 30).toFixed(0)} GiB, ${g.smCount} SMs, compute ${g.computeCapability}, driver ${v(g.driverVersion)}, runtime ${v(g.runtimeVersion)})`;
}

export function loadNative(): NativeLoad {
  if (cached) return cached;
  const file = nativeFile();
  cached = tryLoad(file);
  return cached;
}

function tryLoad(file: string): NativeLoad {
  if (process.env.ATC_DISABLE_NATIVE === '1') return { ok: false, reason: 'disabled by ATC_DISABLE_NATIVE=1', file };
  if (!existsSync(file)) {
    return { ok: false, reason: `native kernel not built: ${file} is missing${buildNote()}; run \`npm run build:native\` (needs cargo)`, file };
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    return { ok: false, reason: `native kernel failed to load: ${(e as Error).message}`, file };
  }
  const want = packageInfo().version;
  const got = addon.version();
  if (got !== want) {
    return { ok: false, reason: `native kernel ${got} does not match package ${want}; rebuild with \`npm run build:native\``, file };
  }
  if (addon.kernelVersion() !== KERNEL_VERSION) {
    return { ok: false, reason: `native kernel is ${addon.kernelVersion()}, this code expects ${KERNEL_VERSION}; rebuild`, file };
  }
  const layouts = typeof addon.layouts === 'function' ? addon.layouts() : {};
  for (const [field, expected] of Object.entries(expectedLayouts())) {
    if (layouts[field] !== expected) {
      const reason = `ATC_ERR_KERNEL_LAYOUT: native kernel ${file} has ${field} = ${layouts[field] ?? 'missing'}, this code has ${expected}; rebuild with \`npm run build:native\``;
      return { ok: false, reason, file, code: 'ATC_ERR_KERNEL_LAYOUT', field };
    }
  }
  return { ok: true, addon, file, paths: addon.paths().split(',') };
}
