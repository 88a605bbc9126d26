// The equal-weight portfolio: every bar, on the union of all symbols' timestamps, the mean of
// the strategy returns of the symbols that have a return at that timestamp (their second bar
// on), rebalanced every bar. Kernels emit partial sums per (parameter set, timestamp); the run
// accumulates them (PortfolioSums), writes them as parts, and the final pass adds the parts up
// in DuckDB and walks each set's timestamps in order (portfolioCurve).
//
// Sums of returns are kept as four exact limbs (splitReturn), so that adding them in any
// order or grouping gives the same bits: the portfolio does not depend on chunk sizes, worker
// counts or the order in which chunks finish, and DuckDB's parallel SUM adds them exactly.

import { ACCT, bookReturn, freshAccount, type Statistics, statsOf } from './accounting.js';

/** Per (set, timestamp): return limbs 0-3, net position, gross position, turnover. */
export const PORT = { l0: 0, l1: 1, l2: 2, l3: 3, net: 4, gross: 5, turnover: 6 } as const;
export const PORT_FIELDS = 7;

/** A drained row of sums (values as in PORTFOLIO_PART; `set` is the set's index in its group). */
/** The sums of one (set, timestamp), named as PORTFOLIO_PART's columns. */
export type PortSums = Record<keyof typeof PORT, number>;
export interface PortfolioSumRow extends PortSums {
  set: number;
  ts: number;
  symbols: number;
}

// (x + C) - C rounds x to a multiple of ulp(C) = C / 1.5 / 2^52.
const LIMB_C = [1.5 * 2 ** 58, 1.5 * 2 ** 24, 1.5 * 2 ** -10, 1.5 * 2 ** -44] as const;

/**
 * x = l0 + l1 + l2 + l3 + (|rest| < 2^-96), limbs multiples of 2^6, 2^-28, 2^-62, 2^-96 with at
 * most 34 significant bits each, so up to 2^19 of them add exactly in a double. The same steps
 * as kernels/core/src/account.rs `limbs`.
 */
export function splitReturn(x: number, out: Float64Array | number[], at = 0): void {
  let rest = x;
  for (let k = 0; k < 4; k++) {
    const c = LIMB_C[k] as number;
    const v = rest + c - c;
    out[at + k] = v;
    rest -= v;
  }
}

/** The return a row of limbs stands for. */
export function joinReturn(l0: number, l1: number, l2: number, l3: number): number {
  return l0 + l1 + l2 + l3;
}

/** One chunk's partial sums from a kernel job. */
export interface PortfolioPartial {
  /** the chunk's distinct timestamps, ascending */
  ts: Float64Array;
  /** nSets x ts.length x PORT_FIELDS */
  sums: Float64Array;
  /** symbols with a return per timestamp */
  counts: Float64Array;
}

/** Distinct sorted timestamps of bars [0, n) and each bar's index among them. */
export function timestampSlots(ts: Float64Array, n: number): { ts: Float64Array; index: Uint32Array } {
  const sorted = Float64Array.from(ts.subarray(0, n)).sort();
  let m = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[m - 1]) sorted[m++] = sorted[i] as number;
  const uniq = sorted.slice(0, m);
  const slot = new Map<number, number>();
  uniq.forEach((t, i) => slot.set(t, i));
  const index = new Uint32Array(n);
  for (let j = 0; j < n; j++) index[j] = slot.get(ts[j] as number) as number;
  return { ts: uniq, index };
}

/**
 * Partial sums of many chunks, per timestamp, for nSets parameter sets; exact in any order.
 * Memory grows with distinct timestamps x sets, so the run drains it into a part (rows()) at
 * checkpoints.
 */
export class PortfolioSums {
  private readonly slot = new Map<number, number>();
  private sums = new Float64Array(0);
  private counts = new Float64Array(0);
  private n = 0;

  constructor(readonly nSets: number) {}

  get size(): number {
    return this.n;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.sums.byteLength + this.counts.byteLength + this.n * 40;
  }

  add(p: PortfolioPartial): void {
    const nu = p.ts.length;
    for (let u = 0; u < nu; u++) {
      const t = p.ts[u] as number;
      let at = this.slot.get(t);
      if (at === undefined) {
        at = this.n++;
        this.slot.set(t, at);
        this.grow();
      }
      this.counts[at] = (this.counts[at] as number) + (p.counts[u] as number);
      for (let s = 0; s < this.nSets; s++) {
        const src = (s * nu + u) * PORT_FIELDS;
        const dst = (at * this.nSets + s) * PORT_FIELDS;
        for (let f = 0; f < PORT_FIELDS; f++) this.sums[dst + f] = (this.sums[dst + f] as number) + (p.sums[src + f] as number);
      }
    }
  }

  private grow(): void {
    if (this.n <= this.counts.length) return;
    const cap = Math.max(1024, this.counts.length * 2);
    const c = new Float64Array(cap);
    c.set(this.counts);
    this.counts = c;
    const s = new Float64Array(cap * this.nSets * PORT_FIELDS);
    s.set(this.sums);
    this.sums = s;
  }

  /** Rows (the set's index, ts, then the PORTFOLIO_PART sums) of every slot with a return, then empty. */
  drain(): PortfolioSumRow[] {
    const rows: PortfolioSumRow[] = [];
    for (const [t, at] of this.slot) {
      if (this.counts[at] === 0) continue; // only first bars there: no return to add
      for (let s = 0; s < this.nSets; s++) {
        const o = (at * this.nSets + s) * PORT_FIELDS;
        const sums = Object.fromEntries(Object.entries(PORT).map(([k, f]) => [k, this.sums[o + f] as number])) as PortSums;
        rows.push({ set: s, ts: t, ...sums, symbols: this.counts[at] as number });
      }
    }
    this.slot.clear();
    this.n = 0;
    this.sums.fill(0);
    this.counts.fill(0);
    return rows;
  }
}

export interface PortfolioPoint {
  ts: number;
  ret: number;
  equity: number;
  symbols: number;
  net: number;
  gross: number;
  turnover: number;
}

/**
 * Walks one set's summed rows in timestamp order: the curve (unit capital) and, at the end, the
 * statistics (the same definitions as per symbol: statsOf over the portfolio's returns).
 * Exposure is the mean gross position, turnover the sum of per-bar turnover, final position the
 * mean net position at the last timestamp; trade counts are added from the symbols' accounts.
 */
export class PortfolioCurve {
  private readonly a = freshAccount();
  private exposureSum = 0;
  private lastNet = 0;
  private turnover = 0;

  /** The first timestamp of the data: the portfolio's bar 0, before any return. */
  constructor(firstTs: number) {
    this.start(firstTs);
  }

  private start(ts: number): void {
    this.a[ACCT.firstTs] = ts;
    this.a[ACCT.lastTs] = ts;
    this.a[ACCT.bars] = 1;
  }

  step(ts: number, sums: PortSums, symbols: number): PortfolioPoint {
    const { net, gross, turnover: turn } = sums;
    const ret = joinReturn(sums.l0, sums.l1, sums.l2, sums.l3) / symbols;
    const a = this.a;
    const i = a[ACCT.bars] as number;
    const equity = bookReturn(a, i, ret);
    a[ACCT.lastTs] = ts;
    a[ACCT.bars] = i + 1;
    this.exposureSum += gross / symbols;
    this.turnover += turn / symbols;
    this.lastNet = net / symbols;
    return { ts, ret, equity, symbols, net: net / symbols, gross: gross / symbols, turnover: turn / symbols };
  }

  stats(trades: { trades: number; closed: number; wins: number; sumReturn: number }): Statistics {
    const st = statsOf(this.a);
    const steps = (this.a[ACCT.nRet] as number) || 0;
    return {
      ...st,
      trades: trades.trades,
      win_rate: trades.closed > 0 ? trades.wins / trades.closed : null,
      avg_trade_return: trades.closed > 0 ? trades.sumReturn / trades.closed : null,
      exposure: steps > 0 ? this.exposureSum / steps : null,
      turnover: this.turnover,
      final_position: steps > 0 ? this.lastNet : null,
    };
  }
}
