// The backtest accounting, written to be read: positions from the kernel's `direction`,
// returns net of costs, equity, drawdown, trades and statistics. The Rust kernel implements
// the same steps (kernels/core/src/account.rs); tests compare the two and recompute the
// statistics independently in SQL.
//
// Conventions (README "Backtest conventions" states them for users):
//   target[i]  = direction[i] (1 / -1), 0 while direction is na; long-only maps -1 to 0,
//                short-only maps 1 to 0.
//   held[i]    = target[i-1]        (decided at close i-1, filled at close i; held[0] = 0)
//   ret[i]     = held[i-1] * (close[i] / close[i-1] - 1) - cost[i]           (ret[0] = 0)
//   cost[i]    = (fee_bps + slippage_bps) / 10000 * |held[i] - held[i-1]|
//   equity[i]  = prod (1 + ret[j]), j <= i                 (times --capital in per-bar outputs)
// The state is a fixed-size record of doubles, so an account carries across blocks of a
// series and across runs (the cache restores it) with the same bits as one pass.

export const MODES = ['long-short', 'long-only', 'short-only'] as const;
export type Mode = (typeof MODES)[number];

export interface BacktestParams {
  mode: Mode;
  feeBps: number;
  slippageBps: number;
}

export const DEFAULT_BACKTEST: BacktestParams = { mode: 'long-short', feeBps: 0, slippageBps: 0 };

/** Mode codes shared with the Rust kernel. */
export const MODE_CODE: Record<Mode, number> = { 'long-short': 0, 'long-only': 1, 'short-only': 2 };

/** State record layout (f64 each). */
export const ACCT = {
  bars: 0, // bars seen
  firstTs: 1,
  lastTs: 2,
  prevClose: 3,
  held: 4, // held[i-1] after bar i-1 (the position during the next bar)
  target: 5, // target[i-1]
  equity: 6,
  peak: 7,
  peakBar: 8,
  maxDd: 9,
  maxDdPeakBar: 10,
  maxDdDuration: 11, // -1 while the max drawdown has not recovered
  nRet: 12, // returns counted (bars after the first)
  mean: 13, // Welford mean of ret
  m2: 14, // Welford sum of squared deviations
  downSq: 15, // sum of min(ret, 0)^2
  heldBars: 16, // bars with held != 0
  turnover: 17, // sum |held[i] - held[i-1]|
  trades: 18, // entries into a non-zero position
  closedTrades: 19,
  wins: 20,
  sumTradeRet: 21, // over closed trades
  tradeSide: 22, // 0 when flat
  tradeEntryBar: 23,
  tradeEntryTs: 24,
  tradeEntryPrice: 25,
  tradeGrowth: 26, // growth of the open trade so far
  size: 27,
} as const;

export const ACCT_SIZE = ACCT.size;

/** Fields of one closed trade in a job's trades array (series and set, then the trade). */
export const TRADE = { series: 0, set: 1, side: 2, entryTs: 3, entryPrice: 4, exitTs: 5, exitPrice: 6, barsHeld: 7, return: 8 } as const;
export const TRADE_FIELDS = 9;
/** The fields of a trade without its series and set (as the cache keeps them): TRADE from side on. */
export const TRADE_RECORD_FIELDS = TRADE_FIELDS - TRADE.side;

/** The trade of a record of TRADE_RECORD_FIELDS values at `at` (side first). */
export function tradeOfRecord(r: ArrayLike<number>, at = 0): Trade {
  const f = (k: keyof typeof TRADE): number => r[at + TRADE[k] - TRADE.side] as number;
  return { side: f('side') as 1 | -1, entryTs: f('entryTs'), entryPrice: f('entryPrice'), exitTs: f('exitTs'), exitPrice: f('exitPrice'), barsHeld: f('barsHeld'), return: f('return') };
}

export interface Trade {
  side: 1 | -1;
  entryTs: number;
  entryPrice: number;
  /** null while the trade is open at the end of the data */
  exitTs: number | null;
  exitPrice: number | null;
  barsHeld: number;
  /** growth - 1, net of the entry and exit costs (half of a flip's cost each) */
  return: number;
}

export function freshAccount(): Float64Array {
  const a = new Float64Array(ACCT_SIZE);
  a[ACCT.prevClose] = NaN;
  a[ACCT.equity] = 1;
  a[ACCT.peak] = 1;
  a[ACCT.maxDdDuration] = -1;
  return a;
}

function targetOf(direction: number, mode: Mode): number {
  if (direction === 1) return mode === 'short-only' ? 0 : 1;
  if (direction === -1) return mode === 'long-only' ? 0 : -1;
  return 0;
}

/**
 * Advance the account by bars [from, to). `onTrade` receives trades that close in this range;
 * `onBar` (optional) receives each bar's position (held from this close on), the position that
 * earned this bar's return, the return and the equity (unit capital).
 */
export function accountBars(
  a: Float64Array,
  p: BacktestParams,
  direction: Int8Array,
  close: Float64Array,
  ts: Float64Array,
  from: number,
  to: number,
  onTrade: (t: Trade) => void,
  onBar?: (j: number, held: number, heldPrev: number, ret: number, equity: number) => void,
): void {
  const rate = (p.feeBps + p.slippageBps) / 10000;
  for (let j = from; j < to; j++) {
    const i = a[ACCT.bars] as number; // bar index in the series
    const c = close[j] as number;
    const t = ts[j] as number;
    if (i === 0) a[ACCT.firstTs] = t;
    const heldPrev = a[ACCT.held] as number;
    const held = a[ACCT.target] as number; // held[i] = target[i-1]
    const cost = rate * Math.abs(held - heldPrev);
    const r = i === 0 ? 0 : c / (a[ACCT.prevClose] as number) - 1;
    const ret = i === 0 ? 0 : heldPrev * r - cost;
    const equity = bookReturn(a, i, ret);

    // trades: the open one earns this bar's return (its position is heldPrev)
    if (a[ACCT.tradeSide] !== 0) {
      const side = a[ACCT.tradeSide] as number;
      if (held !== side) {
        // exit at this bar's close: this bar's return and its own half of the exit cost
        const growth = (a[ACCT.tradeGrowth] as number) * (1 + side * r - rate);
        const tr = growth - 1;
        onTrade({
          side: side as 1 | -1,
          entryTs: a[ACCT.tradeEntryTs] as number,
          entryPrice: a[ACCT.tradeEntryPrice] as number,
          exitTs: t,
          exitPrice: c,
          barsHeld: i - (a[ACCT.tradeEntryBar] as number),
          return: tr,
        });
        a[ACCT.closedTrades] = (a[ACCT.closedTrades] as number) + 1;
        if (tr > 0) a[ACCT.wins] = (a[ACCT.wins] as number) + 1;
        a[ACCT.sumTradeRet] = (a[ACCT.sumTradeRet] as number) + tr;
        a[ACCT.tradeSide] = 0;
      } else {
        a[ACCT.tradeGrowth] = (a[ACCT.tradeGrowth] as number) * (1 + side * r);
      }
    }
    if (held !== 0 && held !== heldPrev) {
      a[ACCT.trades] = (a[ACCT.trades] as number) + 1;
      a[ACCT.tradeSide] = held;
      a[ACCT.tradeEntryBar] = i;
      a[ACCT.tradeEntryTs] = t;
      a[ACCT.tradeEntryPrice] = c;
      a[ACCT.tradeGrowth] = 1 - rate;
    }

    if (held !== 0) a[ACCT.heldBars] = (a[ACCT.heldBars] as number) + 1;
    a[ACCT.turnover] = (a[ACCT.turnover] as number) + Math.abs(held - heldPrev);
    onBar?.(j, held, heldPrev, ret, equity);
    a[ACCT.held] = held;
    a[ACCT.target] = targetOf(direction[j] as number, p.mode);
    a[ACCT.prevClose] = c;
    a[ACCT.lastTs] = t;
    a[ACCT.bars] = i + 1;
  }
}

/**
 * Book bar i's return: equity, the running mean and variance (Welford), downside sum, drawdown
 * from the running peak (the max one's duration runs from its peak to recovery). Shared by the
 * symbol accounts and the portfolio curve.
 */
export function bookReturn(a: Float64Array, i: number, ret: number): number {
  const equity = (a[ACCT.equity] as number) * (1 + ret);
  a[ACCT.equity] = equity;
  if (i > 0) {
    const n = (a[ACCT.nRet] as number) + 1;
    const delta = ret - (a[ACCT.mean] as number);
    const mean = (a[ACCT.mean] as number) + delta / n;
    a[ACCT.m2] = (a[ACCT.m2] as number) + delta * (ret - mean);
    a[ACCT.mean] = mean;
    a[ACCT.nRet] = n;
    if (ret < 0) a[ACCT.downSq] = (a[ACCT.downSq] as number) + ret * ret;
  }
  if (equity >= (a[ACCT.peak] as number)) {
    if ((a[ACCT.maxDd] as number) > 0 && a[ACCT.maxDdDuration] === -1 && a[ACCT.maxDdPeakBar] === a[ACCT.peakBar]) {
      a[ACCT.maxDdDuration] = i - (a[ACCT.peakBar] as number);
    }
    a[ACCT.peak] = equity;
    a[ACCT.peakBar] = i;
  } else {
    const dd = 1 - equity / (a[ACCT.peak] as number);
    if (dd > (a[ACCT.maxDd] as number)) {
      a[ACCT.maxDd] = dd;
      a[ACCT.maxDdPeakBar] = a[ACCT.peakBar] as number;
      a[ACCT.maxDdDuration] = -1;
    }
  }
  return equity;
}

/** The open trade at the end of the data (marked to the last close, no exit cost), if any. */
export function openTrade(a: Float64Array): Trade | null {
  if (a[ACCT.tradeSide] === 0) return null;
  return {
    side: a[ACCT.tradeSide] as 1 | -1,
    entryTs: a[ACCT.tradeEntryTs] as number,
    entryPrice: a[ACCT.tradeEntryPrice] as number,
    exitTs: null,
    exitPrice: null,
    barsHeld: (a[ACCT.bars] as number) - 1 - (a[ACCT.tradeEntryBar] as number),
    return: (a[ACCT.tradeGrowth] as number) - 1,
  };
}

export const STATS_FIELDS = [
  'bars',
  'total_return',
  'cagr',
  'volatility',
  'sharpe',
  'sortino',
  'max_drawdown',
  'max_drawdown_bars',
  'calmar',
  'trades',
  'win_rate',
  'avg_trade_return',
  'exposure',
  'turnover',
  'final_position',
] as const;
export type Statistics = Record<(typeof STATS_FIELDS)[number], number | null>;

const YEAR_US = 365.25 * 86400e6;

/** Statistics from an account state (null where undefined: no variance, no time span, ...). */
export function statsOf(a: Float64Array): Statistics {
  const bars = a[ACCT.bars] as number;
  const years = ((a[ACCT.lastTs] as number) - (a[ACCT.firstTs] as number)) / YEAR_US;
  const ppy = years > 0 ? bars / years : null;
  const total = (a[ACCT.equity] as number) - 1;
  const n = a[ACCT.nRet] as number;
  const mean = a[ACCT.mean] as number;
  const sd = n > 1 ? Math.sqrt((a[ACCT.m2] as number) / (n - 1)) : null;
  const down = n > 0 ? Math.sqrt((a[ACCT.downSq] as number) / n) : null;
  const cagr = ppy === null ? null : total <= -1 ? -1 : Math.pow(1 + total, 1 / years) - 1;
  const maxDd = a[ACCT.maxDd] as number;
  const dur = a[ACCT.maxDdDuration] as number;
  const closed = a[ACCT.closedTrades] as number;
  return {
    bars,
    total_return: total,
    cagr,
    volatility: sd === null || ppy === null ? null : sd * Math.sqrt(ppy),
    sharpe: sd === null || ppy === null || sd === 0 ? null : (mean / sd) * Math.sqrt(ppy),
    sortino: down === null || ppy === null || down === 0 ? null : (mean / down) * Math.sqrt(ppy),
    max_drawdown: maxDd,
    max_drawdown_bars: maxDd > 0 ? (dur >= 0 ? dur : bars - 1 - (a[ACCT.maxDdPeakBar] as number)) : 0,
    calmar: cagr === null || maxDd === 0 ? null : cagr / maxDd,
    trades: a[ACCT.trades] as number,
    win_rate: closed > 0 ? (a[ACCT.wins] as number) / closed : null,
    avg_trade_return: closed > 0 ? (a[ACCT.sumTradeRet] as number) / closed : null,
    exposure: bars > 0 ? (a[ACCT.heldBars] as number) / bars : null,
    turnover: a[ACCT.turnover] as number,
    final_position: a[ACCT.held] as number,
  };
}
