// The rows a finished symbol contributes to the run's tables, built from what the kernel
// returns (last values, alert counts, the account, trade records). Rows are objects keyed by
// the columns of results/schema.ts; timestamps are epoch microseconds.

import { ACCT, openTrade, statsOf, type Trade, TRADE, TRADE_FIELDS, tradeOfRecord } from '../../backtest/accounting.js';
import { splitReturn } from '../../backtest/portfolio.js';
import type { Row } from '../../data/rows-writer.js';
import { LAST } from '../../engine/batch.js';
import { trendOf } from '../../results/schema.js';
import { ATC_TABLES, type StrategyTables } from '../../strategies/tables.js';
import type { Reject } from '../load/index.js';

export interface SymbolEnd {
  symbol: string;
  paramId: string;
  /** bars of the symbol (all blocks) */
  bars: number;
  firstTs: number;
  lastTs: number;
  lastClose: number;
  /** the set's last-values record (LAST_VALUES) */
  last: Float64Array;
  longAlerts: number;
  shortAlerts: number;
}

/** A summary row of the ATC (tables absent) or of another strategy (strategies/tables.ts). */
export function summaryRow(e: SymbolEnd, minSignal: number, tables: StrategyTables = ATC_TABLES): Row {
  const dir = e.last[LAST.direction] as number;
  const atc = tables.strategy === 'atc';
  const row: Record<string, unknown> = {
    symbol: e.symbol,
    bars: e.bars,
    first_ts: e.firstTs,
    last_ts: e.lastTs,
    last_close: e.lastClose,
    ...(atc ? { long_alerts: e.longAlerts, short_alerts: e.shortAlerts } : {}),
    trend: atc ? trendOf(e.last[LAST.Average_Signal] as number, minSignal) : dir === 1 ? 'LONG' : dir === -1 ? 'SHORT' : 'NEUTRAL',
    param_id: e.paramId,
  };
  for (const { name, index } of tables.summaryLast) {
    const v = e.last[index] as number;
    // NaN is na; a direction of 0 is na where the strategy says so
    row[name] = Number.isNaN(v) || (name === 'direction' && v === 0 && tables.zeroIsNull) ? null : v;
  }
  return row;
}

/** A stats part row (STATS_PART) from the account after the symbol's last bar. */
export function statsRow(symbol: string, paramId: string, acct: Float64Array): Row {
  const limb = new Float64Array(4);
  splitReturn(acct[ACCT.sumTradeRet] as number, limb);
  return {
    symbol,
    param_id: paramId,
    ...statsOf(acct),
    _closed: acct[ACCT.closedTrades],
    _wins: acct[ACCT.wins],
    _ret0: limb[0],
    _ret1: limb[1],
    _ret2: limb[2],
    _ret3: limb[3],
  };
}

export function tradeRow(symbol: string, paramId: string, t: Trade): Row {
  return {
    symbol,
    param_id: paramId,
    side: t.side === 1 ? 'long' : 'short',
    entry_ts: t.entryTs,
    entry_price: t.entryPrice,
    exit_ts: t.exitTs,
    exit_price: t.exitPrice,
    bars_held: t.barsHeld,
    return: t.return,
  };
}

/** The row of the trade still open at the end, if the account holds one. */
export function openTradeRow(symbol: string, paramId: string, acct: Float64Array): Row | undefined {
  const t = openTrade(acct);
  return t ? tradeRow(symbol, paramId, t) : undefined;
}

/** Rows of closed trades kept as records of TRADE_RECORD_FIELDS (the cache's layout). */
export function tradeRecordRows(symbol: string, paramId: string, records: ArrayLike<number>): Row[] {
  const rows: Row[] = [];
  const width = TRADE_FIELDS - TRADE.side;
  for (let i = 0; i + width <= records.length; i += width) rows.push(tradeRow(symbol, paramId, tradeOfRecord(records, i)));
  return rows;
}

export function rejectRow(r: Reject): Row {
  return { file: r.file, symbol: r.symbol, ts: r.ts, reason: r.reason, detail: r.detail, action: r.action };
}
