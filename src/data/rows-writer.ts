// Row sets (summary, stats, trades, rejects, portfolio rows, cache entries) as Parquet.
// Rows are objects keyed by column name: the columns (results/schema.ts) give the order.
// A set known in full (`writeRows`) is copied column by column into DuckDB vectors by a table
// function that COPY reads; rows that come one by one (`RowsWriter`) go through an appender
// into a temporary table.

import type { DuckDBAppender, DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { duckdbApi } from './duckdb-api.js';
import { type Column, columnsDdl, PARQUET_OPTIONS, type SqlType } from '../results/schema.js';
import { callbackQuery } from './callback-queries.js';
import { sqlString } from './duckdb.js';

const { DuckDBTableFunction, DuckDBTimestampValue } = duckdbApi;

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
export function writeRows(conn: DuckDBConnection, cols: readonly Column[], rows: readonly Row[], file: string, orderBy = ''): Promise<void> {
  return rowsSource(conn).write(cols, rows, file, orderBy);
}

const VECTOR = 2048;
const DUCK_TYPES: Record<SqlType, DuckDBType> = {
  VARCHAR: duckdbApi.VARCHAR,
  DOUBLE: duckdbApi.DOUBLE,
  BIGINT: duckdbApi.BIGINT,
  INTEGER: duckdbApi.INTEGER,
  TINYINT: duckdbApi.TINYINT,
  BOOLEAN: duckdbApi.BOOLEAN,
  TIMESTAMP: duckdbApi.TIMESTAMP,
  BLOB: duckdbApi.BLOB,
};

const isNull = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/**
 * One table function per connection that yields the rows of the write in progress: a part of a
 * few hundred rows costs about half of an appender's temporary table (whose column segments
 * DuckDB allocates on every close). Writes on one connection take turns.
 */
class RowsSource {
  private readonly name = `atc_rows_src_${process.pid}_${++seq}`;
  private pending: { cols: readonly Column[]; rows: readonly Row[]; pos: number } | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private readonly f64 = new Float64Array(VECTOR);
  private readonly i64 = new BigInt64Array(VECTOR);
  private readonly i32 = new Int32Array(VECTOR);
  private readonly i8 = new Int8Array(VECTOR);
  private readonly valid = new Uint32Array(VECTOR / 32);

  constructor(private readonly conn: DuckDBConnection) {
    conn.registerTableFunction(
      DuckDBTableFunction.create({
        name: this.name,
        bindFunction: (bind) => {
          for (const c of this.current().cols) bind.addResultColumn(c.name, DUCK_TYPES[c.type]);
        },
        initFunction: () => undefined,
        mainFunction: (_info, chunk) => this.fill(chunk.chunk, (n) => (chunk.rowCount = n)),
      }),
    );
  }

  write(cols: readonly Column[], rows: readonly Row[], file: string, orderBy: string): Promise<void> {
    const run = (): Promise<void> =>
      callbackQuery(async () => {
        this.pending = { cols, rows, pos: 0 };
        try {
          await this.conn.run(`COPY (SELECT * FROM ${this.name}() ${orderBy ? `ORDER BY ${orderBy}` : ''}) TO ${sqlString(file)} (${PARQUET_OPTIONS})`);
        } finally {
          this.pending = undefined;
        }
      });
    const done = this.turn.then(run, run);
    this.turn = done.catch(() => undefined);
    return done;
  }

  private current(): NonNullable<RowsSource['pending']> {
    if (!this.pending) throw new Error('internal: rows source has no rows');
    return this.pending;
  }

  private fill(chunk: duckdb.DataChunk, setRows: (n: number) => void): void {
    const p = this.current();
    const n = Math.min(VECTOR, p.rows.length - p.pos);
    setRows(n);
    if (n <= 0) return;
    const at = p.pos;
    p.cols.forEach((c, k) => {
      const v = duckdb.data_chunk_get_vector(chunk, k);
      const valid = this.valid;
      valid.fill(0xffffffff);
      let nulls = false;
      const value = (i: number): unknown => {
        const x = (p.rows[at + i] as Row)[c.name];
        if (!isNull(x)) return x;
        valid[i >>> 5] = (valid[i >>> 5] as number) & ~(1 << (i & 31));
        nulls = true;
        return undefined;
      };
      switch (c.type) {
        case 'VARCHAR':
        case 'BLOB':
          for (let i = 0; i < n; i++) {
            const x = value(i);
            if (x === undefined) continue;
            // by length (a C string would end at a NUL); BLOBs may be any typed array's bytes
            const bytes = c.type === 'VARCHAR' ? Buffer.from(String(x), 'utf8') : ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x as ArrayBuffer);
            duckdb.vector_assign_string_element_len(v, i, bytes);
          }
          break;
        case 'DOUBLE':
          for (let i = 0; i < n; i++) this.f64[i] = Number(value(i) ?? 0);
          duckdb.copy_data_to_vector(v, 0, this.f64.buffer, 0, n * 8);
          break;
        case 'BIGINT':
        case 'TIMESTAMP':
          for (let i = 0; i < n; i++) this.i64[i] = BigInt((value(i) ?? 0) as number | bigint);
          duckdb.copy_data_to_vector(v, 0, this.i64.buffer, 0, n * 8);
          break;
        case 'INTEGER':
          for (let i = 0; i < n; i++) this.i32[i] = Number(value(i) ?? 0);
          duckdb.copy_data_to_vector(v, 0, this.i32.buffer, 0, n * 4);
          break;
        case 'TINYINT':
        case 'BOOLEAN':
          for (let i = 0; i < n; i++) {
            const x = value(i);
            this.i8[i] = c.type === 'BOOLEAN' ? (x ? 1 : 0) : Number(x ?? 0);
          }
          duckdb.copy_data_to_vector(v, 0, this.i8.buffer, 0, n);
          break;
        default:
          throw new Error(`writeRows: unsupported type ${String(c.type)}`);
      }
      if (nulls) {
        duckdb.vector_ensure_validity_writable(v);
        duckdb.copy_data_to_vector_validity(v, 0, valid.buffer, 0, Math.ceil(n / 64) * 8);
      }
    });
    p.pos += n;
  }
}

const sources = new WeakMap<DuckDBConnection, RowsSource>();

function rowsSource(conn: DuckDBConnection): RowsSource {
  let s = sources.get(conn);
  if (!s) {
    s = new RowsSource(conn);
    sources.set(conn, s);
  }
  return s;
}
