// A kernel bound to one parameter set and one engine: the API the rest of the code uses.
// Both engines implement the batch contract of batch.ts and read/write the same state bytes.

import { type AtcParams, minimumBars } from '../config/params.js';
import { AtcError, ArgumentError, ParamError, SeriesError, StateError } from '../errors.js';
import { allocOutputs, type Outputs, type StepRequest } from './batch.js';
import { loadNative, type NativeAddon } from './native.js';
import { createPlan, type Plan } from './plan.js';
import type { StepEngineName } from './select.js';
import { checkState, freshStates } from './state.js';
import { tsStep } from './ts-engine.js';

export interface Kernel {
  readonly engine: StepEngineName;
  readonly plan: Plan;
  readonly stateBytes: number;
  /** Advance every series of the batch; `symbols` only names series in errors. */
  step(req: StepRequest, symbols?: readonly string[]): void;
  /** n state records as before bar 0 */
  freshStates(n: number): Uint8Array;
  /** bars seen by one state record (throws StateError if it is not a state of this plan) */
  stateBars(states: Uint8Array, record: number): number;
}

export interface KernelOptions {
  /** native SIMD path (avx512|avx2|portable|scalar); default: the widest this CPU runs */
  simdPath?: string | undefined;
}

export function createKernel(params: AtcParams, engine: StepEngineName, opts: KernelOptions = {}): Kernel {
  const plan = createPlan(params);
  if (engine === 'ts') {
    return {
      engine,
      plan,
      stateBytes: plan.stateBytes,
      step: (req, symbols) => nameSeries(() => tsStep(plan, req), symbols),
      freshStates: (n) => freshStates(plan, n),
      stateBars: (buf, r) => checkState(plan, buf, r).bars,
    };
  }
  const n = loadNative();
  if (!n.ok) throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', `engine rust is not available: ${n.reason}`);
  const addon: NativeAddon = n.addon;
  const info = callNative(() => addon.plan(plan.wire));
  // The two sides derive the state layout independently; a disagreement is a build skew.
  if (info.stateBytes !== plan.stateBytes || info.fingerprint !== plan.fingerprint) {
    throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', 'native kernel disagrees with the TypeScript state layout; rebuild with `npm run build:native`');
  }
  const path = opts.simdPath;
  return {
    engine,
    plan,
    stateBytes: plan.stateBytes,
    step: (req, symbols) =>
      nameSeries(
        () =>
          callNative(() =>
            addon.step(
              plan.wire,
              req.closes,
              req.offsets,
              req.out.values,
              req.out.stride,
              req.out.direction,
              req.out.alerts,
              req.stateIn ?? null,
              req.stateOut ?? null,
              path,
            ),
          ),
        symbols,
      ),
    freshStates: (count) => {
      const buf = new Uint8Array(count * plan.stateBytes);
      for (let r = 0; r < count; r++) callNative(() => addon.freshState(plan.wire, buf.subarray(r * plan.stateBytes, (r + 1) * plan.stateBytes)));
      return buf;
    },
    stateBars: (buf, r) => callNative(() => addon.stateBars(plan.wire, buf, r)),
  };
}

/** Re-throw a native error as the typed error of its code. */
export function callNative<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as Error & { code?: string; series?: number; bar?: number; param?: string; column?: string };
    switch (err.code) {
      case 'ATC_ERR_BAD_CLOSE':
        throw new SeriesError('ATC_ERR_BAD_CLOSE', err.message, { series: err.series ?? -1, bar: err.bar ?? -1 });
      case 'ATC_ERR_BAD_VALUE':
        throw new SeriesError('ATC_ERR_BAD_VALUE', err.message, { series: err.series ?? -1, bar: err.bar ?? -1, column: err.column });
      case 'ATC_ERR_INVALID_PARAM':
        throw new ParamError(err.param ?? 'params', err.message);
      case 'ATC_ERR_STATE_INVALID':
      case 'ATC_ERR_STATE_MISMATCH':
        throw new StateError(err.code, err.message);
      case 'ATC_ERR_INVALID_ARGUMENT':
        throw new ArgumentError(err.message);
      case 'ATC_ERR_NATIVE_PANIC':
        throw new AtcError('ATC_ERR_NATIVE_PANIC', err.message);
      default:
        throw e;
    }
  }
}

/** Put the symbol name into series errors when the caller knows it. */
export function nameSeries<T>(f: () => T, symbols?: readonly string[]): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SeriesError && symbols && e.series >= 0 && e.series < symbols.length) {
      const symbol = symbols[e.series] as string;
      throw new SeriesError(e.code as 'ATC_ERR_BAD_CLOSE', `${symbol}: ${e.message}`, { series: e.series, bar: e.bar, symbol, column: e.column });
    }
    throw e;
  }
}

export interface SeriesBatch {
  closes: Float64Array;
  offsets: Uint32Array;
  symbols?: readonly string[];
  /** 'error' (default): a series shorter than the longest MA (or not past the cutout) is
   *  ATC_ERR_TOO_FEW_BARS; 'allow': compute it anyway (Pine's warm-up na). */
  shortSeries?: 'error' | 'allow';
}

/** Whole series from bar 0: validates empty and short series, then runs one batch. */
export function computeSeries(kernel: Kernel, batch: SeriesBatch, out: Outputs = allocOutputs(batch.closes.length)): Outputs {
  const { offsets, symbols } = batch;
  const need = minimumBars(kernel.plan.params);
  for (let s = 0; s + 1 < offsets.length; s++) {
    const n = (offsets[s + 1] as number) - (offsets[s] as number);
    const who = symbols?.[s] ?? `series ${s}`;
    const where = { series: s, ...(symbols?.[s] !== undefined ? { symbol: symbols[s] } : {}) };
    if (n === 0) throw new SeriesError('ATC_ERR_EMPTY_SERIES', `${who}: no bars`, where);
    if (n < need && batch.shortSeries !== 'allow') {
      throw new SeriesError(
        'ATC_ERR_TOO_FEW_BARS',
        `${who}: ${n} bars; these parameters need at least ${need} (longest MA ${Math.max(...kernel.plan.lens.flat())}, cutout ${kernel.plan.params.cutout})`,
        where,
      );
    }
  }
  kernel.step({ closes: batch.closes, offsets, out }, symbols);
  return out;
}

export type { AtcParams };
