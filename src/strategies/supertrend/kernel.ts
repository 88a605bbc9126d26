// Supertrend (../shared/spec/supertrend.md): TradingView's ta.supertrend(factor, atrPeriod) as a
// per-symbol state machine over high, low and close. This is the readable reference: a bar-by-bar
// step in the contract's evaluation order (section 4), a block function over many series, and
// the same function on the native kernel (kernels/core/src/supertrend.rs), bit for bit.
//
// Batch layout: series s is rows offsets[s] .. offsets[s+1] of high, low and close; its outputs
// go to the same rows of the optional planes supertrend, atr (NaN = na), direction (Pine's:
// 1 / -1) and trade (the framework's trading direction, contract section 6: 0 until Pine's
// direction first changes, then +1 while it is -1 and -1 while it is 1).
//
// NaN is Pine's na: arithmetic carries it, a comparison with it is false, nz() maps it to 0.
// Inputs must be finite (checked before anything is written); a value that overflows to +-inf
// follows IEEE arithmetic in both engines.
//
// State record, one per series, STATE_BYTES = 96 (kernels/core/src/supertrend.rs reads and writes
// the same bytes): the 32-byte header of src/engine/state.ts RecordFormat with magic 'SUPT',
// version 1, payload length 8, fingerprint = FNV-1a of (factor, atrPeriod) as little-endian
// f64, bars seen; then 8 f64, NaN = na:
//   prevClose    close of the last bar (na before bar 0)
//   atr          ATR of the last bar
//   seedSum      running sum of the true ranges while atr is na (oldest first, contract 4.3);
//                it restarts at 0 once used, so no window of true ranges is kept. atr is na only
//                before its seed or, for atrPeriod 1, after an overflow (0 * inf), where Pine
//                re-seeds from the last true range: the restarted sum gives exactly that.
//   lower, upper, supertrend   final bands and the line of the last bar
//   direction    Pine's direction of the last bar (0 before bar 0)
//   trade        the trading direction of the last bar
// A record with bars = 0 is the fresh one; otherwise prevClose is finite, direction is +-1 and
// trade is 0 or -direction (anything else is ATC_ERR_STATE_INVALID).

import { ArgumentError, EngineUnavailableError, ParamError, SeriesError, StateError } from '../../errors.js';
import { callNative } from '../../engine/kernel.js';
import { loadNative } from '../../engine/native.js';
import { fnv1a64, STATE_HEADER_BYTES } from '../../engine/plan.js';
import type { EngineName } from '../../engine/select.js';
import { checkRecord, type RecordFormat, recordBytes, writeRecordHeader } from '../../engine/state.js';

export interface SupertrendParams {
  /** band width in ATRs: finite, > 0 */
  factor: number;
  /** ATR length in bars: integer in [1, MAX_ATR_PERIOD] */
  atrPeriod: number;
}

export const SUPERTREND_DEFAULTS: SupertrendParams = { factor: 3, atrPeriod: 10 };
export const MAX_ATR_PERIOD = 100_000;

/** Validated parameters (defaults for what is absent); ParamError naming the parameter. */
export function supertrendParams(input: Partial<SupertrendParams> = {}): SupertrendParams {
  return checkParams({ ...SUPERTREND_DEFAULTS, ...input });
}

function checkParams({ factor, atrPeriod }: SupertrendParams): SupertrendParams {
  if (!(typeof factor === 'number' && Number.isFinite(factor) && factor > 0)) {
    throw new ParamError('factor', `params.factor must be a finite number > 0, got ${String(factor)}`);
  }
  if (!(typeof atrPeriod === 'number' && Number.isInteger(atrPeriod) && atrPeriod >= 1 && atrPeriod <= MAX_ATR_PERIOD)) {
    throw new ParamError('atrPeriod', `params.atrPeriod must be an integer in [1, ${MAX_ATR_PERIOD}], got ${String(atrPeriod)}`);
  }
  return { factor, atrPeriod };
}

export const STATE_MAGIC = 0x54505553; // 'SUPT' read as little-endian u32
export const STATE_VERSION = 1;
const PAYLOAD = 8;
export const STATE_BYTES = STATE_HEADER_BYTES + 8 * PAYLOAD;

export interface SupertrendState {
  bars: number;
  prevClose: number;
  atr: number;
  seedSum: number;
  lower: number;
  upper: number;
  supertrend: number;
  direction: number;
  trade: number;
}

export function freshState(): SupertrendState {
  return { bars: 0, prevClose: NaN, atr: NaN, seedSum: 0, lower: NaN, upper: NaN, supertrend: NaN, direction: 0, trade: 0 };
}

function format(p: SupertrendParams): RecordFormat {
  const b = new Float64Array([p.factor, p.atrPeriod]);
  return { what: 'a Supertrend state', magic: STATE_MAGIC, version: STATE_VERSION, payloadLength: PAYLOAD, fingerprint: fnv1a64(new Uint8Array(b.buffer)) };
}

function payloadOf(s: SupertrendState): number[] {
  return [s.prevClose, s.atr, s.seedSum, s.lower, s.upper, s.supertrend, s.direction, s.trade];
}

/** Record `record` of `buf` as a state of these parameters, or a StateError. */
export function readState(p: SupertrendParams, buf: Uint8Array, record: number): SupertrendState {
  const { bars } = checkRecord(format(p), buf, record);
  const v = new DataView(buf.buffer, buf.byteOffset + record * STATE_BYTES + STATE_HEADER_BYTES, 8 * PAYLOAD);
  const f = (k: number): number => v.getFloat64(8 * k, true);
  const s: SupertrendState = { bars, prevClose: f(0), atr: f(1), seedSum: f(2), lower: f(3), upper: f(4), supertrend: f(5), direction: f(6), trade: f(7) };
  // The discrete fields and the previous close decide branches: they must be possible.
  const fresh = payloadOf(freshState());
  const ok =
    bars === 0
      ? payloadOf(s).every((x, k) => Object.is(x, fresh[k]))
      : Number.isFinite(s.prevClose) && (s.direction === 1 || s.direction === -1) && (s.trade === 0 || s.trade === -s.direction);
  if (!ok) throw new StateError('ATC_ERR_STATE_INVALID', `state record ${record}: corrupt payload`);
  return bars === 0 ? freshState() : s;
}

export function writeState(p: SupertrendParams, s: SupertrendState, buf: Uint8Array, record: number): void {
  writeRecordHeader(format(p), buf, record, s.bars);
  const v = new DataView(buf.buffer, buf.byteOffset + record * STATE_BYTES + STATE_HEADER_BYTES, 8 * PAYLOAD);
  payloadOf(s).forEach((x, k) => v.setFloat64(8 * k, x, true));
}

/** n fresh state records. */
export function freshStates(p: SupertrendParams, n: number): Uint8Array {
  const buf = new Uint8Array(n * recordBytes(format(p)));
  for (let r = 0; r < n; r++) writeState(p, freshState(), buf, r);
  return buf;
}

/** The constants of a parameter set (contract 4.4: alpha and beta computed once, as doubles). */
export interface SupertrendConsts {
  factor: number;
  period: number;
  alpha: number;
  beta: number;
}

export function supertrendConsts(p: SupertrendParams): SupertrendConsts {
  const alpha = 1 / p.atrPeriod;
  return { factor: p.factor, period: p.atrPeriod, alpha, beta: 1 - alpha };
}

export interface SupertrendBar {
  supertrend: number;
  atr: number;
  /** Pine's: 1 / -1 */
  direction: number;
  /** trading: 0 / +1 / -1 */
  trade: number;
}

const nz = (x: number): number => (Number.isNaN(x) ? 0 : x);
// Pine's math.max of two non-NaN numbers; written out so that both engines agree on it exactly.
const max = (a: number, b: number): number => (b > a ? b : a);

/** One bar (contract section 3, in the order of section 4); advances `s` in place. */
export function stepBar(k: SupertrendConsts, s: SupertrendState, high: number, low: number, close: number): SupertrendBar {
  const src = (high + low) / 2;
  const pc = s.prevClose;
  const hl = high - low;
  const tr = Number.isNaN(pc) ? hl : max(max(hl, Math.abs(high - pc)), Math.abs(low - pc)); // ta.tr(true)

  let atr: number;
  if (Number.isNaN(s.atr)) {
    // ta.rma seeded by ta.sma(tr, p): the sum runs oldest first, divided once
    const sum = s.seedSum + tr;
    if (s.bars >= k.period - 1) {
      atr = sum / k.period;
      s.seedSum = 0;
    } else {
      atr = NaN;
      s.seedSum = sum;
    }
  } else {
    atr = k.alpha * tr + k.beta * s.atr;
  }

  const fa = k.factor * atr;
  const upB = src + fa;
  const loB = src - fa;
  const pUp = nz(s.upper);
  const pLo = nz(s.lower);
  const lower = loB > pLo || pc < pLo ? loB : pLo;
  const upper = upB < pUp || pc > pUp ? upB : pUp;
  let direction: number;
  if (Number.isNaN(s.atr)) direction = 1;
  else if (s.supertrend === pUp) direction = close > upper ? -1 : 1; // the value, not the previous direction
  else direction = close < lower ? 1 : -1;
  const supertrend = direction === -1 ? lower : upper;

  const changed = s.direction !== 0 && direction !== s.direction;
  const trade = s.trade !== 0 || changed ? -direction : 0;

  s.bars += 1;
  s.prevClose = close;
  s.atr = atr;
  s.lower = lower;
  s.upper = upper;
  s.supertrend = supertrend;
  s.direction = direction;
  s.trade = trade;
  return { supertrend, atr, direction, trade };
}

/** A batch of series: inputs, optional states and optional output planes. */
export interface SupertrendBlock {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** nSeries + 1 non-decreasing row indices; series s is rows offsets[s] .. offsets[s+1] */
  offsets: Uint32Array;
  /** one record per series to continue from; absent: every series starts at bar 0 */
  stateIn?: Uint8Array | null | undefined;
  /** one record per series receiving the state after its last row; may be stateIn itself */
  stateOut?: Uint8Array | null | undefined;
  supertrend?: Float64Array | null | undefined;
  atr?: Float64Array | null | undefined;
  direction?: Int8Array | null | undefined;
  trade?: Int8Array | null | undefined;
}

/** Advances every series of the block; validates everything before writing anything. */
export type SupertrendBlockFn = (params: SupertrendParams, block: SupertrendBlock) => void;

/** The TypeScript engine. */
export const tsSupertrend: SupertrendBlockFn = (params, block) => {
  const p = checkParams(params);
  const { high, low, close, offsets, stateIn, stateOut } = block;
  for (const [name, a] of [['high', high], ['low', low], ['close', close]] as const) {
    if (!(a instanceof Float64Array)) throw new ArgumentError(`${name} must be a Float64Array`);
  }
  if (!(offsets instanceof Uint32Array) || offsets.length < 1) throw new ArgumentError('offsets must be a non-empty Uint32Array');
  const planes = [
    ['supertrend', block.supertrend, Float64Array],
    ['atr', block.atr, Float64Array],
    ['direction', block.direction, Int8Array],
    ['trade', block.trade, Int8Array],
  ] as const;
  for (const [name, a, type] of planes) if (a != null && !(a instanceof type)) throw new ArgumentError(`${name} must be a ${type.name}`);
  for (const [name, a] of [['stateIn', stateIn], ['stateOut', stateOut]] as const) {
    if (a != null && !(a instanceof Uint8Array)) throw new ArgumentError(`${name} must be a Uint8Array`);
  }
  if (high.length !== close.length || low.length !== close.length) {
    throw new ArgumentError(`high, low and close must have the same length (got ${high.length}, ${low.length}, ${close.length})`);
  }
  let prev = 0;
  offsets.forEach((o, s) => {
    if (o < prev || o > close.length) throw new ArgumentError(`offsets[${s}] = ${o} is out of order or past the inputs (${close.length})`);
    prev = o;
  });
  const n = offsets.length - 1;
  const end = offsets[n] as number;
  for (const [name, a] of planes) if (a != null && a.length < end) throw new ArgumentError(`${name} is shorter than the last offset ${end}`);
  for (const st of [stateIn, stateOut]) {
    if (st != null && st.length !== n * STATE_BYTES) throw new ArgumentError(`state buffers must hold ${n} records of ${STATE_BYTES} bytes`);
  }
  // Every input record is read before any is written (stateOut may be stateIn).
  const states = Array.from({ length: n }, (_, s) => (stateIn != null ? readState(p, stateIn, s) : freshState()));
  for (let s = 0; s < n; s++) {
    for (let j = offsets[s] as number; j < (offsets[s + 1] as number); j++) {
      for (const [column, a] of [['high', high], ['low', low], ['close', close]] as const) {
        const x = a[j] as number;
        if (!Number.isFinite(x)) {
          const bar = (states[s] as SupertrendState).bars + j - (offsets[s] as number);
          throw new SeriesError('ATC_ERR_BAD_VALUE', `series ${s}, bar ${bar}: ${column} must be finite, got ${x}`, { series: s, bar, column });
        }
      }
    }
  }

  const k = supertrendConsts(p);
  for (let s = 0; s < n; s++) {
    const st = states[s] as SupertrendState;
    for (let j = offsets[s] as number; j < (offsets[s + 1] as number); j++) {
      const o = stepBar(k, st, high[j] as number, low[j] as number, close[j] as number);
      if (block.supertrend) block.supertrend[j] = o.supertrend;
      if (block.atr) block.atr[j] = o.atr;
      if (block.direction) block.direction[j] = o.direction;
      if (block.trade) block.trade[j] = o.trade;
    }
    if (stateOut) writeState(p, st, stateOut, s);
  }
};

/** The native engine; `path` picks a SIMD path (avx512|avx2|portable|scalar; default the widest). */
export function nativeSupertrend(params: SupertrendParams, block: SupertrendBlock, path?: string): void {
  const n = loadNative();
  if (!n.ok) throw new EngineUnavailableError(`engine rust is not available: ${n.reason}`);
  if (typeof n.addon.supertrend !== 'function') throw new EngineUnavailableError('the native kernel has no supertrend export; rebuild with `npm run build:native`');
  const addon = n.addon;
  callNative(() => addon.supertrend({ ...block, factor: params.factor, atrPeriod: params.atrPeriod, path }));
}

export function supertrendEngine(engine: EngineName): SupertrendBlockFn {
  return engine === 'ts' ? tsSupertrend : (params, block) => nativeSupertrend(params, block);
}
