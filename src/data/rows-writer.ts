// Row sets (summary, stats, trades, rejects, portfolio rows, cache entries) as Parquet through
// a DuckDB appender: rows go into a temporary table as they come, then one COPY writes the file.
// Rows are objects keyed by column name: the columns (results/schema.ts) give the order.

import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { duckdbApi } from './duckdb-api.js';
import { type Column, columnsDdl, PARQUET_OPTIONS } from '../results/schema.js';
import { sqlString } from './duckdb.js';

const { DuckDBTimestampValue } = duckdbApi;

let seq = 0;

/** A row: values by column name (null, undefined or NaN = NULL; TIMESTAMP as epoch µs). */
export type Row = Readonly<Record<string, unknown>>;

/** Rows appended one by one into a temporary table. */
export class RowsWriter {
  readonly table = `atc_rows_${process.pid}_${++seq}`;
  private app: DuckDBAppender | undefined;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly cols: readonly Column[],
  ) {}

  static async open(conn: DuckDBConnection, cols: readonly Column[]): Promise<RowsWriter> {
    const w = new RowsWriter(conn, cols);
    await conn.run(`CREATE TABLE ${w.table} (${columnsDdl(cols)})`);
    w.app = await conn.createAppender(w.table);
    return w;
  }

  append(row: Row): void {
    const app = this.app as DuckDBAppender;
    for (const { name, type } of this.cols) {
      const v = row[name];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) app.appendNull();
      else if (type === 'VARCHAR') app.appendVarchar(String(v));
      else if (type === 'DOUBLE') app.appendDouble(Number(v));
      else if (type === 'BIGINT') app.appendBigInt(BigInt(v as number | bigint));
      else if (type === 'INTEGER') app.appendInteger(Number(v));
      else if (type === 'TINYINT') app.appendTinyInt(Number(v));
      else if (type === 'BOOLEAN') app.appendBoolean(Boolean(v));
      else if (type === 'TIMESTAMP') app.appendTimestamp(new DuckDBTimestampValue(BigInt(v as number | bigint)));
      else if (type === 'BLOB') app.appendBlob(v as Uint8Array);
      else throw new Error(`RowsWriter: unsupported type ${String(type)}`);
    }
    app.endRow();
  }

  /** Run `f` over the table of everything appended, then drop it. */
  async use<T>(f: (table: string) => Promise<T>): Promise<T> {
    try {
      this.app?.closeSync();
      this.app = undefined;
      return await f(this.table);
    } finally {
      await this.conn.run(`DROP TABLE IF EXISTS ${this.table}`);
    }
  }

  /** Write everything appended to `file` (optionally sorted) and drop the table. */
  finish(file: string, orderBy = ''): Promise<void> {
    return this.use((t) => this.conn.run(`COPY (SELECT * FROM ${t} ${orderBy ? `ORDER BY ${orderBy}` : ''}) TO ${sqlString(file)} (${PARQUET_OPTIONS})`).then(() => undefined));
  }
}

/** Run `f` over a transient table of `rows` (e.g. to join a list of keys in SQL). */
export async function withRowsTable<T>(conn: DuckDBConnection, cols: readonly Column[], rows: readonly Row[], f: (table: string) => Promise<T>): Promise<T> {
  const w = await RowsWriter.open(conn, cols);
  for (const row of rows) w.append(row);
  return w.use(f);
}

/** Write `rows` to `file` in one go. */
export async function writeRows(conn: DuckDBConnection, cols: readonly Column[], rows: readonly Row[], file: string, orderBy = ''): Promise<void> {
  const w = await RowsWriter.open(conn, cols);
  for (const row of rows) w.append(row);
  await w.finish(file, orderBy);
}
