// What identifies a symbol's bars: row count, first and last ts, and two sums of a row hash,
// computed by DuckDB in one GROUP BY per source file (the same scan that counts the rows).
//
//   h  = sum over the symbol's rows of rh = hash(ts, close) (a strategy that reads more columns:
//        hash(ts, close, its other inputs), so a change in any column it reads changes the key)
//   hr = sum over its rows of (rh >> 34) * position, a row's position being file index * 2^40
//        + its row number in the file, counted from the symbol's first row (first_row)
//
// h changes with any value, hr also with the order of the rows (a reordering changes what the
// loader sees, so it must change the key). Both are exact sums (HUGEINT), kept as text, and
// add up over files: each file's sums are memoised in the cache under the file's identity
// (path, size, mtime and a hash of its footer), so a rerun over unchanged files reads no data
// and an update that adds a file reads only that file.
//
// Being sums over rows, the fingerprint of a symbol's first bars (its rows with ts <= T) is its
// fingerprint minus the sums over its rows after T: an incremental update reads only those
// (scanTails) and continues from a cached entry when the difference equals the entry's
// fingerprint, i.e. when the new data starts with exactly the cached bars.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { readBlocksIndex, type SourceIndex } from '../data/bars-reader.js';
import { sqlIdent, sqlString } from '../data/duckdb.js';
import type { BarSource } from '../data/source.js';
import { DataError } from '../errors.js';
import { PARQUET_OPTIONS } from '../results/schema.js';

export interface Fingerprints extends SourceIndex {
  /** a table of the fingerprints: code (index into `symbols`; NULL: the rows without a symbol),
   *  symbol, bars, first_ts, last_ts, h, hr, first_row, last_row (readBlocksIndex) */
  table: string;
  /** the memo answered for every file (no data was read) */
  memo: boolean;
  /** files scanned to fingerprint them (the others came from the memo) */
  scanned: number;
  /** the columns hashed besides ts and close (a strategy's other inputs) */
  columns: readonly string[];
}

/** rh's part weighted by position in hr (30 bits: times a row number below 2^33 it fits a BIGINT). */
const WEIGHT = 'CAST(rh >> 34 AS BIGINT)';
/** A row's position in the source: file index * 2^40 + its row number in the file. */
const FILE_STRIDE = 1099511627776n;

/** Per symbol of one file: the sums fingerprints are made of (a = sum weight * row, b = sum weight,
 *  m = first row), and its last row (hi: see readBlocksIndex). */
const FILE_SUMS = `count(*) AS bars, min(t) AS first_ts, max(t) AS last_ts, CAST(sum(rh) AS VARCHAR) AS h,
   CAST(sum(${WEIGHT} * frn) AS VARCHAR) AS a, CAST(sum(${WEIGHT}) AS VARCHAR) AS b, min(frn) AS m, max(frn) AS hi`;

/** A row's hash: of ts, close and the `columns` (SQL over the source's row). */
const rowHashSql = (src: BarSource, columns: readonly string[]): string => `hash(${[src.tsSql, src.closeSql, ...columns.map((c) => src.columnSql(c))].join(', ')})`;

function fileRowsSql(src: BarSource, file: string, columns: readonly string[]): string {
  return `(SELECT ${src.symbolSql} AS symbol, ${src.tsSql} AS t, file_row_number AS frn, ${rowHashSql(src, columns)} AS rh
           FROM read_parquet(${sqlString(file)}, file_row_number = true))`;
}

/** The column a kept tail row holds a strategy's input `name` in (tailSource reads it). */
export const tailColumn = (name: string): string => `in_${name}`;

let seq = 0;

/**
 * Per-symbol fingerprints (and the source index) of `src`. Each file's sums come from its memo
 * when the file is unchanged (a daily update that adds a file reads only that file), else from
 * a scan of it; the files' sums add up to the source's.
 */
export async function fingerprintSource(conn: DuckDBConnection, src: BarSource, memoDir?: string, columns: readonly string[] = []): Promise<Fingerprints> {
  const table = `atc_prints_${process.pid}_${++seq}`;
  const perFile: string[] = [];
  const memos: string[] = [];
  const scannedTables: string[] = [];
  try {
    for (const [idx, file] of src.files.entries()) {
      const memo = memoDir ? join(memoDir, `${fileIdentity(file, columns)}.parquet`) : undefined;
      const cols = `${idx} AS idx, symbol, bars, first_ts, last_ts, h, a, b, m, hi`;
      if (memo && existsSync(memo)) {
        memos.push(memo);
        perFile.push(`SELECT ${cols} FROM read_parquet(${sqlString(memo)})`);
        continue;
      }
      const t = `${table}_f${idx}`;
      scannedTables.push(t);
      await conn.run(`CREATE TABLE ${t} AS SELECT symbol, ${FILE_SUMS} FROM ${fileRowsSql(src, file, columns)} GROUP BY symbol`);
      perFile.push(`SELECT ${cols} FROM ${t}`);
      // Only files last modified well before now are memoised: a write within the clock's
      // resolution after this scan would not change their mtime.
      if (memo && memoDir && statSync(file).mtimeMs < Date.now() - 2000) {
        mkdirSync(memoDir, { recursive: true });
        const tmp = `${memo}.tmp-${process.pid}`;
        await conn.run(`COPY (SELECT * FROM ${t} ORDER BY symbol NULLS FIRST) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
        renameSync(tmp, memo);
      }
    }
    // code: the symbol's index in the sorted symbols (NULL for rows without a symbol)
    const pos = (row: string): string => `(CAST(idx AS HUGEINT) * ${FILE_STRIDE} + ${row})`;
    const manyFiles = `(SELECT symbol, sum(bars) AS bars, min(first_ts) AS first_ts, max(last_ts) AS last_ts, CAST(sum(CAST(h AS HUGEINT)) AS VARCHAR) AS h,
                               CAST(sum(CAST(a AS HUGEINT) + CAST(idx AS HUGEINT) * ${FILE_STRIDE} * CAST(b AS HUGEINT)) - min(${pos('m')}) * sum(CAST(b AS HUGEINT)) AS VARCHAR) AS hr,
                               CAST(min(${pos('m')}) AS BIGINT) AS first_row, CAST(max(${pos('hi')}) AS BIGINT) AS last_row
                        FROM (${perFile.join(' UNION ALL ')}) GROUP BY symbol)`;
    // the same for one file (index 0), without grouping
    const oneFile = `(SELECT symbol, bars, first_ts, last_ts, h, CAST(CAST(a AS HUGEINT) - CAST(m AS HUGEINT) * CAST(b AS HUGEINT) AS VARCHAR) AS hr, m AS first_row, hi AS last_row FROM (${perFile[0]}))`;
    try {
      await conn.run(
        `CREATE OR REPLACE TABLE ${table} AS
         SELECT CASE WHEN symbol IS NULL THEN NULL ELSE CAST(row_number() OVER (ORDER BY symbol NULLS LAST) - 1 AS INTEGER) END AS code, *
         FROM ${perFile.length === 1 ? oneFile : manyFiles}`,
      );
    } catch (e) {
      // a memo that cannot be read: drop the memos and fingerprint every file again
      if (memos.length === 0) throw e;
      for (const m of memos) rmSync(m, { force: true });
      return await fingerprintSource(conn, src, memoDir, columns);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  } finally {
    for (const t of scannedTables) await conn.run(`DROP TABLE IF EXISTS ${t}`);
  }
  const index = await readBlocksIndex(conn, `(SELECT symbol AS s, bars AS n, first_row, last_row FROM ${table})`, src.relation);
  return { ...index, table, memo: scannedTables.length === 0, scanned: scannedTables.length, columns };
}

let tailSeq = 0;

/**
 * For the symbols of `cuts` (a relation: code, upto = the ts a cached entry ends at; `from`: the
 * least upto): the fingerprint of their bars up to that ts, as their print minus the sums over
 * their rows after it (and rows without a ts), read in one scan, into a table `prefix` (code,
 * bars, first_ts, h, hr). `keep`: also keep those rows, in file order, in a table `rows`
 * (code, symbol, t, close, the fingerprint's other columns as tailColumn(name), ...), from
 * which an incremental pass reads them (tailSource).
 */
export async function scanTails(
  conn: DuckDBConnection,
  src: BarSource,
  fp: Fingerprints,
  cuts: string,
  from: number,
  keep: boolean,
): Promise<{ prefix: string; rows?: string }> {
  const n = `${process.pid}_${++tailSeq}`;
  const prefix = `atc_prefix_${n}`;
  const kept = `atc_tails_${n}`;
  // the least cut as a constant drops most rows in the scan (and, where the ts column allows,
  // whole row groups by their statistics), before the join
  const files = `(VALUES ${src.files.map((f, i) => `(${sqlString(f)}, ${i})`).join(', ')}) AS f(filename, idx)`;
  // (two scans: an OR of the two conditions would keep the reader from skipping row groups)
  const more = fp.columns.map((c) => `, ${src.columnSql(c)} AS ${sqlIdent(tailColumn(c))}`).join('');
  const rh = `hash(${['d.t', 'd.close', ...fp.columns.map((c) => `d.${sqlIdent(tailColumn(c))}`)].join(', ')})`;
  const scan = (where: string) => `SELECT ${src.symbolSql} AS symbol, ${src.tsSql} AS t, ${src.closeSql} AS close${more}, file_row_number AS frn, filename
                 FROM read_parquet([${src.files.map(sqlString).join(', ')}], union_by_name = true, file_row_number = true, filename = true) WHERE ${where}`;
  const rows = `(${scan(src.tsAfterSql(from))} UNION ALL ${scan(src.tsNullSql)})`;
  const tails = `SELECT c.code, d.symbol, d.t, d.close${fp.columns.map((c) => `, d.${sqlIdent(tailColumn(c))}`).join('')}, ${rh} AS rh, f.idx * ${FILE_STRIDE} + d.frn - c.first_row AS pos, f.idx, d.frn
                 FROM ${rows} AS d JOIN ${files} USING (filename)
                 JOIN (SELECT p.code, p.symbol, p.first_row, u.upto FROM ${fp.table} AS p JOIN ${cuts} AS u USING (code)) AS c ON d.symbol = c.symbol
                 WHERE d.t > c.upto OR d.t IS NULL`;
  try {
    if (keep) await conn.run(`CREATE OR REPLACE TABLE ${kept} AS ${tails} ORDER BY code, idx, frn`);
    await conn.run(
      `CREATE OR REPLACE TABLE ${prefix} AS
       SELECT p.code, p.bars - coalesce(a.n, 0) AS bars, p.first_ts, CAST(CAST(p.h AS HUGEINT) - coalesce(a.h, 0) AS VARCHAR) AS h,
              CAST(CAST(p.hr AS HUGEINT) - coalesce(a.hr, 0) AS VARCHAR) AS hr
       FROM ${fp.table} AS p JOIN ${cuts} AS u USING (code)
       LEFT JOIN (SELECT code, count(*) AS n, sum(rh) AS h, sum(CAST(${WEIGHT} AS HUGEINT) * pos) AS hr FROM ${keep ? kept : `(${tails})`} GROUP BY code) AS a USING (code)`,
    );
    return keep ? { prefix, rows: kept } : { prefix };
  } catch (e) {
    await conn.run(`DROP TABLE IF EXISTS ${kept}`);
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  }
}

/** A file's path, size, mtime and last 64 KiB (its Parquet footer: row groups, statistics). */
function fileIdentity(file: string, columns: readonly string[]): string {
  // the ATC's memos (close only) keep their names; other column lists are part of the identity
  const h = createHash('sha256').update(`atc-source-file/1\n${file}\n${columns.length > 0 ? `${JSON.stringify(columns)}\n` : ''}`);
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    h.update(`${st.size}\n${st.mtimeNs}\n`);
    const n = Number(st.size < 65536n ? st.size : 65536n);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, Number(st.size) - n);
    h.update(buf);
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
