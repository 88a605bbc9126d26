// The report's data, gathered by DuckDB over a run directory's views (results/views.ts): the
// run header, the chosen parameter set's portfolio and universe, the sweep's per-set metrics,
// and the symbols whose per-bar series are drawn. Every number here comes from the full tables;
// only the drawn curves are downsampled (downsample.ts).

import type { DuckDBConnection } from '@duckdb/node-api';
import { STATS_FIELDS } from '../backtest/accounting.js';
import { expandStrategyGrid, makeSet, type ParamSet, resolveTrade } from '../config/grid.js';
import { MA_TYPES, type ParamsInput, resolveParams } from '../config/params.js';
import { sqlIdent, sqlString } from '../data/duckdb.js';
import { AtcError, UsageError } from '../errors.js';
import { columnNames } from '../results/schema.js';
import { ATC_TABLES, snake, type StrategyTables } from '../strategies/tables.js';
import type { Strategy } from '../strategies/types.js';
import { plotOf } from './downsample.js';
import type { Column, Overlay, Portfolio, Sweep, SymbolView, Universe } from './model.js';
import type { SymbolSeries } from './series.js';

export type Row = Record<string, unknown>;

/** JS values of a query's rows (BIGINT as numbers). */
export async function rows(conn: DuckDBConnection, sql: string): Promise<Row[]> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJS().map((o) => {
    for (const k of Object.keys(o)) if (typeof o[k] === 'bigint') (o as Row)[k] = Number(o[k]);
    return o as Row;
  });
}

/** Labels and formats of the statistics (README "Backtest conventions" defines them). */
const STAT_COLUMNS: Record<(typeof STATS_FIELDS)[number], Column> = {
  bars: { key: 'bars', label: 'bars', fmt: 'int' },
  total_return: { key: 'total_return', label: 'return', fmt: 'pct', signed: true },
  cagr: { key: 'cagr', label: 'CAGR', fmt: 'pct', signed: true },
  volatility: { key: 'volatility', label: 'volatility', fmt: 'pct' },
  sharpe: { key: 'sharpe', label: 'Sharpe', fmt: 'num', signed: true },
  sortino: { key: 'sortino', label: 'Sortino', fmt: 'num', signed: true },
  max_drawdown: { key: 'max_drawdown', label: 'max drawdown', fmt: 'pct' },
  max_drawdown_bars: { key: 'max_drawdown_bars', label: 'max DD bars', fmt: 'int' },
  calmar: { key: 'calmar', label: 'Calmar', fmt: 'num', signed: true },
  trades: { key: 'trades', label: 'trades', fmt: 'int' },
  win_rate: { key: 'win_rate', label: 'win rate', fmt: 'pct' },
  avg_trade_return: { key: 'avg_trade_return', label: 'avg trade', fmt: 'pct', signed: true },
  exposure: { key: 'exposure', label: 'exposure', fmt: 'pct' },
  turnover: { key: 'turnover', label: 'turnover', fmt: 'num' },
  final_position: { key: 'final_position', label: 'final position', fmt: 'num' },
};

/** Every parameter set of the run of `strategy` (absent: the ATC), rebuilt from params.parquet; each must hash to its id. */
export async function readSets(conn: DuckDBConnection, strategy?: Strategy): Promise<{ sets: ParamSet[]; rows: Row[] }> {
  const rs = await rows(conn, 'SELECT * FROM params');
  const other = rs.find((r) => (r.strategy ?? 'atc') !== (strategy?.name ?? 'atc'));
  if (other) throw new AtcError('ATC_ERR_DATA_READ', `params.parquet: a set of strategy ${String(other.strategy ?? 'atc')} in a run of ${strategy?.name ?? 'atc'} (run.json and params.parquet disagree)`);
  const sets = rs.map((r) => {
    if (strategy) {
      const spec: Record<string, number | string> = { mode: r.mode as string, feeBps: r.fee_bps as number, slippageBps: r.slippage_bps as number };
      for (const p of strategy.params) spec[p.name] = r[snake(p.name)] as number;
      const [set] = expandStrategyGrid(strategy, spec);
      if (set?.id !== r.param_id) throw new AtcError('ATC_ERR_DATA_READ', `params.parquet: the row of set ${String(r.param_id)} gives id ${set?.id} (written by another version of ${strategy.name}?)`);
      return set as ParamSet;
    }
    const types = MA_TYPES.map((t) => t.toLowerCase());
    const input: ParamsInput = {
      profile: r.profile as ParamsInput['profile'],
      robustness: r.robustness as ParamsInput['robustness'],
      lambda: r.la as number,
      decay: r.decay as number,
      cutout: r.cutout as number,
      lengths: types.map((t) => r[`${t}_len`] as number),
      weights: types.map((t) => r[`${t}_weight`] as number),
      longThreshold: r.long_threshold as number,
      shortThreshold: r.short_threshold as number,
    };
    const set = makeSet(resolveParams(input), resolveTrade({ mode: r.mode as never, feeBps: r.fee_bps as number, slippageBps: r.slippage_bps as number }));
    if (set.id !== r.param_id) throw new AtcError('ATC_ERR_DATA_READ', `params.parquet: the row of set ${String(r.param_id)} gives id ${set.id} (written by another version?)`);
    return set;
  });
  return { sets, rows: rs };
}

/** The parameters a grid varies (params.parquet columns of `tables`' strategy): name and sorted distinct values. */
export function varying(paramRows: Row[], tables: StrategyTables = ATC_TABLES): { key: string; values: (number | string)[] }[] {
  return columnNames(tables.params.columns)
    .filter((k) => k !== 'param_id')
    .map((key) => {
      const values = [...new Set(paramRows.map((r) => r[key] as number | string))];
      values.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
      return { key, values };
    })
    .filter((p) => p.values.length > 1);
}

/** The stats and summary of one set, one row per symbol (symbol order). */
export async function universeOf(conn: DuckDBConnection, setId: string, has: { stats: boolean; summary: boolean }, tables: StrategyTables = ATC_TABLES): Promise<Universe | null> {
  if (!has.stats && !has.summary) return null;
  const statCols = has.stats ? [STAT_COLUMNS.total_return, STAT_COLUMNS.cagr, STAT_COLUMNS.volatility, STAT_COLUMNS.sharpe, STAT_COLUMNS.sortino, STAT_COLUMNS.max_drawdown, STAT_COLUMNS.calmar, STAT_COLUMNS.trades, STAT_COLUMNS.win_rate, STAT_COLUMNS.avg_trade_return, STAT_COLUMNS.exposure] : [];
  // the ATC's Average_Signal; another strategy's outputs and direction at the last bar
  const lastValues: Column[] =
    tables.strategy === 'atc'
      ? [{ key: 'Average_Signal', label: 'Average_Signal', fmt: 'num', signed: true }]
      : [...tables.planes.map((k): Column => ({ key: k, label: k, fmt: 'num' })), { key: 'direction', label: 'direction', fmt: 'int', signed: true }];
  const sumCols: Column[] = has.summary ? [{ key: 'trend', label: 'trend', fmt: 'text' }, { key: 'last_close', label: 'last close', fmt: 'price' }, ...lastValues] : [];
  const columns: Column[] = [{ key: 'symbol', label: 'symbol', fmt: 'text' }, STAT_COLUMNS.bars, ...statCols, ...sumCols];
  const where = `WHERE param_id = ${sqlString(setId)}`;
  const from =
    has.stats && has.summary
      ? `(SELECT * FROM stats ${where}) s JOIN (SELECT * EXCLUDE (bars) FROM summary ${where}) m USING (symbol)`
      : has.stats
        ? `(SELECT * FROM stats ${where}) s`
        : `(SELECT * FROM summary ${where}) m`;
  const r = await conn.runAndReadAll(`SELECT ${columns.map((c) => sqlIdent(c.key)).join(', ')} FROM ${from} ORDER BY symbol`);
  const data = r.getColumnsJS().map((col) => col.map((v) => (typeof v === 'bigint' ? Number(v) : (v as string | number | null))));
  return { columns, data, rankBy: has.stats ? 'sharpe' : (lastValues[0] as Column).key };
}

/** Top and bottom `top` symbols by the universe's rank column, then the named ones. */
export function chooseSymbols(u: Universe | null, top: number, named: readonly string[]): string[] {
  if (!u) return [...named];
  const sym = u.data[0] as string[];
  const known = new Set(sym);
  for (const s of named) if (!known.has(s)) throw new UsageError(`--symbol ${s}: not a symbol of this run's results`);
  const rank = u.data[u.columns.findIndex((c) => c.key === u.rankBy)] as (number | null)[];
  const order = sym.map((_, i) => i).filter((i) => rank[i] !== null && Number.isFinite(rank[i]));
  order.sort((a, b) => (rank[b] as number) - (rank[a] as number) || (sym[a] as string).localeCompare(sym[b] as string));
  const best = order.slice(0, top).map((i) => sym[i] as string);
  const worst = order.slice(Math.max(top, order.length - top)).reverse().map((i) => sym[i] as string);
  return [...new Set([...named, ...best, ...worst])];
}

/** The portfolio of one set: curves (downsampled), monthly and yearly returns, statistics. */
export async function portfolioOf(conn: DuckDBConnection, setId: string, capital: number): Promise<Portfolio | null> {
  const id = sqlString(setId);
  const [span] = await rows(conn, `SELECT count(*) AS n, epoch_us(min(ts)) AS t0, epoch_us(max(ts)) AS t1 FROM portfolio WHERE param_id = ${id}`);
  const n = Number(span?.n ?? 0);
  if (n === 0) return null;
  const years = (Number(span?.t1) - Number(span?.t0)) / (365.25 * 86400e6);
  // the README's periods per year: bars / years; the window is about a year of bars
  const ppy = years > 0 ? n / years : 0;
  const window = Math.max(2, Math.min(n - 1, Math.round(ppy)));
  const r = await conn.runAndReadAll(
    `WITH p AS (SELECT ts, "return" AS r, equity, row_number() OVER (ORDER BY ts) - 1 AS i FROM portfolio WHERE param_id = ${id})
     SELECT epoch_us(ts)::DOUBLE, equity,
            equity / greatest(max(equity) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING), ${capital}) - 1,
            CASE WHEN i >= ${window} AND ${ppy} > 0 THEN avg(r) OVER w / nullif(stddev_samp(r) OVER w, 0) * sqrt(${ppy}) END
     FROM p WINDOW w AS (ORDER BY ts ROWS BETWEEN ${window - 1} PRECEDING AND CURRENT ROW) ORDER BY ts`,
  );
  const [t, equity, drawdown, sharpe] = r.getColumnsJS().map((c) => Float64Array.from(c as (number | null)[], (v) => (v === null ? NaN : v)));
  const plot = plotOf(t as Float64Array, { equity: equity as Float64Array, drawdown: drawdown as Float64Array, sharpe: sharpe as Float64Array });
  const months = await rows(conn, `SELECT year(ts) AS y, month(ts) AS m, product(1 + "return") - 1 AS r FROM portfolio WHERE param_id = ${id} GROUP BY ALL ORDER BY y, m`);
  const years_ = [...new Set(months.map((m) => m.y as number))];
  const monthly = years_.map((y) => Array.from({ length: 12 }, (_, k) => (months.find((m) => m.y === y && m.m === k + 1)?.r as number | undefined) ?? null));
  const yearly = await rows(conn, `SELECT year(ts) AS y, product(1 + "return") - 1 AS r FROM portfolio WHERE param_id = ${id} GROUP BY ALL ORDER BY y`);
  const [st] = await rows(conn, `SELECT * FROM portfolio_stats WHERE param_id = ${id}`);
  return {
    plot,
    window,
    monthly: { years: years_, values: monthly },
    yearly: { years: yearly.map((y) => y.y as number), values: yearly.map((y) => y.r as number) },
    stats: STATS_FIELDS.map((f) => [STAT_COLUMNS[f], (st?.[f] as number | null | undefined) ?? null]),
  };
}

/** Per-set metrics of a sweep: across symbols from stats, and the portfolio's when written. */
export async function sweepOf(conn: DuckDBConnection, paramRows: Row[], has: { stats: boolean; portfolio: boolean }, tables: StrategyTables = ATC_TABLES): Promise<Sweep | null> {
  if (!has.stats && !has.portfolio) return null;
  const metrics: Sweep['metrics'] = [];
  const sel: string[] = [];
  const add = (key: string, label: string, fmt: Column['fmt'], better: 1 | -1, sql: string, signed = false) => {
    metrics.push({ key, label, fmt, better, signed });
    sel.push(`${sql} AS ${sqlIdent(key)}`);
  };
  if (has.stats) {
    add('median_sharpe', 'median Sharpe', 'num', 1, 's.median_sharpe', true);
    add('mean_sharpe', 'mean Sharpe', 'num', 1, 's.mean_sharpe', true);
    add('median_return', 'median return', 'pct', 1, 's.median_return', true);
    add('median_cagr', 'median CAGR', 'pct', 1, 's.median_cagr', true);
    add('median_max_drawdown', 'median max drawdown', 'pct', -1, 's.median_max_drawdown');
    add('share_positive', 'share of symbols with Sharpe > 0', 'pct', 1, 's.share_positive');
    add('trades', 'trades', 'int', 1, 's.trades');
  }
  if (has.portfolio) {
    add('portfolio_sharpe', 'portfolio Sharpe', 'num', 1, 'q.sharpe', true);
    add('portfolio_return', 'portfolio return', 'pct', 1, 'q.total_return', true);
    add('portfolio_max_drawdown', 'portfolio max drawdown', 'pct', -1, 'q.max_drawdown');
  }
  const stats = `(SELECT param_id, median(sharpe) AS median_sharpe, avg(sharpe) AS mean_sharpe, median(total_return) AS median_return,
                         median(cagr) AS median_cagr, median(max_drawdown) AS median_max_drawdown,
                         avg(CASE WHEN sharpe > 0 THEN 1 ELSE 0 END) AS share_positive, sum(trades) AS trades
                  FROM stats GROUP BY param_id) s`;
  const r = await rows(
    conn,
    `SELECT p.param_id, ${sel.join(', ')} FROM params p ${has.stats ? `LEFT JOIN ${stats} USING (param_id)` : ''} ${has.portfolio ? 'LEFT JOIN portfolio_stats q USING (param_id)' : ''} ORDER BY p.param_id`,
  );
  const params = varying(paramRows, tables);
  const byId = new Map(paramRows.map((p) => [p.param_id as string, p]));
  return {
    params: params.map((p) => ({ key: p.key, label: p.key, values: p.values })),
    metrics,
    sets: r.map((row) => {
      const p = byId.get(row.param_id as string) as Row;
      return { id: row.param_id as string, at: params.map((q) => q.values.indexOf(p[q.key] as number | string)), m: metrics.map((m) => (row[m.key] as number | null) ?? null) };
    }),
  };
}

/** The pane of a strategy's outputs: the ATC's Average_Signal with the direction and the thresholds; another's outputs and direction. */
export function overlayOf(set: ParamSet, strategy?: Strategy): Overlay {
  if (!strategy) return { label: 'Average_Signal and direction', series: ['Average_Signal', 'direction'], levels: [set.params.longThreshold, set.params.shortThreshold] };
  const outputs = strategy.outputs.map((o) => o.name);
  return { label: `${strategy.name}: ${[...outputs, 'direction'].join(', ')}`, series: [...outputs, 'direction'], levels: [] };
}

/** What the symbol view draws of one symbol: curves (downsampled) and position changes. */
export function symbolView(s: SymbolSeries, overlay: Overlay, capital: number): SymbolView {
  const n = s.ts.length;
  const drawdown = new Float64Array(n);
  let peak = capital;
  const marks = { t: [] as number[], price: [] as number[], kind: [] as number[] };
  for (let i = 0; i < n; i++) {
    const e = s.equity[i] as number;
    if (e > peak) peak = e;
    drawdown[i] = e / peak - 1;
    const was = i > 0 ? (s.position[i - 1] as number) : 0;
    const now = s.position[i] as number;
    if (now === was) continue;
    const mark = (kind: number) => {
      marks.t.push((s.ts[i] as number) / 1e6);
      marks.price.push(s.close[i] as number);
      marks.kind.push(kind);
    };
    if (was !== 0) mark(0);
    if (now !== 0) mark(Math.sign(now));
  }
  const series: Record<string, Float64Array> = { close: s.close, equity: s.equity, drawdown };
  for (const k of overlay.series) series[k] = s.outputs[k] as Float64Array;
  return { symbol: s.symbol, source: s.source, bars: n, plot: plotOf(s.ts, series), marks };
}
