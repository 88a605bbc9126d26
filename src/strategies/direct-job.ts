// The job of a direction strategy (Supertrend, precomputed signals, a user's module): per
// parameter set, the strategy's kernel writes its per-bar outputs and trading direction for
// every series of the chunk, then the generic accounting backtests the direction (natively:
// kernels/core/src/direct.rs; the TypeScript engine: backtest/accounting.ts, same bits). The
// last-values record of a (series, set) holds the outputs at its last bar in `outputs` order,
// and the direction at LAST.direction.

import { ACCT, ACCT_SIZE, type BacktestParams, MODE_CODE } from '../backtest/accounting.js';
import { LAST, LAST_FIELDS, N_FLOAT_COLUMNS } from '../engine/batch.js';
import { accountSeries, type JobRequest, type TaskKernel } from '../engine/job.js';
import { callNative, nameSeries } from '../engine/kernel.js';
import { loadNative } from '../engine/native.js';
import type { EngineName } from '../engine/select.js';
import { ArgumentError, AtcError } from '../errors.js';
import type { SignalKernel, Strategy } from './types.js';

export interface DirectSet {
  values: Readonly<Record<string, number>>;
  trade: BacktestParams;
}

export function createDirectJob(strategy: Strategy, sets: readonly DirectSet[], engine: EngineName): TaskKernel {
  if (sets.length === 0) throw new ArgumentError('a job needs at least one parameter set');
  if (strategy.outputs.length > N_FLOAT_COLUMNS) throw new ArgumentError(`strategy ${strategy.name}: at most ${N_FLOAT_COLUMNS} outputs`);
  const kernels: SignalKernel[] = sets.map((s) => strategy.kernel(s.values, engine));
  const recordOffsets: number[] = [];
  let recordBytes = 0;
  for (const k of kernels) {
    recordOffsets.push(recordBytes);
    recordBytes += k.stateBytes;
  }
  let account: ((req: JobRequest, p: number, direction: Int8Array, bars: readonly number[], trades: number[]) => void) | undefined;
  if (engine !== 'ts') {
    const n = loadNative();
    if (!n.ok) throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', `engine ${engine} is not available: ${n.reason}`);
    const addon = n.addon;
    if (typeof addon.account !== 'function') throw new AtcError('ATC_ERR_ENGINE_UNAVAILABLE', 'the native kernel has no account export; rebuild with `npm run build:native`');
    account = (req, p, direction, _bars, trades) => {
      const set = sets[p] as DirectSet;
      const t = callNative(() =>
        addon.account({
          closes: req.closes,
          offsets: req.offsets,
          ts: req.ts,
          direction,
          set: p,
          nSets: sets.length,
          mode: MODE_CODE[set.trade.mode],
          feeBps: set.trade.feeBps,
          slippageBps: set.trade.slippageBps,
          accounts: req.accounts,
          ...(req.extra && req.out ? { extra: req.extra, stride: req.out.stride } : {}),
          ...(req.portfolio ? { uIndex: req.portfolio.uIndex, nU: req.portfolio.nU, sums: req.portfolio.sums, counts: req.portfolio.counts } : {}),
          trades: req.trades === true,
        }),
      );
      if (t) for (const v of t) trades.push(v);
    };
  } else {
    account = (req, p, direction, bars, trades) => {
      for (let s = 0; s + 1 < req.offsets.length; s++) accountSeries(req, s, p, sets.length, (sets[p] as DirectSet).trade, direction, bars[s] as number, trades);
    };
  }
  const freshStates = (n: number): Uint8Array => {
    const buf = new Uint8Array(n * recordBytes);
    kernels.forEach((k, p) => {
      const one = k.freshStates(1);
      for (let s = 0; s < n; s++) buf.set(one, s * recordBytes + (recordOffsets[p] as number));
    });
    return buf;
  };
  const run = (req: JobRequest, symbols?: readonly string[]): Float64Array | undefined => {
    const { offsets, accounts } = req;
    const n = offsets.length - 1;
    const np = sets.length;
    if (req.out && np !== 1) throw new ArgumentError('per-bar outputs are only written by single-set jobs');
    const end = offsets[n] as number;
    if (accounts.length !== n * np * ACCT_SIZE) throw new ArgumentError(`accounts must hold ${n} x ${np} records of ${ACCT_SIZE} values`);
    if (req.states && req.states.length !== n * recordBytes) throw new ArgumentError(`state buffers must hold ${n} x ${np} records (${recordBytes} bytes per series)`);
    const inputs: Record<string, Float64Array> = { ...req.inputs, close: req.closes };
    for (const c of strategy.inputs) if (!inputs[c.name]) throw new ArgumentError(`strategy ${strategy.name} reads column ${c.name}: not in the job`);
    const states = req.states ?? freshStates(n);
    const out = req.out;
    const planes = strategy.outputs.map((_, o) => (out ? out.values.subarray(o * out.stride, o * out.stride + end) : new Float64Array(end)));
    const direction = out ? out.direction : new Int8Array(end);
    out?.alerts.fill(0, offsets[0], end);
    // no alerts: the ATC's threshold alerts have no counterpart here
    req.alerts?.fill(0);
    const trades: number[] = [];
    for (let p = 0; p < np; p++) {
      const k = kernels[p] as SignalKernel;
      const sb = k.stateBytes;
      const mine = new Uint8Array(n * sb);
      for (let s = 0; s < n; s++) mine.set(states.subarray(s * recordBytes + (recordOffsets[p] as number), s * recordBytes + (recordOffsets[p] as number) + sb), s * sb);
      const bars = Array.from({ length: n }, (_, s) => k.stateBars(mine, s));
      bars.forEach((b, s) => {
        const seen = accounts[(s * np + p) * ACCT_SIZE + ACCT.bars];
        if (seen !== b) throw new ArgumentError(`series ${s}, set ${p}: the account has seen ${seen} bars, the strategy state ${b}`);
      });
      nameSeries(() => k.run({ inputs, offsets, states: mine, planes, direction }, symbols), symbols);
      for (let s = 0; s < n; s++) states.set(mine.subarray(s * sb, (s + 1) * sb), s * recordBytes + (recordOffsets[p] as number));
      if (req.last) {
        for (let s = 0; s < n; s++) {
          const at = (s * np + p) * LAST_FIELDS;
          const b = (offsets[s + 1] as number) - 1;
          req.last.fill(NaN, at, at + LAST_FIELDS);
          if (b < (offsets[s] as number)) continue;
          planes.forEach((pl, o) => ((req.last as Float64Array)[at + o] = pl[b] as number));
          req.last[at + LAST.direction] = direction[b] as number;
        }
      }
      nameSeries(() => account(req, p, direction, bars, trades), symbols);
    }
    return req.trades ? Float64Array.from(trades) : undefined;
  };
  return { recordBytes, freshStates, run };
}
