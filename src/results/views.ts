// SQL views over a run's results, one per result table; declared once and used by `atc sql`
// and the tests. A table that a run did not write is an empty view with the right columns, so
// that queries stay valid whatever --outputs was.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../data/duckdb.js';
import { type Column, emptyRelation, RESULT_TABLES, SIGNALS } from './schema.js';

export interface ViewDef {
  name: string;
  columns: readonly Column[];
  /** Parquet files of the view inside a run directory (empty: no such output) */
  files(dir: string): string[];
}

const parts = (dir: string, sub: string): string[] => {
  const d = join(dir, sub);
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.parquet') && !f.startsWith('.')).sort().map((f) => join(d, f)) : [];
};
const single = (dir: string, name: string): string[] => (existsSync(join(dir, name)) ? [join(dir, name)] : []);

export const VIEWS: ViewDef[] = RESULT_TABLES.map((t) => ({
  name: t.name,
  columns: t.columns,
  files: (d: string) => (t === SIGNALS ? parts(d, 'signals') : single(d, t.file)),
}));

/** Create the result views of run directory `dir` on `conn`. */
export async function createViews(conn: DuckDBConnection, dir: string): Promise<string[]> {
  const made: string[] = [];
  for (const v of VIEWS) {
    const files = v.files(dir);
    const body = files.length > 0 ? `SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}])` : `SELECT * FROM ${emptyRelation(v.columns)}`;
    await conn.run(`CREATE OR REPLACE VIEW ${sqlIdent(v.name)} AS ${body}`);
    made.push(v.name);
  }
  return made;
}

