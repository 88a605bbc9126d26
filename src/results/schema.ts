// Result schemas, declared once and used by the writers, the SQL views and the tests.

import { STATS_FIELDS } from '../backtest/accounting.js';
import { FLOAT_COLUMNS } from '../engine/batch.js';

/** Columns of <out>/signals/*.parquet, in order (then EQUITY_COLUMNS with --equity). */
export const SIGNAL_COLUMNS = ['symbol', 'ts', 'close', ...FLOAT_COLUMNS, 'direction', 'param_id'] as const;
export type SignalColumn = (typeof SIGNAL_COLUMNS)[number];
/** Optional per-bar backtest columns of signals: position held from this close, the bar's
 *  strategy return, equity (times --capital). */
export const EQUITY_COLUMNS = ['position', 'strategy_return', 'equity'] as const;

/** DuckDB types of the signal columns. */
export const SIGNAL_TYPES: Record<SignalColumn | (typeof EQUITY_COLUMNS)[number], string> = {
  symbol: 'VARCHAR',
  ts: 'TIMESTAMP',
  close: 'DOUBLE',
  ...(Object.fromEntries(FLOAT_COLUMNS.map((c) => [c, 'DOUBLE'])) as Record<(typeof FLOAT_COLUMNS)[number], string>),
  direction: 'TINYINT',
  param_id: 'VARCHAR',
  position: 'DOUBLE',
  strategy_return: 'DOUBLE',
  equity: 'DOUBLE',
};

/** Parquet options for every file we write (zstd; V2 pages store doubles with BYTE_STREAM_SPLIT, ~30 % smaller). */
export const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2';

/** <out>/summary.parquet: one row per symbol; the signal columns hold the values at its last bar. */
export const SUMMARY_COLUMNS: [string, string][] = [
  ['symbol', 'VARCHAR'],
  ['bars', 'BIGINT'],
  ['first_ts', 'TIMESTAMP'],
  ['last_ts', 'TIMESTAMP'],
  ['last_close', 'DOUBLE'],
  ['Average_Signal', 'DOUBLE'],
  ['EMA_Signal', 'DOUBLE'],
  ['HMA_Signal', 'DOUBLE'],
  ['WMA_Signal', 'DOUBLE'],
  ['DEMA_Signal', 'DOUBLE'],
  ['LSMA_Signal', 'DOUBLE'],
  ['KAMA_Signal', 'DOUBLE'],
  ['direction', 'TINYINT'],
  ['long_alerts', 'INTEGER'],
  ['short_alerts', 'INTEGER'],
  ['trend', 'VARCHAR'],
  ['param_id', 'VARCHAR'],
];

const STAT_TYPES: Record<(typeof STATS_FIELDS)[number], string> = {
  bars: 'BIGINT',
  total_return: 'DOUBLE',
  cagr: 'DOUBLE',
  volatility: 'DOUBLE',
  sharpe: 'DOUBLE',
  sortino: 'DOUBLE',
  max_drawdown: 'DOUBLE',
  max_drawdown_bars: 'BIGINT',
  calmar: 'DOUBLE',
  trades: 'BIGINT',
  win_rate: 'DOUBLE',
  avg_trade_return: 'DOUBLE',
  exposure: 'DOUBLE',
  turnover: 'DOUBLE',
  final_position: 'DOUBLE',
};
const statColumns = (): [string, string][] => STATS_FIELDS.map((f) => [f, STAT_TYPES[f]]);

/** <out>/stats.parquet: one row per symbol and parameter set. */
export const STATS_COLUMNS: [string, string][] = [['symbol', 'VARCHAR'], ['param_id', 'VARCHAR'], ...statColumns()];

/** The stats parts also carry what the portfolio's trade statistics are summed from (closed
 *  trades, winners, and the sum of their returns as exact limbs); stats.parquet drops them. */
export const STATS_PART_COLUMNS: [string, string][] = [
  ...STATS_COLUMNS,
  ['_closed', 'BIGINT'],
  ['_wins', 'BIGINT'],
  ['_ret0', 'DOUBLE'],
  ['_ret1', 'DOUBLE'],
  ['_ret2', 'DOUBLE'],
  ['_ret3', 'DOUBLE'],
];

/** <out>/trades.parquet: closed trades, and the trade still open at the end (exit NULL). */
export const TRADE_COLUMNS: [string, string][] = [
  ['symbol', 'VARCHAR'],
  ['param_id', 'VARCHAR'],
  ['side', 'VARCHAR'],
  ['entry_ts', 'TIMESTAMP'],
  ['entry_price', 'DOUBLE'],
  ['exit_ts', 'TIMESTAMP'],
  ['exit_price', 'DOUBLE'],
  ['bars_held', 'BIGINT'],
  ['return', 'DOUBLE'],
];

/** Portfolio parts: partial sums per parameter set and timestamp (see backtest/portfolio.ts). */
export const PORTFOLIO_PART_COLUMNS: [string, string][] = [
  ['param_id', 'VARCHAR'],
  ['ts', 'TIMESTAMP'],
  ['l0', 'DOUBLE'],
  ['l1', 'DOUBLE'],
  ['l2', 'DOUBLE'],
  ['l3', 'DOUBLE'],
  ['net', 'DOUBLE'],
  ['gross', 'DOUBLE'],
  ['turnover', 'DOUBLE'],
  ['symbols', 'BIGINT'],
];

/** <out>/portfolio.parquet: the equal-weight portfolio's curve per parameter set. */
export const PORTFOLIO_COLUMNS: [string, string][] = [
  ['param_id', 'VARCHAR'],
  ['ts', 'TIMESTAMP'],
  ['return', 'DOUBLE'],
  ['equity', 'DOUBLE'],
  ['symbols', 'INTEGER'],
  ['net_position', 'DOUBLE'],
  ['gross_position', 'DOUBLE'],
  ['turnover', 'DOUBLE'],
];

/** <out>/portfolio_stats.parquet: the portfolio's statistics per parameter set. */
export const PORTFOLIO_STATS_COLUMNS: [string, string][] = [['param_id', 'VARCHAR'], ...statColumns()];

/** <out>/rejects.parquet: every dropped row and skipped symbol, with its reason. */
export const REJECT_COLUMNS: [string, string][] = [
  ['file', 'VARCHAR'],
  ['symbol', 'VARCHAR'],
  ['ts', 'TIMESTAMP'],
  ['reason', 'VARCHAR'],
  ['detail', 'VARCHAR'],
  ['action', 'VARCHAR'],
];

/** The original scanner's classification of the last Average_Signal (|signal| < minSignal is NEUTRAL). */
export function trendOf(averageSignal: number, minSignal: number): 'LONG' | 'SHORT' | 'NEUTRAL' {
  return averageSignal >= minSignal ? 'LONG' : averageSignal <= -minSignal ? 'SHORT' : 'NEUTRAL';
}

export function columnsDdl(cols: [string, string][]): string {
  return cols.map(([n, t]) => `"${n}" ${t}`).join(', ');
}
