// A job: many series under one or more parameter sets, with the backtest accounting. What the
// pipeline's workers run. The native engine shares the price-only work (MAs, crossovers)
// between the sets (kernels/core/src/job.rs), and so does the CUDA engine (kernels/cuda, the
// same job through the native addon); the TypeScript engine runs each set alone with the
// reference kernel and src/backtest/accounting.ts: the readable oracle the tests compare with,
// bit for bit.
//
// Buffers (per series s, set p, series-major):
//   states    kernel state records, record (s, p) at s * recordBytes + recordOffsets[p]
//   accounts  ACCT_SIZE doubles at (s * nSets + p) * ACCT_SIZE, read and advanced in place
//   last      LAST_FIELDS at (s * nSets + p): Average_Signal, 6 X_Signal, 6 X_S, direction (0 = na)
//   alerts    long, short alert counts at (s * nSets + p) * 2
//   trades    TRADE_FIELDS per closed trade (series, set, side, entry ts/price, exit ts/price,
//             bars held, return)
//   portfolio PORT_FIELDS sums at (p * nU + uIndex[j]) for every bar j past a series' first

import { accountBars, ACCT, ACCT_SIZE, type BacktestParams, MODE_CODE, TRADE_FIELDS } from '../backtest/accounting.js';
import { PORT_FIELDS, splitReturn } from '../backtest/portfolio.js';
import { type AtcParams, PARAM_WIRE } from '../config/params.js';
import { AtcError, ArgumentError } from '../errors.js';
import { allocOutputs, checkCloses, checkOffsets, EXTRA_PLANES, LAST, LAST_FIELDS, N_FLOAT_COLUMNS, type Outputs } from './batch.js';
import { callNative, nameSeries } from './kernel.js';
import { gpuInfo, loadNative, type NativeAddon } from './native.js';
import { createPlan, type Plan } from './plan.js';
import { referenceSeries } from './reference.js';
import type { EngineName } from './select.js';
import { checkState, freshStates, initPayload, statePayload, writeStateHeader } from './state.js';


export interface JobSet {
  params: AtcParams;
  trade: BacktestParams;
  /** a strategy other than the ATC: its parameter values */
  values?: Readonly<Record<string, number>> | undefined;
}

export interface JobRequest {
  closes: Float64Array;
  /** the strategy's other input columns, indexed like closes */
  inputs?: Readonly<Record<string, Float64Array>> | undefined;
  offsets: Uint32Array;
  ts: Float64Array;
  states?: Uint8Array | undefined;
  accounts: Float64Array;
  last?: Float64Array | undefined;
  alerts?: Uint32Array | undefined;
  /** per-bar outputs; single-set jobs only */
  out?: Outputs | undefined;
  /** EXTRA_PLANES planes of out.stride */
  extra?: Float64Array | undefined;
  portfolio?: { uIndex: Uint32Array; nU: number; sums: Float64Array; counts: Float64Array } | undefined;
  trades?: boolean;
}

/** What a kernel worker runs: a job of any strategy (the ATC's below, others strategies/direct-job.ts). */
export interface TaskKernel {
  /** bytes of the state records of one series (all sets) */
  readonly recordBytes: number;
  /** Runs the job; returns the closed trades when asked. `symbols` only names series in errors. */
  run(req: JobRequest, symbols?: readonly string[]): Float64Array | undefined;
  /** Fresh state records for n series. */
  freshStates(n: number): Uint8Array;
}

export interface JobKernel extends TaskKernel {
  readonly engine: EngineName;
  readonly sets: readonly JobSet[];
  readonly plans: readonly Plan[];
  readonly recordOffsets: readonly number[];
}

export function createJobKernel(sets: readonly JobSet[], engine: EngineName, opts: { simdPath?: string | undefined } = {}): JobKernel {
  if (sets.length === 0) throw new ArgumentError('a job needs at least one parameter set');
  const plans = sets.map((s) => createPlan(s.params));
  const recordOffsets: number[] = [];
  let recordBytes = 0;
  for (const p of plans) {
    recordOffsets.push(recordBytes);
    recordBytes += p.stateBytes;
  }
  const fresh = (n: number): Uint8Array => {
    const buf = new Uint8Array(n * recordBytes);
    plans.forEach((p, k) => {
      const one = freshStates(p, 1);
      for (let s = 0; s < n; s++) buf.set(one, s * recordBytes + (recordOffsets[k] as number));
    });
    return buf;
  };
  const base = { engine, sets, plans, recordBytes, recordOffsets, freshStates: fresh };
  if (engine === 'ts') {
    return { ...base, run: (req, symbols) => nameSeries(() => tsJob(sets, plans, recordBytes, recordOffsets, req), symbols) };
  }
  const n = loadNative();
  if (!n.ok) throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', `engine ${engine} is not available: ${n.reason}`);
  if (engine === 'cuda') {
    const g = gpuInfo();
    if (!g.ok) throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', `engine cuda is not available: ${g.reason}`);
  }
  const addon: NativeAddon = n.addon;
  const params = new Float64Array(sets.length * PARAM_WIRE.size);
  const acct = new Float64Array(sets.length * 3);
  plans.forEach((p, k) => {
    params.set(p.wire, k * PARAM_WIRE.size);
    acct.set([MODE_CODE[sets[k]!.trade.mode], sets[k]!.trade.feeBps, sets[k]!.trade.slippageBps], k * 3);
  });
  return {
    ...base,
    run: (req, symbols) =>
      nameSeries(
        () =>
          callNative(() =>
            addon.job({
              params,
              acct,
              closes: req.closes,
              offsets: req.offsets,
              ts: req.ts,
              states: req.states ?? null,
              accounts: req.accounts,
              last: req.last ?? null,
              alerts: req.alerts ?? null,
              ...(req.out ? { values: req.out.values, stride: req.out.stride, direction: req.out.direction, alertPlane: req.out.alerts } : {}),
              extra: req.extra ?? null,
              ...(req.portfolio ? { uIndex: req.portfolio.uIndex, nU: req.portfolio.nU, sums: req.portfolio.sums, counts: req.portfolio.counts } : {}),
              trades: req.trades === true,
              ...(opts.simdPath ? { path: opts.simdPath } : {}),
              ...(engine === 'cuda' ? { engine: 'cuda' as const } : {}),
            }),
          ),
        symbols,
      ),
  };
}

/** The reference job: each set alone, series by series, in the order the native one promises. */
function tsJob(sets: readonly JobSet[], plans: readonly Plan[], recordBytes: number, recordOffsets: readonly number[], req: JobRequest): Float64Array | undefined {
  const { closes, offsets, ts, accounts } = req;
  const n = offsets.length - 1;
  const np = sets.length;
  if (!(closes instanceof Float64Array) || !(offsets instanceof Uint32Array) || offsets.length < 1) throw new ArgumentError('closes/offsets must be a Float64Array and a non-empty Uint32Array');
  const end = checkOffsets(closes, offsets);
  if (ts.length < end) throw new ArgumentError('accounts need timestamps covering the closes');
  for (let j = 0; j < end; j++) if (!Number.isFinite(ts[j])) throw new ArgumentError(`ts[${j}] is not finite`);
  if (accounts.length !== n * np * ACCT_SIZE) throw new ArgumentError(`accounts must hold ${n} x ${np} records of ${ACCT_SIZE} values`);
  if (req.last && req.last.length !== n * np * LAST_FIELDS) throw new ArgumentError(`last must hold ${n} x ${np} x ${LAST_FIELDS} values`);
  if (req.alerts && req.alerts.length !== n * np * 2) throw new ArgumentError(`alerts must hold ${n} x ${np} x 2 values`);
  if (req.out && np !== 1) throw new ArgumentError('per-bar outputs are only written by single-set jobs');
  if (req.extra && (!req.out || req.extra.length < EXTRA_PLANES * req.out.stride)) throw new ArgumentError('extra planes need per-bar outputs and 3 planes of stride');
  const pf = req.portfolio;
  if (pf) {
    if (pf.uIndex.length < end || pf.counts.length !== pf.nU || pf.sums.length !== np * pf.nU * PORT_FIELDS) throw new ArgumentError('portfolio buffers have the wrong sizes');
    for (let j = 0; j < end; j++) if ((pf.uIndex[j] as number) >= pf.nU) throw new ArgumentError(`portfolio u_index[${j}] is past n_u ${pf.nU}`);
  }
  if (req.states && req.states.byteLength !== n * recordBytes) throw new ArgumentError(`state buffers must hold ${n} x ${np} records (${recordBytes} bytes per series)`);
  // Bars seen per series: every set's record and account must agree.
  const bars = new Array<number>(n).fill(0);
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < np; p++) {
      let b = 0;
      if (req.states) {
        const plan = plans[p] as Plan;
        const rec = req.states.subarray(s * recordBytes + (recordOffsets[p] as number), s * recordBytes + (recordOffsets[p] as number) + plan.stateBytes);
        b = checkState(plan, rec, 0).bars;
        if (p > 0 && b !== bars[s]) throw new ArgumentError(`series ${s}: the state records of its parameter sets have seen different bar counts`);
      }
      bars[s] = b;
      const seen = accounts[(s * np + p) * ACCT_SIZE + ACCT.bars];
      if (seen !== b) throw new ArgumentError(`series ${s}, set ${p}: the account has seen ${seen} bars, the kernel state ${b}`);
    }
  }
  checkCloses({ closes, offsets, out: allocOutputs(0) }, (s) => bars[s] as number);

  const out = req.out ?? allocOutputs(end);
  const trades: number[] = [];
  for (let p = 0; p < np; p++) {
    const plan = plans[p] as Plan;
    const trade = (sets[p] as JobSet).trade;
    for (let s = 0; s < n; s++) {
      const from = offsets[s] as number;
      const to = offsets[s + 1] as number;
      const at = s * recordBytes + (recordOffsets[p] as number);
      const rec = req.states ? req.states.subarray(at, at + plan.stateBytes) : new Uint8Array(plan.stateBytes);
      const payload = statePayload(plan, rec, 0);
      if (!req.states) initPayload(plan, payload);
      const k = s * np + p;
      if (to === from) {
        req.last?.fill(NaN, k * LAST_FIELDS, (k + 1) * LAST_FIELDS);
        continue;
      }
      referenceSeries(plan, payload, bars[s] as number, closes, from, to, out);
      if (req.states) writeStateHeader(plan, rec, 0, (bars[s] as number) + (to - from));
      if (req.last) {
        const b = to - 1;
        const l = req.last;
        // the planes are in LAST_VALUES order
        for (let c = 0; c < N_FLOAT_COLUMNS; c++) l[k * LAST_FIELDS + c] = out.values[c * out.stride + b] as number;
        l[k * LAST_FIELDS + LAST.direction] = out.direction[b] as number;
      }
      if (req.alerts) {
        let lo = 0;
        let sh = 0;
        for (let j = from; j < to; j++) {
          if (out.alerts[j] === 1) lo++;
          else if (out.alerts[j] === -1) sh++;
        }
        req.alerts[k * 2] = lo;
        req.alerts[k * 2 + 1] = sh;
      }
      accountSeries(req, s, p, np, trade, out.direction, bars[s] as number, trades);
    }
  }
  return req.trades ? Float64Array.from(trades) : undefined;
}

/** The accounting of series s under set p (of np) from its direction plane, as the native
 *  kernel does it: the account advanced in place, trades appended (when asked), the extra
 *  planes and portfolio sums written. `first` is the series' bars before this block. */
export function accountSeries(req: JobRequest, s: number, p: number, np: number, trade: BacktestParams, direction: Int8Array, first: number, trades: number[]): void {
  const from = req.offsets[s] as number;
  const to = req.offsets[s + 1] as number;
  const k = s * np + p;
  const pf = req.portfolio;
  const limb = new Float64Array(4);
  accountBars(
    req.accounts.subarray(k * ACCT_SIZE, (k + 1) * ACCT_SIZE),
    trade,
    direction,
    req.closes,
    req.ts,
    from,
    to,
    (t) => {
      if (req.trades) trades.push(s, p, t.side, t.entryTs, t.entryPrice, t.exitTs as number, t.exitPrice as number, t.barsHeld, t.return);
    },
    (j, held, heldPrev, ret, equity) => {
      if (req.extra && req.out) {
        const st = req.out.stride;
        req.extra[j] = held;
        req.extra[st + j] = ret;
        req.extra[2 * st + j] = equity;
      }
      if (pf && first + (j - from) > 0) {
        const u = pf.uIndex[j] as number;
        const o = (p * pf.nU + u) * PORT_FIELDS;
        splitReturn(ret, limb);
        for (let f = 0; f < 4; f++) pf.sums[o + f] = (pf.sums[o + f] as number) + (limb[f] as number);
        pf.sums[o + 4] = (pf.sums[o + 4] as number) + held;
        pf.sums[o + 5] = (pf.sums[o + 5] as number) + Math.abs(held);
        pf.sums[o + 6] = (pf.sums[o + 6] as number) + Math.abs(held - heldPrev);
        if (p === 0) pf.counts[u] = (pf.counts[u] as number) + 1;
      }
    },
  );
}

/** Per-set views of a job result, for tests and the pipeline. */
export function tradeRows(trades: Float64Array): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i + TRADE_FIELDS <= trades.length; i += TRADE_FIELDS) rows.push(Array.from(trades.subarray(i, i + TRADE_FIELDS)));
  return rows;
}
