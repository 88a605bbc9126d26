// The backtest accounting and the multi-set job:
//  * a tiny case checked by hand against the documented conventions;
//  * the native job agrees with the TypeScript one bit for bit (accounts, trades, portfolio
//    sums, last values, states) on random series and random parameter sets;
//  * every set of a sweep gets the bits it gets alone (the shared MA work changes nothing);
//  * portfolio sums do not depend on the order they are added in.

import { describe, expect, it } from 'vitest';
import { Rng, randomWalks } from '../../datasets/index.js';
import { accountBars, ACCT_SIZE, type BacktestParams, freshAccount, MODES, openTrade, statsOf, type Trade } from '../../src/backtest/accounting.js';
import { PORT_FIELDS, PortfolioSums, splitReturn, timestampSlots } from '../../src/backtest/portfolio.js';
import { resolveParams, ROBUSTNESS } from '../../src/config/params.js';
import { allocOutputs, N_FLOAT_COLUMNS } from '../../src/engine/batch.js';
import { EXTRA_PLANES, LAST_FIELDS } from '../../src/engine/batch.js';
import { createJobKernel, type JobSet } from '../../src/engine/job.js';
import { createKernel } from '../../src/engine/kernel.js';
import { ENGINES, JOB_ENGINES, NATIVE_OK } from '../helpers/engines.js';

const HOUR_US = 3600e6;

describe('accounting by hand', () => {
  // closes 100, 110, 99, 99, 108.9; direction long at bar 0, short from bar 1; 10 bps cost.
  const close = Float64Array.of(100, 110, 99, 99, 108.9);
  const dir = Int8Array.of(1, -1, -1, -1, -1);
  const ts = Float64Array.from(close, (_, i) => i * HOUR_US);
  const p: BacktestParams = { mode: 'long-short', feeBps: 6, slippageBps: 4 };

  it('follows the stated conventions bar by bar', () => {
    const a = freshAccount();
    const bars: [number, number, number][] = [];
    const trades: Trade[] = [];
    accountBars(a, p, dir, close, ts, 0, 5, (t) => trades.push(t), (_j, held, _hp, ret, eq) => bars.push([held, ret, eq]));
    // held[i] = target[i-1]; ret[i] = held[i-1] * (c[i]/c[i-1] - 1) - 0.001 * |held[i] - held[i-1]|
    expect(bars.map((b) => b[0])).toEqual([0, 1, -1, -1, -1]);
    expect(bars[0]![1]).toBe(0);
    expect(bars[1]![1]).toBeCloseTo(-0.001, 15);
    expect(bars[2]![1]).toBeCloseTo(99 / 110 - 1 - 0.002, 15);
    expect(bars[3]![1] === 0).toBe(true); // -0: a short position times a zero move
    expect(bars[4]![1]).toBeCloseTo(-(108.9 / 99 - 1), 15);
    expect(bars[4]![2]).toBeCloseTo(0.999 * (1 + 99 / 110 - 1 - 0.002) * (1 - (108.9 / 99 - 1)), 14);
    // the long trade: entered at bar 1's close (110), exited at bar 2's (99), half a flip's cost each side
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ side: 1, entryPrice: 110, exitPrice: 99, barsHeld: 1, entryTs: HOUR_US, exitTs: 2 * HOUR_US });
    expect(trades[0]!.return).toBeCloseTo(0.999 * (99 / 110 - 0.001) - 1, 14);
    const open = openTrade(a);
    expect(open).toMatchObject({ side: -1, entryPrice: 99, exitTs: null, barsHeld: 2 });
    expect(open!.return).toBeCloseTo(0.999 * (1 - (108.9 / 99 - 1)) - 1, 14);

    const st = statsOf(a);
    const rets = [-0.001, 99 / 110 - 1 - 0.002, 0, -(108.9 / 99 - 1)];
    const mean = rets.reduce((x, y) => x + y) / 4;
    const sd = Math.sqrt(rets.reduce((x, y) => x + (y - mean) ** 2, 0) / 3);
    const ppy = 5 / ((4 * HOUR_US) / (365.25 * 86400e6));
    expect(st.bars).toBe(5);
    expect(st.trades).toBe(2);
    expect(st.win_rate).toBe(0);
    expect(st.exposure).toBe(4 / 5);
    expect(st.turnover).toBe(3);
    expect(st.final_position).toBe(-1);
    expect(st.total_return).toBeCloseTo(bars[4]![2] - 1, 15);
    expect(st.volatility).toBeCloseTo(sd * Math.sqrt(ppy), 9);
    expect(st.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(ppy), 9);
    expect(st.max_drawdown).toBeCloseTo(1 - bars[4]![2], 14);
    expect(st.max_drawdown_bars).toBe(4);
  });

  it('maps direction to positions by mode', () => {
    const held = (mode: (typeof MODES)[number]): number[] => {
      const a = freshAccount();
      const out: number[] = [];
      accountBars(a, { ...p, mode }, dir, close, ts, 0, 5, () => undefined, (_j, h) => out.push(h));
      return out;
    };
    expect(held('long-only')).toEqual([0, 1, 0, 0, 0]);
    expect(held('short-only')).toEqual([0, 0, -1, -1, -1]);
  });
});

describe('portfolio sums', () => {
  it('split returns add exactly, in any order', () => {
    const rng = new Rng(5);
    const xs = Array.from({ length: 2000 }, () => (rng.unit() - 0.5) * 10 ** (1 - rng.below(12)));
    const sum = (order: number[]): number[] => {
      const acc = [0, 0, 0, 0];
      const l = new Float64Array(4);
      for (const i of order) {
        splitReturn(xs[i] as number, l);
        for (let k = 0; k < 4; k++) acc[k] = (acc[k] as number) + (l[k] as number);
      }
      return acc;
    };
    const fwd = sum(xs.map((_, i) => i));
    const shuffled = xs.map((_, i) => i).sort(() => rng.unit() - 0.5);
    expect(sum(shuffled)).toEqual(fwd);
    // and they stand for the plain sum up to rounding
    expect(fwd.reduce((a, b) => a + b)).toBeCloseTo(xs.reduce((a, b) => a + b), 12);
  });

  it('accumulates partials by timestamp', () => {
    const acc = new PortfolioSums(2);
    const mk = (ts: number[], v: number): { ts: Float64Array; sums: Float64Array; counts: Float64Array } => ({
      ts: Float64Array.from(ts),
      sums: Float64Array.from({ length: 2 * ts.length * PORT_FIELDS }, () => v),
      counts: Float64Array.from(ts, () => 1),
    });
    acc.add(mk([10, 20], 1));
    acc.add(mk([20, 30], 2));
    const rows = acc.drain().sort((a, b) => a.ts - b.ts || a.set - b.set);
    expect(rows.map((r) => [r.set, r.ts, r.l0, r.symbols])).toEqual([
      [0, 10, 1, 1],
      [1, 10, 1, 1],
      [0, 20, 3, 2],
      [1, 20, 3, 2],
      [0, 30, 2, 1],
      [1, 30, 2, 1],
    ]);
    expect(acc.size).toBe(0);
  });

  it('slots timestamps', () => {
    const { ts, index } = timestampSlots(Float64Array.of(5, 7, 9, 1, 7, 9, 11), 7);
    expect(Array.from(ts)).toEqual([1, 5, 7, 9, 11]);
    expect(Array.from(index)).toEqual([1, 2, 3, 0, 2, 3, 4]);
  });
});

function randomSets(rng: Rng, n: number): JobSet[] {
  const profile = rng.below(2) === 0 ? 'pine' : 'seed';
  const robustness = ROBUSTNESS[rng.below(3)];
  const base = 12 + rng.below(20);
  return Array.from({ length: n }, () => ({
    params: resolveParams({
      profile,
      robustness,
      lambda: [0, 0.02, 0.1][rng.below(3)],
      decay: [0, 0.03, 0.5][rng.below(3)],
      cutout: [0, 0, 5, 30][rng.below(4)],
      lengths: [base, base + rng.below(2) * 4, base, base, base - rng.below(2) * 3, base],
      weights: Array.from({ length: 6 }, () => 0.2 + rng.unit()),
      longThreshold: [0.1, 0, 0.25][rng.below(3)],
      shortThreshold: [-0.1, 0, -0.25][rng.below(3)],
    }),
    trade: { mode: MODES[rng.below(3)]!, feeBps: [0, 1, 5][rng.below(3)]!, slippageBps: [0, 2][rng.below(2)]! },
  }));
}

interface JobOut {
  last: Float64Array;
  alerts: Uint32Array;
  accounts: Float64Array;
  trades: number[][];
  sums: Float64Array;
  counts: Float64Array;
  states: Uint8Array;
}

function runJob(sets: JobSet[], engine: 'ts' | 'rust' | 'cuda', closes: Float64Array, offsets: Uint32Array): JobOut {
  const k = createJobKernel(sets, engine);
  const n = offsets.length - 1;
  const np = sets.length;
  const ts = new Float64Array(closes.length);
  for (let s = 0; s < n; s++) for (let j = offsets[s] as number; j < (offsets[s + 1] as number); j++) ts[j] = (j - (offsets[s] as number) + 3 * s) * HOUR_US;
  const slots = timestampSlots(ts, closes.length);
  const accounts = new Float64Array(n * np * ACCT_SIZE);
  for (let i = 0; i < n * np; i++) accounts.set(freshAccount(), i * ACCT_SIZE);
  const states = k.freshStates(n);
  const last = new Float64Array(n * np * LAST_FIELDS);
  const alerts = new Uint32Array(n * np * 2);
  const sums = new Float64Array(np * slots.ts.length * PORT_FIELDS);
  const counts = new Float64Array(slots.ts.length);
  const tr = k.run({ closes, offsets, ts, states, accounts, last, alerts, portfolio: { uIndex: slots.index, nU: slots.ts.length, sums, counts }, trades: true }) as Float64Array;
  const trades: number[][] = [];
  for (let i = 0; i < tr.length; i += 9) trades.push(Array.from(tr.subarray(i, i + 9)));
  trades.sort((a, b) => {
    for (let f = 0; f < 9; f++) if (a[f] !== b[f]) return (a[f] as number) - (b[f] as number);
    return 0;
  });
  return { last, alerts, accounts, trades, sums, counts, states };
}

/** Bitwise equality of doubles (NaN equal to NaN). */
function sameDoubles(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return false;
  return true;
}

describe.each(JOB_ENGINES)('the %s job', (engine) => {
  it('agrees with the TypeScript job bit for bit', () => {
    const rng = new Rng(31);
    for (let r = 0; r < 4; r++) {
      const sets = randomSets(rng, 1 + rng.below(4));
      const { closes, offsets } = randomWalks(3, 120 + rng.below(200), 300 + r);
      const a = runJob(sets, engine, closes, offsets);
      const b = runJob(sets, 'ts', closes, offsets);
      expect(sameDoubles(a.accounts, b.accounts)).toBe(true);
      expect(sameDoubles(a.last, b.last)).toBe(true);
      expect(Array.from(a.alerts)).toEqual(Array.from(b.alerts));
      expect(a.trades.length).toBe(b.trades.length);
      expect(a.trades.every((t, i) => sameDoubles(t, b.trades[i]!))).toBe(true);
      expect(sameDoubles(a.sums, b.sums)).toBe(true);
      expect(sameDoubles(a.counts, b.counts)).toBe(true);
      // state records are 8-byte words; a GPU's NaNs carry another payload than the CPU's
      const words = (v: Uint8Array): Float64Array => new Float64Array(v.buffer, v.byteOffset, v.byteLength / 8);
      if (engine === 'cuda') expect(sameDoubles(words(a.states), words(b.states))).toBe(true);
      else expect(Buffer.compare(Buffer.from(a.states), Buffer.from(b.states))).toBe(0);
    }
  });
});

describe.skipIf(!NATIVE_OK)('the native job', () => {
  it('gives every set of a sweep the bits it gets alone', () => {
    const rng = new Rng(32);
    const sets = randomSets(rng, 6);
    const { closes, offsets } = randomWalks(5, 400, 77);
    const all = runJob(sets, 'rust', closes, offsets);
    const np = sets.length;
    const n = offsets.length - 1;
    sets.forEach((set, p) => {
      const one = runJob([set], 'rust', closes, offsets);
      const pick = (v: Float64Array, w: number): number[] => Array.from({ length: n }, (_, s) => Array.from(v.subarray((s * np + p) * w, (s * np + p + 1) * w))).flat();
      expect(sameDoubles(pick(all.accounts, ACCT_SIZE), one.accounts)).toBe(true);
      expect(sameDoubles(pick(all.last, LAST_FIELDS), one.last)).toBe(true);
      const nu = all.counts.length;
      expect(sameDoubles(all.sums.subarray(p * nu * PORT_FIELDS, (p + 1) * nu * PORT_FIELDS), one.sums)).toBe(true);
      const mine = all.trades.filter((t) => t[1] === p).map((t) => [t[0], 0, ...t.slice(2)]);
      expect(mine).toEqual(one.trades);
    });
  });
});

describe.each(ENGINES)('a single-set job (%s)', (engine) => {
  it('writes the kernel outputs and the equity planes', () => {
    const rng = new Rng(33);
    const [set] = randomSets(rng, 1);
    const { closes, offsets } = randomWalks(2, 300, 9);
    const k = createJobKernel([set!], engine);
    const out = allocOutputs(closes.length);
    const extra = new Float64Array(EXTRA_PLANES * closes.length);
    const accounts = new Float64Array(2 * ACCT_SIZE);
    accounts.set(freshAccount(), 0);
    accounts.set(freshAccount(), ACCT_SIZE);
    const ts = Float64Array.from(closes, (_, j) => j * HOUR_US);
    k.run({ closes, offsets, ts, accounts, out, extra });
    const ref = allocOutputs(closes.length);
    createKernel(set!.params, engine).step({ closes, offsets, out: ref });
    expect(sameDoubles(out.values.subarray(0, N_FLOAT_COLUMNS * closes.length), ref.values)).toBe(true);
    expect(Array.from(out.direction)).toEqual(Array.from(ref.direction));
    // the equity plane compounds the return plane; its last value is the account's equity
    for (let s = 0; s < 2; s++) {
      let eq = 1;
      for (let j = offsets[s] as number; j < (offsets[s + 1] as number); j++) {
        eq *= 1 + (extra[closes.length + j] as number);
        expect(extra[2 * closes.length + j]).toBe(eq);
      }
      expect(accounts[s * ACCT_SIZE + 6]).toBe(eq);
    }
  });
});
