// SQL views over a run's results, one per result table; declared once and used by `atc sql`
// and the tests. A table that a run did not write is an empty view with the right columns, so
// that queries stay valid whatever --outputs was.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../data/duckdb.js';
import { PARAM_COLUMNS } from '../config/grid.js';
import { PORTFOLIO_COLUMNS, PORTFOLIO_STATS_COLUMNS, REJECT_COLUMNS, SIGNAL_COLUMNS, SIGNAL_TYPES, STATS_COLUMNS, SUMMARY_COLUMNS, TRADE_COLUMNS } from './schema.js';

interface ViewDef {
  name: string;
  columns: [string, string][];
  /** Parquet files of the view inside a run directory (empty: no such output) */
  files(dir: string): string[];
}

const parts = (dir: string, sub: string): string[] => {
  const d = join(dir, sub);
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.parquet') && !f.startsWith('.')).sort().map((f) => join(d, f)) : [];
};
const single = (dir: string, name: string): string[] => (existsSync(join(dir, name)) ? [join(dir, name)] : []);

export const VIEWS: ViewDef[] = [
  { name: 'signals', columns: SIGNAL_COLUMNS.map((c) => [c, SIGNAL_TYPES[c]]), files: (d) => parts(d, 'signals') },
  { name: 'summary', columns: SUMMARY_COLUMNS, files: (d) => single(d, 'summary.parquet') },
  { name: 'stats', columns: STATS_COLUMNS, files: (d) => single(d, 'stats.parquet') },
  { name: 'trades', columns: TRADE_COLUMNS, files: (d) => single(d, 'trades.parquet') },
  { name: 'portfolio', columns: PORTFOLIO_COLUMNS, files: (d) => single(d, 'portfolio.parquet') },
  { name: 'portfolio_stats', columns: PORTFOLIO_STATS_COLUMNS, files: (d) => single(d, 'portfolio_stats.parquet') },
  { name: 'params', columns: PARAM_COLUMNS, files: (d) => single(d, 'params.parquet') },
  { name: 'rejects', columns: REJECT_COLUMNS, files: (d) => single(d, 'rejects.parquet') },
];

/** Create the result views of run directory `dir` on `conn`. */
export async function createViews(conn: DuckDBConnection, dir: string): Promise<string[]> {
  const made: string[] = [];
  for (const v of VIEWS) {
    const files = v.files(dir);
    const body =
      files.length > 0
        ? `SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}])`
        : `SELECT ${v.columns.map(([n, t]) => `CAST(NULL AS ${t}) AS ${sqlIdent(n)}`).join(', ')} WHERE false`;
    await conn.run(`CREATE OR REPLACE VIEW ${sqlIdent(v.name)} AS ${body}`);
    made.push(v.name);
  }
  return made;
}
