// What identifies a symbol's bars: row count, first and last ts, and two sums of a row hash,
// computed by DuckDB in one GROUP BY over the source (the same scan that counts the rows).
//
//   h  = sum over the symbol's rows of hash(ts, close)
//   hr = sum over its rows of (hash >> 32) * position, position counted from the symbol's
//        first row in its file
//
// h changes with any value, hr also with the order of the rows (a reordering changes what the
// loader sees, so it must change the key). Both are exact HUGEINT sums, transported as text.
// The same sums over the rows with ts <= T are the fingerprint of the series' first bars up to
// T: equal to a cached entry's fingerprint means the new data starts with exactly its bars.
//
// Fingerprinting reads every row. A source file whose identity (path, size, mtime and a hash of
// its footer) is unchanged since it was fingerprinted gets its fingerprints from a memo in the
// cache, so that a rerun over unchanged data does not read the data at all.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SourceIndex } from '../data/bars-reader.js';
import { sqlString } from '../data/duckdb.js';
import type { BarSource } from '../data/source.js';
import { DataError } from '../errors.js';
import { PARQUET_OPTIONS } from '../results/schema.js';
import { withRowsTable } from '../stages/persist/tables.js';

export interface SymbolPrint {
  bars: number;
  firstTs: number;
  lastTs: number;
  h: string;
  hr: string;
}

export interface Fingerprints extends SourceIndex {
  /** a table of the fingerprints: code (index into `symbols`; NULL: the rows without a symbol), symbol, bars, first_ts, last_ts, h, hr */
  table: string;
  /** the memo answered (no data was read) */
  memo: boolean;
}

const hashSql = (src: BarSource) => `hash(${src.tsSql}, ${src.closeSql})`;

function relationWithRowNumbers(src: BarSource): string {
  return `read_parquet([${src.files.map(sqlString).join(', ')}], union_by_name = true, file_row_number = true)`;
}

const SUMS = (src: BarSource) =>
  `count(*) AS bars, min(${src.tsSql}) AS first_ts, max(${src.tsSql}) AS last_ts,
   CAST(sum(${hashSql(src)}) AS VARCHAR) AS h,
   CAST(sum(CAST(${hashSql(src)} >> 32 AS HUGEINT) * file_row_number) - min(file_row_number) * sum(CAST(${hashSql(src)} >> 32 AS HUGEINT)) AS VARCHAR) AS hr`;

let seq = 0;

/** Per-symbol fingerprints (and the source index) of `src`, from the memo when the files are unchanged. */
export async function fingerprintSource(conn: DuckDBConnection, src: BarSource, memoDir?: string): Promise<Fingerprints> {
  const identity = memoDir ? sourceIdentity(src.files) : undefined;
  const memo = identity && memoDir ? join(memoDir, `${identity}.parquet`) : undefined;
  const table = `atc_prints_${process.pid}_${++seq}`;
  // code: the symbol's index in the sorted symbols (NULL for rows without a symbol)
  const create = (from: string) =>
    conn.run(`CREATE OR REPLACE TABLE ${table} AS SELECT CASE WHEN symbol IS NULL THEN NULL ELSE CAST(row_number() OVER (ORDER BY symbol NULLS LAST) - 1 AS INTEGER) END AS code, * FROM ${from}`);
  let fromMemo = false;
  if (memo && existsSync(memo)) {
    try {
      await create(`(SELECT symbol, bars, first_ts, last_ts, h, hr FROM read_parquet(${sqlString(memo)}))`);
      fromMemo = true;
    } catch {
      rmSync(memo, { force: true }); // unreadable: fingerprint again
    }
  }
  if (!fromMemo) {
    try {
      await create(`(SELECT ${src.symbolSql} AS symbol, ${SUMS(src)} FROM ${relationWithRowNumbers(src)} GROUP BY ${src.symbolSql})`);
    } catch (e) {
      throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
    }
    // Only files last modified well before now are memoised: a write within the clock's
    // resolution after this scan would not change their mtime.
    if (memo && memoDir && src.files.every((f) => statSync(f).mtimeMs < Date.now() - 2000)) {
      mkdirSync(memoDir, { recursive: true });
      const tmp = `${memo}.tmp-${process.pid}`;
      await conn.run(`COPY (SELECT symbol, bars, first_ts, last_ts, h, hr FROM ${table} ORDER BY symbol NULLS FIRST) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
      renameSync(tmp, memo);
    }
  }
  const [symbols, rows, nulls, total] = (
    await conn.runAndReadAll(
      `SELECT CAST(to_json(coalesce(list(symbol ORDER BY code) FILTER (WHERE code IS NOT NULL), [])) AS VARCHAR),
              CAST(to_json(coalesce(list(bars ORDER BY code) FILTER (WHERE code IS NOT NULL), [])) AS VARCHAR),
              coalesce(sum(bars) FILTER (WHERE code IS NULL), 0), coalesce(sum(bars), 0) FROM ${table}`,
    )
  ).getRows()[0] as unknown[];
  return { symbols: JSON.parse(String(symbols)) as string[], rows: JSON.parse(String(rows)) as number[], nullSymbolRows: Number(nulls), totalRows: Number(total), table, memo: fromMemo };
}

/** Fingerprints of the bars with ts <= upTo[symbol], for the symbols named. */
export async function prefixPrints(conn: DuckDBConnection, src: BarSource, upTo: Map<string, number>): Promise<Map<string, SymbolPrint>> {
  const out = new Map<string, SymbolPrint>();
  if (upTo.size === 0) return out;
  try {
    await withRowsTable(conn, [['sym', 'VARCHAR'], ['upto', 'BIGINT']], [...upTo], async (table) => {
      const r = await conn.runAndReadAll(
        `SELECT ${src.symbolSql} AS s, ${SUMS(src)} FROM ${relationWithRowNumbers(src)} AS d JOIN ${table} AS p ON d.${src.symbolSql} = p.sym
         WHERE ${src.tsSql} <= p.upto GROUP BY s`,
      );
      for (const [s, n, t0, t1, h, hr] of r.getRows()) out.set(String(s), { bars: Number(n), firstTs: Number(t0), lastTs: Number(t1), h: String(h), hr: String(hr) });
    });
  } catch (e) {
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  }
  return out;
}

/** Path, size, mtime and the last 64 KiB (the Parquet footer: row groups, statistics) of every file. */
export function sourceIdentity(files: string[]): string {
  const h = createHash('sha256').update('atc-source/1\n');
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      const st = fstatSync(fd, { bigint: true });
      h.update(`${f}\n${st.size}\n${st.mtimeNs}\n`);
      const n = Number(st.size < 65536n ? st.size : 65536n);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, Number(st.size) - n);
      h.update(buf);
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex');
}
