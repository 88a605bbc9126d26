// Symbols cut into blocks, until their last block: a symbol commits with its last block, so the
// earlier blocks' files, alert counts, closed trades and portfolio sums wait here (and are
// dropped if the symbol is skipped later). A symbol continued from the cache starts here with
// what the cache holds.

import type { PortfolioPartial } from '../../backtest/portfolio.js';
import type { TailStart } from '../../cache/plan.js';
import type { Row } from '../../data/rows-writer.js';

export type TempFile = { temp: string; final: string };

export interface Pending {
  files: TempFile[];
  firstTs: number;
  /** bars of the blocks so far (counted in the symbol's commit) */
  bars: number;
  /** per set: long, short alerts so far */
  alerts: Uint32Array;
  portfolio: PortfolioPartial[];
  /** per set: closed trades so far (TRADE_RECORD_FIELDS each), for the cache */
  closed: number[][];
  /** trade rows of cached bars, written when the symbol completes */
  emit: Row[];
  /** continued from the cache: its results there (a symbol whose new rows are all dropped ends with them) */
  cached?: TailStart;
}

export class PendingSymbols {
  private readonly map = new Map<string, Pending>();

  constructor(private readonly nSets: number) {}

  /** `symbol` continues from cached bars: its first ts, alerts and closed trades so far. */
  seed(symbol: string, t: TailStart, emit: Row[]): void {
    const closed = t.trades ? t.trades.map((a) => Array.from(a)) : Array.from({ length: this.nSets }, () => []);
    this.map.set(symbol, { files: [], firstTs: t.firstTs, bars: 0, alerts: Uint32Array.from(t.alerts.subarray(0, this.nSets * 2)), portfolio: [], closed, emit, cached: t });
  }

  /** A block of `bars` that does not end `symbol`: add its alerts and closed trades (per set). */
  block(symbol: string, firstTs: number, bars: number, alerts: Uint32Array, closed: (k: number) => readonly number[]): Pending {
    let p = this.map.get(symbol);
    if (!p) {
      p = { files: [], firstTs, bars: 0, alerts: new Uint32Array(this.nSets * 2), portfolio: [], closed: Array.from({ length: this.nSets }, () => []), emit: [] };
      this.map.set(symbol, p);
    }
    p.bars += bars;
    for (let k = 0; k < alerts.length; k++) p.alerts[k] = (p.alerts[k] as number) + (alerts[k] as number);
    for (let k = 0; k < this.nSets; k++) (p.closed[k] as number[]).push(...closed(k));
    return p;
  }

  /** What waited for `symbol`'s last block (now here), or for it to be skipped. */
  take(symbol: string): Pending | undefined {
    const p = this.map.get(symbol);
    this.map.delete(symbol);
    return p;
  }
}
