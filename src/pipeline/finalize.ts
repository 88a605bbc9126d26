// The end of a run: the committed parts become the run's tables. Summary, stats and trades
// are sorted copies of their parts; the portfolio adds up the partial sums per parameter set
// and timestamp (exactly: they are limbs, see backtest/portfolio.ts) and walks each set's
// timestamps in order for its curve and statistics.

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PORT, PortfolioCurve, type PortSums } from '../backtest/portfolio.js';
import { type ParamSet, paramRow } from '../config/grid.js';
import { sqlIdent, sqlString } from '../data/duckdb.js';
import { type Row, RowsWriter, writeRows } from '../data/rows-writer.js';
import type { OutputKind } from '../results/outputs.js';
import type { RunDir } from '../results/run-dir.js';
import { type StrategyTables } from '../strategies/tables.js';
import { type Column, columnNames, emptyRelation, PARQUET_OPTIONS, PORTFOLIO, PORTFOLIO_PART, PORTFOLIO_STATS, REJECTS, STATS, STATS_PART, TRADES } from '../results/schema.js';

export interface Totals {
  symbols: number;
  bars: number;
  rejects: number;
  symbolsSkipped: number;
}

/** A relation over committed parts, or an empty one with the right columns. */
function parts(rd: RunDir, sub: Parameters<RunDir['partFiles']>[0], cols: readonly Column[]): string {
  const files = rd.partFiles(sub);
  if (files.length > 0) return `read_parquet([${files.map(sqlString).join(', ')}])`;
  return emptyRelation(cols);
}

async function copyTo(conn: DuckDBConnection, select: string, file: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await conn.run(`COPY (${select}) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
  renameSync(tmp, file);
}

async function one(conn: DuckDBConnection, sql: string): Promise<unknown[]> {
  return (await conn.runAndReadAll(sql)).getRows()[0] ?? [];
}

export async function finalizeRun(
  conn: DuckDBConnection,
  rd: RunDir,
  o: {
    outputs: readonly OutputKind[];
    sets: readonly ParamSet[];
    capital: number;
    /** SELECTs of summary and stats part rows answered by the cache (not committed as parts) */
    cached?: { summary: string[]; stats: string[] };
    /** the strategy's summary and params tables */
    tables: StrategyTables;
  },
  spare?: DuckDBConnection,
): Promise<Totals> {
  const dir = rd.dir;
  const has = (k: OutputKind): boolean => o.outputs.includes(k);
  const withCached = (rel: string, sqls: string[] = []) => (sqls.length === 0 ? rel : `(SELECT * FROM ${rel} UNION ALL ${sqls.map((q) => `(${q})`).join(' UNION ALL ')})`);
  const summary = withCached(parts(rd, 'parts/summary', o.tables.summary.columns), o.cached?.summary);
  const stats = withCached(parts(rd, 'parts/stats', STATS_PART.columns), o.cached?.stats);

  // the tables are independent: written two at a time, on `conn` and `spare`
  const tasks: ((c: DuckDBConnection) => Promise<void>)[] = [];
  if (has('summary')) tasks.push((c) => copyTo(c, `SELECT * FROM ${summary} ORDER BY symbol, param_id`, join(dir, 'summary.parquet')));
  if (has('stats')) tasks.push((c) => copyTo(c, `SELECT ${columnNames(STATS.columns).map(sqlIdent).join(', ')} FROM ${stats} ORDER BY symbol, param_id`, join(dir, 'stats.parquet')));
  if (has('trades')) tasks.push((c) => copyTo(c, `SELECT * FROM ${parts(rd, 'parts/trades', TRADES.columns)} ORDER BY symbol, param_id, entry_ts`, join(dir, 'trades.parquet')));
  if (has('portfolio')) tasks.push((c) => finalizePortfolio(c, rd, o.sets, o.capital, summary, stats));
  tasks.push(async (c) => {
    await writeRows(c, o.tables.params.columns, o.sets.map(paramRow), join(dir, '.params.parquet.tmp'));
    renameSync(join(dir, '.params.parquet.tmp'), join(dir, 'params.parquet'));
  });
  tasks.push((c) => copyTo(c, `SELECT * FROM ${parts(rd, 'rejects', REJECTS.columns)} ORDER BY symbol NULLS FIRST, ts NULLS FIRST`, join(dir, 'rejects.parquet')));
  await Promise.all(
    [conn, ...(spare ? [spare] : [])].map(async (c) => {
      for (let t = tasks.shift(); t; t = tasks.shift()) await t(c);
    }),
  );

  const first = (o.sets[0] as ParamSet).id;
  // counted from summary.parquet when written (cheaper than its parts and the cache's rows again)
  const counted = has('summary') ? `read_parquet(${sqlString(join(dir, 'summary.parquet'))})` : summary;
  const [symbols, bars] = await one(conn, `SELECT count(*), coalesce(sum(bars), 0) FROM ${counted} WHERE param_id = ${sqlString(first)}`);
  const rej = join(dir, 'rejects.parquet');
  const [rejects, skipped] = await one(conn, `SELECT count(*), count(*) FILTER (WHERE action = 'skipped symbol') FROM ${sqlString(rej)}`);
  return { symbols: Number(symbols), bars: Number(bars), rejects: Number(rejects), symbolsSkipped: Number(skipped) };
}

async function finalizePortfolio(conn: DuckDBConnection, rd: RunDir, sets: readonly ParamSet[], capital: number, summary: string, stats: string): Promise<void> {
  const dir = rd.dir;
  // Bar 0 of the portfolio: the first timestamp of any symbol (no return yet).
  const [firstTs] = await one(conn, `SELECT epoch_us(min(first_ts)) FROM ${summary}`);
  const tradeTotals = new Map<string, { trades: number; closed: number; wins: number; sumReturn: number }>();
  const tr = await conn.runAndReadAll(
    `SELECT param_id, sum(trades), sum(_closed), sum(_wins), sum(_ret0), sum(_ret1), sum(_ret2), sum(_ret3) FROM ${stats} GROUP BY param_id`,
  );
  for (const r of tr.getRows()) {
    tradeTotals.set(String(r[0]), { trades: Number(r[1]), closed: Number(r[2]), wins: Number(r[3]), sumReturn: (r[4] as number) + (r[5] as number) + (r[6] as number) + (r[7] as number) });
  }
  const curveRows = await RowsWriter.open(conn, PORTFOLIO.columns);
  const statRows: Row[] = [];
  const seen = new Set<string>();
  let curve: PortfolioCurve | undefined;
  let current = '';
  const close = (): void => {
    if (!curve) return;
    const st = curve.stats(tradeTotals.get(current) ?? { trades: 0, closed: 0, wins: 0, sumReturn: 0 });
    statRows.push({ param_id: current, ...st });
    seen.add(current);
  };
  const p = parts(rd, 'parts/portfolio', PORTFOLIO_PART.columns);
  const sumNames = Object.keys(PORT) as (keyof typeof PORT)[];
  const res = await conn.stream(
    `SELECT param_id, epoch_us(ts) AS t, ${sumNames.map((n) => `sum(${n}) AS ${n}`).join(', ')}, sum(symbols) AS symbols FROM ${p} GROUP BY param_id, ts HAVING sum(symbols) > 0 ORDER BY param_id, ts`,
  );
  const names = res.columnNames();
  for (;;) {
    const chunk = await res.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const r of chunk.getRowObjects(names)) {
      const id = String(r.param_id);
      if (id !== current) {
        close();
        current = id;
        curve = new PortfolioCurve(Number(firstTs));
      }
      const sums = Object.fromEntries(sumNames.map((n) => [n, r[n] as number])) as PortSums;
      const pt = (curve as PortfolioCurve).step(Number(r.t), sums, Number(r.symbols));
      curveRows.append({ param_id: id, ts: pt.ts, return: pt.ret, equity: pt.equity * capital, symbols: pt.symbols, net_position: pt.net, gross_position: pt.gross, turnover: pt.turnover });
    }
  }
  close();
  // A set none of whose symbols ever had a return: a flat portfolio.
  for (const s of sets) {
    if (seen.has(s.id)) continue;
    curve = new PortfolioCurve(Number(firstTs));
    current = s.id;
    close();
  }
  await curveRows.finish(join(dir, '.portfolio.parquet.tmp'));
  renameSync(join(dir, '.portfolio.parquet.tmp'), join(dir, 'portfolio.parquet'));
  await writeRows(conn, PORTFOLIO_STATS.columns, statRows, join(dir, '.portfolio_stats.parquet.tmp'), 'param_id');
  renameSync(join(dir, '.portfolio_stats.parquet.tmp'), join(dir, 'portfolio_stats.parquet'));
}
