// Result schemas: one declaration per output table (column name, type, nullability, one line
// of doc). The Parquet writers, the SQL views, the cache's segment columns, the TypeScript row
// types (RowOf) and the README's column lists (`npm run docs`, checked by a test) all derive
// from these declarations.

import { FLOAT_COLUMNS } from '../engine/batch.js';

export type SqlType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'TINYINT' | 'BOOLEAN' | 'TIMESTAMP' | 'BLOB';

export interface Column<N extends string = string, T extends SqlType = SqlType, Null extends boolean = boolean> {
  readonly name: N;
  readonly type: T;
  /** NULL allowed (Pine's na, an undefined statistic, an open trade's exit) */
  readonly nullable: Null;
  readonly doc: string;
}

export interface TableSchema<C extends readonly Column[] = readonly Column[]> {
  /** the SQL view's name (`atc sql`, openResults().query) */
  readonly name: string;
  /** where it lives in a run directory */
  readonly file: string;
  readonly doc: string;
  readonly columns: C;
}

/** A column that is never NULL. */
export const col = <N extends string, T extends SqlType>(name: N, type: T, doc: string): Column<N, T, false> => ({ name, type, nullable: false, doc });
/** A column that may be NULL. */
export const opt = <N extends string, T extends SqlType>(name: N, type: T, doc: string): Column<N, T, true> => ({ name, type, nullable: true, doc });

/** The JavaScript value of a SQL type in a row object (TIMESTAMP as a Date in UTC; BIGINT as a number). */
export type JsValue<T extends SqlType> = T extends 'VARCHAR' ? string : T extends 'TIMESTAMP' ? Date : T extends 'BOOLEAN' ? boolean : T extends 'BLOB' ? Uint8Array : number;

/** The row object of a table: one property per column, `null` where the column is nullable. */
export type RowOf<S extends { readonly columns: readonly Column[] }> = {
  -readonly [C in S['columns'][number] as C['name']]: C['nullable'] extends true ? JsValue<C['type']> | null : JsValue<C['type']>;
};

/** [name, type] pairs, for DDL. */
export function pairs(columns: readonly Column[]): [string, SqlType][] {
  return columns.map((c) => [c.name, c.type]);
}

export function columnsDdl(columns: readonly Column[]): string {
  return columns.map((c) => `"${c.name.replaceAll('"', '""')}" ${c.type}`).join(', ');
}

/** An empty relation with these columns (a table a run did not write). */
export function emptyRelation(columns: readonly Column[]): string {
  return `(SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS "${c.name.replaceAll('"', '""')}"`).join(', ')} WHERE false)`;
}

export function columnNames(columns: readonly Column[]): string[] {
  return columns.map((c) => c.name);
}

/** Parquet options for every file we write: zstd; V2 pages store doubles with BYTE_STREAM_SPLIT
 *  (~30 % smaller); no dictionary pages, because DuckDB's dictionary encoding merges -0.0 and 0.0
 *  (a column of zeros of both signs came back with one sign), which would make written values
 *  differ from the kernel's in the last bit (measured: files ~10 % larger, written faster). */
export const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 0';

const SIGNAL_DOCS: Record<(typeof FLOAT_COLUMNS)[number], string> = {
  Average_Signal: 'the ATC average signal (Layer 2), in [-1, 1]',
  EMA_Signal: 'EMA type signal: Layer-1 crossovers weighted by Layer-1 equity',
  HMA_Signal: 'HMA type signal',
  WMA_Signal: 'WMA type signal',
  DEMA_Signal: 'DEMA type signal',
  LSMA_Signal: 'LSMA type signal',
  KAMA_Signal: 'KAMA type signal',
  EMA_S: 'EMA type Layer-2 equity',
  HMA_S: 'HMA type Layer-2 equity',
  WMA_S: 'WMA type Layer-2 equity',
  DEMA_S: 'DEMA type Layer-2 equity',
  LSMA_S: 'LSMA type Layer-2 equity',
  KAMA_S: 'KAMA type Layer-2 equity',
};
const signalColumns = FLOAT_COLUMNS.map((c) => opt(c, 'DOUBLE', `${SIGNAL_DOCS[c]} (NULL: Pine's na)`));
/** The signals a summary shows at the last bar (not the Layer-2 equities *_S). */
const summarySignals = (['Average_Signal', 'EMA_Signal', 'HMA_Signal', 'WMA_Signal', 'DEMA_Signal', 'LSMA_Signal', 'KAMA_Signal'] as const).map((c) => opt(c, 'DOUBLE', `${SIGNAL_DOCS[c]} at the last bar`));
const directionColumn = opt('direction', 'TINYINT', "Pine's `direction`: 1 or -1 after the first threshold cross, NULL before");
export const paramId = col('param_id', 'VARCHAR', 'the parameter set (params.param_id)');
export const symbol = col('symbol', 'VARCHAR', 'the symbol');
/** The first columns of every strategy's summary. */
export const SUMMARY_HEAD = [
  symbol,
  col('bars', 'BIGINT', 'bars of the symbol'),
  col('first_ts', 'TIMESTAMP', 'its first bar'),
  col('last_ts', 'TIMESTAMP', 'its last bar'),
  col('last_close', 'DOUBLE', 'the close of its last bar'),
] as const;
/** The first columns of every strategy's signals. */
export const SIGNALS_HEAD = [symbol, col('ts', 'TIMESTAMP', 'the bar (UTC)'), col('close', 'DOUBLE', 'its close')] as const;

/** Optional per-bar backtest columns of signals (`--equity`). */
export const EQUITY_COLUMNS = [
  col('position', 'DOUBLE', 'position held from this close (-1, 0, 1)'),
  col('strategy_return', 'DOUBLE', "the bar's strategy return, net of costs"),
  col('equity', 'DOUBLE', 'equity after this bar (times --capital)'),
] as const;

export const SIGNALS = {
  name: 'signals',
  file: 'signals/part-*.parquet',
  doc: 'one row per bar (`--outputs signals`); with `--equity` also position, strategy_return, equity',
  columns: [...SIGNALS_HEAD, ...signalColumns, directionColumn, paramId],
} as const satisfies TableSchema;

export const SUMMARY = {
  name: 'summary',
  file: 'summary.parquet',
  doc: "one row per symbol and parameter set: the last bar's values",
  columns: [
    ...SUMMARY_HEAD,
    ...summarySignals,
    directionColumn,
    col('long_alerts', 'INTEGER', 'bars where direction turned from -1 to 1'),
    col('short_alerts', 'INTEGER', 'bars where direction turned from 1 to -1'),
    col('trend', 'VARCHAR', 'LONG if the last Average_Signal >= --min-signal, SHORT if <= -min-signal, else NEUTRAL'),
    paramId,
  ],
} as const satisfies TableSchema;

const statColumns = [
  col('bars', 'BIGINT', 'bars'),
  col('total_return', 'DOUBLE', 'equity at the last bar - 1'),
  opt('cagr', 'DOUBLE', 'compound annual growth over the span of the bars (-1 once equity <= 0)'),
  opt('volatility', 'DOUBLE', 'sample standard deviation of the returns, annualised'),
  opt('sharpe', 'DOUBLE', 'mean / sd of the returns, annualised (risk-free 0)'),
  opt('sortino', 'DOUBLE', 'mean / downside deviation, annualised'),
  col('max_drawdown', 'DOUBLE', 'largest 1 - equity / running peak (a positive fraction)'),
  col('max_drawdown_bars', 'BIGINT', 'bars from that peak to recovery (or to the end)'),
  opt('calmar', 'DOUBLE', 'cagr / max_drawdown'),
  col('trades', 'BIGINT', 'entries into a non-zero position'),
  opt('win_rate', 'DOUBLE', 'share of closed trades with a positive return'),
  opt('avg_trade_return', 'DOUBLE', 'mean return of the closed trades'),
  opt('exposure', 'DOUBLE', 'share of bars with a position'),
  col('turnover', 'DOUBLE', 'sum of |position changes|'),
  col('final_position', 'DOUBLE', 'position held at the last bar'),
] as const;

export const STATS = {
  name: 'stats',
  file: 'stats.parquet',
  doc: 'backtest statistics per symbol and parameter set',
  columns: [symbol, paramId, ...statColumns],
} as const satisfies TableSchema;

/** The stats parts also carry what the portfolio's trade statistics are summed from (closed
 *  trades, winners, and the sum of their returns as exact limbs); stats.parquet drops them. */
export const STATS_PART = {
  name: 'stats_part',
  file: 'parts/stats/*.parquet',
  doc: 'internal: stats rows with the sums the portfolio needs',
  columns: [
    ...STATS.columns,
    col('_closed', 'BIGINT', 'closed trades'),
    col('_wins', 'BIGINT', 'closed trades with a positive return'),
    col('_ret0', 'DOUBLE', 'sum of closed trade returns, limb 0'),
    col('_ret1', 'DOUBLE', 'limb 1'),
    col('_ret2', 'DOUBLE', 'limb 2'),
    col('_ret3', 'DOUBLE', 'limb 3'),
  ],
} as const satisfies TableSchema;

export const TRADES = {
  name: 'trades',
  file: 'trades.parquet',
  doc: 'every trade; the one still open at the end has NULL exit and its return marked to the last close',
  columns: [
    symbol,
    paramId,
    col('side', 'VARCHAR', 'long or short'),
    col('entry_ts', 'TIMESTAMP', 'the close it was entered at'),
    col('entry_price', 'DOUBLE', 'that close'),
    opt('exit_ts', 'TIMESTAMP', 'the close it was exited at (NULL: still open)'),
    opt('exit_price', 'DOUBLE', 'that close'),
    col('bars_held', 'BIGINT', 'bars held'),
    col('return', 'DOUBLE', 'growth over the held bars - 1, net of costs'),
  ],
} as const satisfies TableSchema;

/** Portfolio parts: partial sums per parameter set and timestamp (see backtest/portfolio.ts). */
export const PORTFOLIO_PART = {
  name: 'portfolio_part',
  file: 'parts/portfolio/*.parquet',
  doc: 'internal: exact partial sums of the portfolio per set and timestamp',
  columns: [
    paramId,
    col('ts', 'TIMESTAMP', 'the timestamp'),
    col('l0', 'DOUBLE', 'sum of returns, limb 0'),
    col('l1', 'DOUBLE', 'limb 1'),
    col('l2', 'DOUBLE', 'limb 2'),
    col('l3', 'DOUBLE', 'limb 3'),
    col('net', 'DOUBLE', 'sum of positions'),
    col('gross', 'DOUBLE', 'sum of |positions|'),
    col('turnover', 'DOUBLE', 'sum of |position changes|'),
    col('symbols', 'BIGINT', 'symbols with a return at this timestamp'),
  ],
} as const satisfies TableSchema;

export const PORTFOLIO = {
  name: 'portfolio',
  file: 'portfolio.parquet',
  doc: 'the equal-weight portfolio per parameter set, one row per timestamp of the union of all symbols',
  columns: [
    paramId,
    col('ts', 'TIMESTAMP', 'the timestamp'),
    col('return', 'DOUBLE', 'mean return of the symbols with a bar here and one before'),
    col('equity', 'DOUBLE', 'equity (times --capital)'),
    col('symbols', 'INTEGER', 'symbols contributing'),
    col('net_position', 'DOUBLE', 'mean position'),
    col('gross_position', 'DOUBLE', 'mean |position|'),
    col('turnover', 'DOUBLE', 'mean |position change|'),
  ],
} as const satisfies TableSchema;

export const PORTFOLIO_STATS = {
  name: 'portfolio_stats',
  file: 'portfolio_stats.parquet',
  doc: "the portfolio's statistics per parameter set (trades summed, win_rate and avg_trade_return pooled, exposure the mean gross position)",
  columns: [paramId, ...statColumns],
} as const satisfies TableSchema;

export const PARAMS = {
  name: 'params',
  file: 'params.parquet',
  doc: 'every parameter set of the run',
  columns: [
    col('param_id', 'VARCHAR', '12 hex digits of the sha256 of the canonical parameters'),
    col('profile', 'VARCHAR', 'pine or seed'),
    col('robustness', 'VARCHAR', 'Narrow, Medium or Wide'),
    col('la', 'DOUBLE', "lambda (Pine's La; `lambda` is a DuckDB keyword)"),
    col('decay', 'DOUBLE', 'decay De in percent'),
    col('cutout', 'INTEGER', 'bars before the equity curves start'),
    col('ema_len', 'INTEGER', 'base length of EMA'),
    col('hma_len', 'INTEGER', 'of HMA'),
    col('wma_len', 'INTEGER', 'of WMA'),
    col('dema_len', 'INTEGER', 'of DEMA'),
    col('lsma_len', 'INTEGER', 'of LSMA'),
    col('kama_len', 'INTEGER', 'of KAMA'),
    col('ema_weight', 'DOUBLE', 'Layer-2 start equity of EMA'),
    col('hma_weight', 'DOUBLE', 'of HMA'),
    col('wma_weight', 'DOUBLE', 'of WMA'),
    col('dema_weight', 'DOUBLE', 'of DEMA'),
    col('lsma_weight', 'DOUBLE', 'of LSMA'),
    col('kama_weight', 'DOUBLE', 'of KAMA'),
    col('long_threshold', 'DOUBLE', 'Average_Signal crossover for direction 1'),
    col('short_threshold', 'DOUBLE', 'Average_Signal crossunder for direction -1'),
    col('mode', 'VARCHAR', 'long-short, long-only or short-only'),
    col('fee_bps', 'DOUBLE', 'fee per unit of position change, basis points'),
    col('slippage_bps', 'DOUBLE', 'slippage per unit of position change, basis points'),
  ],
} as const satisfies TableSchema;

export const REJECTS = {
  name: 'rejects',
  file: 'rejects.parquet',
  doc: 'every dropped row and skipped symbol (`--bad-rows drop|skip-symbol`)',
  columns: [
    col('file', 'VARCHAR', 'the source'),
    opt('symbol', 'VARCHAR', 'the symbol (NULL: the row had none)'),
    opt('ts', 'TIMESTAMP', 'the row (NULL: missing, or the whole symbol is meant)'),
    col('reason', 'VARCHAR', 'the error code (ATC_ERR_*)'),
    col('detail', 'VARCHAR', 'what was wrong'),
    col('action', 'VARCHAR', 'dropped row or skipped symbol'),
  ],
} as const satisfies TableSchema;

/** The tables of a run directory, as `atc sql` and openResults() see them. */
export const RESULT_TABLES = [SIGNALS, SUMMARY, STATS, TRADES, PORTFOLIO, PORTFOLIO_STATS, PARAMS, REJECTS] as const;

export type SignalRow = RowOf<typeof SIGNALS>;
export type SummaryRow = RowOf<typeof SUMMARY>;
export type StatsRow = RowOf<typeof STATS>;
export type TradeRow = RowOf<typeof TRADES>;
export type PortfolioRow = RowOf<typeof PORTFOLIO>;
export type PortfolioStatsRow = RowOf<typeof PORTFOLIO_STATS>;
export type ParamsRow = RowOf<typeof PARAMS>;
export type RejectRow = RowOf<typeof REJECTS>;

/** The original scanner's classification of the last Average_Signal (|signal| < minSignal is NEUTRAL). */
export function trendOf(averageSignal: number, minSignal: number): 'LONG' | 'SHORT' | 'NEUTRAL' {
  return averageSignal >= minSignal ? 'LONG' : averageSignal <= -minSignal ? 'SHORT' : 'NEUTRAL';
}

/** The README's column lists (between the `schema` markers), derived from the tables above. */
export function schemaMarkdown(): string {
  const lines: string[] = [];
  for (const t of RESULT_TABLES) {
    lines.push(`#### \`${t.file}\` (view \`${t.name}\`): ${t.doc}`, '', '| column | type | null | what |', '| --- | --- | --- | --- |');
    for (const c of t.columns) lines.push(`| \`${c.name}\` | ${c.type} | ${c.nullable ? 'yes' : ''} | ${c.doc} |`);
    if (t === SIGNALS) for (const c of EQUITY_COLUMNS) lines.push(`| \`${c.name}\` | ${c.type} | | ${c.doc} (\`--equity\`) |`);
    lines.push('');
  }
  return lines.join('\n');
}
