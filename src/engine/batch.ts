// The batch contract every engine implements: many series per call, one closes buffer with
// offsets, outputs written into caller-provided (SharedArrayBuffer-friendly) typed arrays at
// the same indices as the closes, optional state records in and out.

import { ArgumentError, SeriesError } from '../errors.js';
import type { Plan } from './plan.js';

/** Float output planes, in this order, each `stride` long inside `Outputs.values`. */
export const FLOAT_COLUMNS = [
  'Average_Signal',
  'EMA_Signal',
  'HMA_Signal',
  'WMA_Signal',
  'DEMA_Signal',
  'LSMA_Signal',
  'KAMA_Signal',
  'EMA_S',
  'HMA_S',
  'WMA_S',
  'DEMA_S',
  'LSMA_S',
  'KAMA_S',
] as const;
export type FloatColumn = (typeof FLOAT_COLUMNS)[number];
/** The last-values record of a (series, set): the float planes at its last bar, then direction (0 = na). */
export const LAST_VALUES = [...FLOAT_COLUMNS, 'direction'] as const;
export type LastValue = (typeof LAST_VALUES)[number];
export const LAST_FIELDS = LAST_VALUES.length;
/** Index of each value in the record. */
export const LAST = Object.fromEntries(LAST_VALUES.map((n, i) => [n, i])) as Record<LastValue, number>;
/** Extra per-bar planes of a single-set job: position, strategy return, equity (unit capital). */
export const EXTRA_PLANES = 3;

export const N_FLOAT_COLUMNS = FLOAT_COLUMNS.length;
/** Plane index of EMA_Signal; X_Signal of type t is plane SIGNAL_PLANE + t, X_S is EQUITY_PLANE + t. */
export const SIGNAL_PLANE = 1;
export const EQUITY_PLANE = 7;

export interface Outputs {
  /** 13 planes of `stride` values (FLOAT_COLUMNS order); NaN where the spec says na */
  values: Float64Array;
  stride: number;
  /** Pine `direction`: 1, -1, or 0 while it is still na */
  direction: Int8Array;
  /** 1 on a long alert bar, -1 on a short alert bar, else 0 */
  alerts: Int8Array;
}

export interface StepRequest {
  closes: Float64Array;
  /** nSeries + 1 non-decreasing indices into closes; series s is closes[offsets[s], offsets[s+1]) */
  offsets: Uint32Array;
  out: Outputs;
  /** one state record per series to continue from; absent: every series starts at bar 0 */
  stateIn?: Uint8Array | undefined;
  /** one record per series receiving the state after the last bar; may be stateIn itself */
  stateOut?: Uint8Array | undefined;
}

export function allocOutputs(n: number, shared = false): Outputs {
  const mk = (bytes: number): ArrayBuffer | SharedArrayBuffer => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return {
    values: new Float64Array(mk(N_FLOAT_COLUMNS * n * 8)),
    stride: n,
    direction: new Int8Array(mk(n)),
    alerts: new Int8Array(mk(n)),
  };
}

export function seriesCount(req: StepRequest): number {
  return req.offsets.length - 1;
}

/** Offsets must ascend within closes; returns the last one (the end of the last series). */
export function checkOffsets(closes: Float64Array, offsets: Uint32Array): number {
  let prev = 0;
  for (let s = 0; s < offsets.length; s++) {
    const o = offsets[s] as number;
    if (o < prev || o > closes.length) throw new ArgumentError(`offsets[${s}] = ${o} is out of order or past closes (${closes.length})`);
    prev = o;
  }
  return offsets[offsets.length - 1] as number;
}

/** Shape checks shared by the engines (the native layer repeats them at its boundary). */
export function checkRequest(plan: Plan, req: StepRequest): void {
  const { closes, offsets, out } = req;
  if (!(closes instanceof Float64Array)) throw new ArgumentError('closes must be a Float64Array');
  if (!(offsets instanceof Uint32Array) || offsets.length < 1) throw new ArgumentError('offsets must be a non-empty Uint32Array');
  if (!(out.values instanceof Float64Array)) throw new ArgumentError('out.values must be a Float64Array');
  if (!(out.direction instanceof Int8Array) || !(out.alerts instanceof Int8Array)) {
    throw new ArgumentError('out.direction and out.alerts must be Int8Arrays');
  }
  const n = seriesCount(req);
  const end = checkOffsets(closes, offsets);
  if (!Number.isInteger(out.stride) || out.stride < end) throw new ArgumentError(`out.stride ${out.stride} is smaller than the last offset ${end}`);
  if (out.values.length < N_FLOAT_COLUMNS * out.stride) throw new ArgumentError('out.values is shorter than 13 planes of stride');
  if (out.direction.length < end || out.alerts.length < end) throw new ArgumentError('out.direction/out.alerts are shorter than the closes');
  for (const [name, st] of [['stateIn', req.stateIn], ['stateOut', req.stateOut]] as const) {
    if (st === undefined) continue;
    if (!(st instanceof Uint8Array)) throw new ArgumentError(`${name} must be a Uint8Array`);
    if (st.byteLength !== n * plan.stateBytes) {
      throw new ArgumentError(`${name} holds ${st.byteLength} bytes; ${n} series need ${n * plan.stateBytes}`);
    }
    if (st.byteOffset % 8 !== 0) throw new ArgumentError(`${name} must start at a multiple of 8 bytes`);
  }
}

/** First close that is not finite and > 0, as a coded error naming series and absolute bar. */
export function checkCloses(req: StepRequest, barsBefore: (series: number) => number): void {
  const { closes, offsets } = req;
  for (let s = 0; s + 1 < offsets.length; s++) {
    const a = offsets[s] as number;
    const b = offsets[s + 1] as number;
    for (let j = a; j < b; j++) {
      const x = closes[j] as number;
      if (!(x > 0 && x < Infinity)) {
        const bar = barsBefore(s) + (j - a);
        throw new SeriesError('ATC_ERR_BAD_CLOSE', `series ${s}, bar ${bar}: close must be finite and > 0, got ${x}`, { series: s, bar });
      }
    }
  }
}
