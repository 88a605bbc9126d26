// openResults(): a run directory's tables as typed row objects, and SQL over them as Arrow.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { type Db, openDb } from '../data/duckdb.js';
import { AtcError } from '../errors.js';
import { queryArrow } from '../results/arrow.js';
import {
  type ParamsRow,
  type PortfolioRow,
  type PortfolioStatsRow,
  type RejectRow,
  type SignalRow,
  type StatsRow,
  type SummaryRow,
  type TableSchema,
  type TradeRow,
  PARAMS,
  PORTFOLIO,
  PORTFOLIO_STATS,
  REJECTS,
  SIGNALS,
  STATS,
  SUMMARY,
  TRADES,
} from '../results/schema.js';
import { createViews } from '../results/views.js';

/** Which rows a reader returns. */
export interface ReadOptions {
  /** a SQL condition over the table's columns, e.g. `sharpe > 1 AND symbol LIKE 'A%'` */
  where?: string;
  /** a SQL ORDER BY list (default: the table's natural order) */
  orderBy?: string;
  limit?: number;
}

/** A run directory's results. Rows have one property per column (results/schema.ts); NULL is `null`, TIMESTAMP a Date (UTC). */
export interface Results {
  readonly dir: string;
  summary(o?: ReadOptions): Promise<SummaryRow[]>;
  stats(o?: ReadOptions): Promise<StatsRow[]>;
  trades(o?: ReadOptions): Promise<TradeRow[]>;
  portfolio(o?: ReadOptions): Promise<PortfolioRow[]>;
  portfolioStats(o?: ReadOptions): Promise<PortfolioStatsRow[]>;
  params(o?: ReadOptions): Promise<ParamsRow[]>;
  rejects(o?: ReadOptions): Promise<RejectRow[]>;
  /** per-bar rows of a run with `signals` output (use `where` and `limit`: there is one row per bar) */
  signals(o?: ReadOptions): Promise<SignalRow[]>;
  /** any SQL over the views signals, summary, stats, trades, portfolio, portfolio_stats, params, rejects */
  query(sql: string): Promise<Table>;
  close(): void;
}

/** Open the results of a run directory (`out` of backtest() or `atc run`). */
export async function openResults(dir: string): Promise<Results> {
  if (!existsSync(join(dir, 'run.json'))) throw new AtcError('ATC_ERR_DATA_READ', `${dir} is not a run directory (no run.json)`);
  const db = await openDb({ threads: 2 });
  try {
    await createViews(db.conn, dir);
  } catch (e) {
    db.close();
    throw new AtcError('ATC_ERR_DATA_READ', `${dir}: ${(e as Error).message}`, { cause: e });
  }
  return new RunResults(dir, db);
}

class RunResults implements Results {
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly db: Db,
  ) {}

  summary = (o?: ReadOptions) => this.rows<SummaryRow>(SUMMARY, o);
  stats = (o?: ReadOptions) => this.rows<StatsRow>(STATS, o);
  trades = (o?: ReadOptions) => this.rows<TradeRow>(TRADES, o);
  portfolio = (o?: ReadOptions) => this.rows<PortfolioRow>(PORTFOLIO, o);
  portfolioStats = (o?: ReadOptions) => this.rows<PortfolioStatsRow>(PORTFOLIO_STATS, o);
  params = (o?: ReadOptions) => this.rows<ParamsRow>(PARAMS, o);
  rejects = (o?: ReadOptions) => this.rows<RejectRow>(REJECTS, o);
  signals = (o?: ReadOptions) => this.rows<SignalRow>(SIGNALS, o);

  async query(sql: string): Promise<Table> {
    this.check();
    try {
      return await queryArrow(this.db.conn, sql);
    } catch (e) {
      throw new AtcError('ATC_ERR_SQL', (e as Error).message, { cause: e });
    }
  }

  close(): void {
    if (!this.closed) this.db.close();
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new AtcError('ATC_ERR_USAGE', `the results of ${this.dir} are closed`);
  }

  private async rows<R>(t: TableSchema, o: ReadOptions = {}): Promise<R[]> {
    this.check();
    if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 0)) throw new AtcError('ATC_ERR_USAGE', `limit must be an integer >= 0, got ${o.limit}`);
    const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
    const sql = `SELECT ${cols} FROM "${t.name}"${o.where ? ` WHERE ${o.where}` : ''}${o.orderBy ? ` ORDER BY ${o.orderBy}` : ''}${o.limit !== undefined ? ` LIMIT ${o.limit}` : ''}`;
    let rows: Record<string, unknown>[];
    try {
      rows = await (await this.db.conn.run(sql)).getRowObjectsJS();
    } catch (e) {
      throw new AtcError('ATC_ERR_SQL', `${t.name}: ${(e as Error).message}`, { cause: e });
    }
    // counts come back as bigint: rows carry numbers (exact below 2^53)
    for (const r of rows) for (const k in r) if (typeof r[k] === 'bigint') r[k] = Number(r[k]);
    return rows as R[];
  }
}
