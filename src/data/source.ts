// Where bars come from: a Parquet file, a directory of them, or a glob; and a check that they
// have the columns the kernel needs (symbol, ts, close) with usable types.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError } from '../errors.js';
import { sqlIdent, sqlString } from './duckdb.js';

export interface BarSource {
  /** what the user named */
  spec: string;
  files: string[];
  /** a DuckDB table expression over all files */
  relation: string;
  /** SQL giving ts as BIGINT microseconds since the epoch (UTC) */
  tsSql: string;
  /** SQL true where ts > `us` (µs), written so that the Parquet reader can skip row groups by
   *  their statistics where the column's type allows */
  tsAfterSql: (us: number) => string;
  /** SQL true where ts is NULL, on the column as stored (its statistics can skip row groups) */
  tsNullSql: string;
  /** SQL giving close as DOUBLE */
  closeSql: string;
  /** SQL giving another numeric input column (a strategy's high, low, signal...) as DOUBLE */
  columnSql: (name: string) => string;
  symbolSql: string;
  /** the Parquet row-group statistics show rows grouped by symbol in ascending order across
   *  row groups and files: symbol ranges can be read with filter pushdown, in file order.
   *  Otherwise the reader asks DuckDB to sort by symbol, ts. (Read from the footers when first
   *  asked: a run answered by the cache never asks.) */
  symbolSorted: () => Promise<boolean>;
  /** one Parquet file's relation with its rows' positions in the file (column file_row_number),
   *  from which the index learns whether each symbol's rows are one block; undefined for other
   *  sources (several files, a table) */
  numbered?: string;
}

/** The bars of a DuckDB table (symbol, t as µs, close, other columns as `column(name)`) in file order, standing for `src`. */
export function tableSource(src: BarSource, table: string, column: (name: string) => string = (n) => n): BarSource {
  return { ...src, relation: table, tsSql: '"t"', tsAfterSql: (us) => `"t" > ${us}`, tsNullSql: '"t" IS NULL', closeSql: '"close"', columnSql: (n) => sqlIdent(column(n)), symbolSql: '"symbol"', symbolSorted: () => Promise.resolve(true), numbered: undefined };
}

function listParquet(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...listParquet(p));
    else if (name.endsWith('.parquet')) out.push(p);
  }
  return out;
}

/** Expand --data into files. Globs are expanded by DuckDB itself. */
export function resolveFiles(spec: string): { files: string[]; glob: boolean } {
  if (/[*?[]/.test(spec)) return { files: [spec], glob: true };
  const p = resolve(spec);
  if (!existsSync(p)) throw new DataError('ATC_ERR_DATA_READ', `${spec}: no such file or directory`, { file: spec });
  if (statSync(p).isDirectory()) {
    const files = listParquet(p);
    if (files.length === 0) throw new DataError('ATC_ERR_DATA_READ', `${spec}: no .parquet files in this directory`, { file: spec });
    return { files, glob: false };
  }
  return { files: [p], glob: false };
}

const TIME_TYPES = /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|DATE)$/;
const NUMERIC_TYPES = /^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT)$/;

/** Open a Parquet source and check its schema: symbol, ts, close and the `inputs` a strategy reads. */
export async function openBarSource(conn: DuckDBConnection, spec: string, inputs: readonly string[] = []): Promise<BarSource> {
  const resolved = resolveFiles(spec);
  let files = resolved.files;
  if (resolved.glob) {
    const r = await conn.runAndReadAll(`SELECT file FROM glob(${sqlString(files[0] as string)}) ORDER BY file`);
    files = r.getRows().map((row) => String(row[0]));
    if (files.length === 0) throw new DataError('ATC_ERR_DATA_READ', `${spec}: no file matches`, { file: spec });
  }
  const list = `[${files.map(sqlString).join(', ')}]`;
  const relation = `read_parquet(${list}, union_by_name = true)`;
  let cols: { name: string; type: string }[];
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
    cols = r.getRowObjectsJson().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  } catch (e) {
    throw new DataError('ATC_ERR_DATA_READ', `${spec}: cannot read as Parquet: ${(e as Error).message}`, { file: spec }, { cause: e });
  }
  const find = (name: string): { name: string; type: string } => {
    const c = cols.find((x) => x.name === name);
    if (!c) {
      throw new DataError(
        'ATC_ERR_MISSING_COLUMN',
        `${spec}: missing column "${name}" (found: ${cols.map((x) => x.name).join(', ')}); use \`atc data import\` to map other column names`,
        { file: spec },
      );
    }
    return c;
  };
  const symbol = find('symbol');
  const ts = find('ts');
  const close = find('close');
  if (symbol.type !== 'VARCHAR') {
    throw new DataError('ATC_ERR_COLUMN_TYPE', `${spec}: column "symbol" is ${symbol.type}, expected VARCHAR`, { file: spec });
  }
  if (!TIME_TYPES.test(ts.type)) {
    throw new DataError(
      'ATC_ERR_COLUMN_TYPE',
      `${spec}: column "ts" is ${ts.type}, expected a TIMESTAMP or DATE; \`atc data import\` converts epoch numbers and text`,
      { file: spec },
    );
  }
  for (const c of [close, ...inputs.filter((n) => n !== 'close').map(find)]) {
    if (!NUMERIC_TYPES.test(c.type)) throw new DataError('ATC_ERR_COLUMN_TYPE', `${spec}: column "${c.name}" is ${c.type}, expected a number`, { file: spec });
  }
  let sorted: Promise<boolean> | undefined;
  const symbolSorted = (): Promise<boolean> => (sorted ??= rowGroupsAscend(conn, files));
  const tsSql = ts.type === 'TIMESTAMP WITH TIME ZONE' ? `epoch_us(${sqlIdent('ts')})` : `epoch_us(CAST(${sqlIdent('ts')} AS TIMESTAMP))`;
  const tsAfterSql = (us: number): string => (ts.type === 'TIMESTAMP' ? `${sqlIdent('ts')} > make_timestamp(${us})` : `${tsSql} > ${us}`);
  return { spec, files, relation, tsSql, tsAfterSql, tsNullSql: `${sqlIdent('ts')} IS NULL`, closeSql: `CAST(${sqlIdent('close')} AS DOUBLE)`, columnSql: (n) => `CAST(${sqlIdent(n)} AS DOUBLE)`, symbolSql: sqlIdent('symbol'), symbolSorted, numbered: files.length === 1 && !cols.some((c) => c.name === 'file_row_number') ? `read_parquet(${list}, file_row_number = true)` : undefined };
}

/** True when, in file order, every row group's symbols are at or after the previous group's. */
async function rowGroupsAscend(conn: DuckDBConnection, files: string[]): Promise<boolean> {
  try {
    const r = await conn.runAndReadAll(
      `SELECT file_name, row_group_id, stats_min_value AS lo, stats_max_value AS hi
       FROM parquet_metadata([${files.map(sqlString).join(', ')}]) WHERE path_in_schema = 'symbol'`,
    );
    const order = new Map(files.map((f, i) => [f, i]));
    const groups = r
      .getRowObjects()
      .map((row) => ({ f: order.get(String(row.file_name)) ?? -1, g: Number(row.row_group_id), lo: row.lo, hi: row.hi }))
      .sort((a, b) => a.f - b.f || a.g - b.g);
    let prevHi: string | null = null;
    for (const g of groups) {
      if (g.f < 0 || g.lo === null || g.hi === null) return false;
      if (prevHi !== null && String(g.lo) < prevHi) return false;
      prevHi = String(g.hi);
    }
    return groups.length > 0;
  } catch {
    return false;
  }
}
