// Reading (symbol, ts, close) into typed arrays, one DuckDB chunk (~2048 rows) at a time,
// through the low-level vector API (vector_get_data copies raw column memory: several times
// faster than row objects). Symbols travel as ENUM codes over the sorted distinct symbols, so
// "sorted by symbol" is "codes never decrease".
//
// A source laid out by symbol (Parquet row-group statistics say so) is read as consecutive
// symbol ranges of ~`rangeRows` rows: each range is materialised by DuckDB (filter pushdown
// skips the other row groups) while the previous one is consumed, on a second connection.
// That avoids the per-chunk round trip of a streamed result (~0.2 ms, the bottleneck at
// 10M+ rows/s) and keeps memory at two ranges. A symbol larger than a range is streamed.
// Any other layout is streamed sorted by symbol, ts (DuckDB sorts out of core).
//
// A range is read without its symbol column (materialising and casting it was half of DuckDB's
// work per range) where the codes follow without it: a range of one symbol, or a range of a
// source whose index found every symbol's rows in one block, in ascending order (then the
// index's row counts cut the range into its symbols; the range's row count is checked).

import type { DuckDBConnection, DuckDBDataChunk, DuckDBMaterializedResult, DuckDBResult } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { DataError } from '../errors.js';
import type { Db } from './duckdb.js';
import { jsonList, sqlString } from './duckdb.js';
import type { BarSource } from './source.js';
import { collectNative } from '../util/native-memory.js';

/** One DuckDB chunk of bars; valid until the next chunk of the same stream is asked for. */
export interface BarChunk {
  n: number;
  /** index into the symbol dictionary; NULL_CODE where the symbol is NULL */
  sym: Uint32Array;
  /** epoch microseconds, as doubles (exact below 2^53 us: until the year 2255) */
  ts: Float64Array;
  close: Float64Array;
  /** 1 where ts is NULL (null when there is none) */
  tsNull: Uint8Array | null;
  /** 1 where close is NULL (null when there is none) */
  closeNull: Uint8Array | null;
  /** ReadOptions.columns, in order, and their NULL masks */
  inputs: Float64Array[];
  inputNulls: (Uint8Array | null)[];
}

export const NULL_CODE = 0xffffffff;

/** The sorted distinct symbols of a source, their row counts, and rows with a NULL symbol. */
export interface SourceIndex {
  symbols: string[];
  rows: number[];
  nullSymbolRows: number;
  totalRows: number;
  /** the relation (BarSource.relation) in whose scan order every symbol's rows are one block
   *  and the blocks ascend by symbol (rows without a symbol aside); unset where not known */
  blocksOf?: string;
}

let tableSeq = 0;

export async function indexSource(conn: DuckDBConnection, src: BarSource): Promise<SourceIndex> {
  try {
    if (!src.numbered) return await readIndex(conn, `(SELECT ${src.symbolSql} AS s, count(*) AS n FROM ${src.relation} GROUP BY s)`);
    // per symbol its first and last row as well (the same scan): are its rows one block?
    const t = `atc_blocks_${process.pid}_${++tableSeq}`;
    await conn.run(
      `CREATE TEMP TABLE ${t} AS SELECT ${src.symbolSql} AS s, count(*) AS n, min(file_row_number) AS first_row, max(file_row_number) AS last_row FROM ${src.numbered} GROUP BY s`,
    );
    try {
      return await readBlocksIndex(conn, t, src.relation);
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${t}`);
    }
  } catch (e) {
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  }
}

/**
 * The index of a relation of (s: symbol, n: its rows, first_row/last_row: the position of its
 * first and last row in `relation`'s scan order), with blocksOf set when, in that order, each
 * symbol's rows form one block and the blocks ascend by symbol (rows without a symbol aside: the
 * ranges' filter leaves them out). Each symbol ending before the next one in symbol order
 * starts is exactly that.
 */
export async function readBlocksIndex(conn: DuckDBConnection, perSymbol: string, relation: string): Promise<SourceIndex> {
  const index = await readIndex(conn, `(SELECT s, n FROM ${perSymbol})`);
  const r = await conn.runAndReadAll(
    `SELECT coalesce(bool_and(prev_last IS NULL OR first_row > prev_last), false)
     FROM (SELECT first_row, lag(last_row) OVER (ORDER BY s) AS prev_last FROM ${perSymbol} WHERE s IS NOT NULL)`,
  );
  return r.getRows()[0]?.[0] === true ? { ...index, blocksOf: relation } : index;
}

/** The index of a relation of per-symbol row counts (s: symbol, NULL for rows without one; n). */
export async function readIndex(conn: DuckDBConnection, counts: string): Promise<SourceIndex> {
  const [symbols, rows, nulls, total] = (
    await conn.runAndReadAll(
      `SELECT ${jsonList('list(s ORDER BY s) FILTER (WHERE s IS NOT NULL)')}, ${jsonList('list(n ORDER BY s) FILTER (WHERE s IS NOT NULL)')},
              coalesce(sum(n) FILTER (WHERE s IS NULL), 0), coalesce(sum(n), 0) FROM ${counts}`,
    )
  ).getRows()[0] as unknown[];
  return { symbols: JSON.parse(String(symbols)) as string[], rows: JSON.parse(String(rows)) as number[], nullSymbolRows: Number(nulls), totalRows: Number(total) };
}

/** Bytes per ENUM code for a dictionary of n values (DuckDB: uint8 up to 255 values, then uint16, uint32). */
function enumWidth(n: number): 1 | 2 | 4 {
  return n <= 0xff ? 1 : n <= 0xffff ? 2 : 4;
}

function nullMask(vec: duckdb.Vector, n: number): Uint8Array | null {
  const bytes = Math.ceil(n / 64) * 8;
  const v = duckdb.vector_get_validity(vec, bytes);
  if (!v || v.length === 0) return null;
  const words = new BigUint64Array(v.buffer, v.byteOffset, bytes / 8);
  let any = false;
  for (const w of words) if (w !== 0xffffffffffffffffn) any = true;
  if (!any) return null;
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = duckdb.validity_row_is_valid(v, i) ? 0 : 1;
  return m;
}

/** Reused symbol codes: a chunk's `sym` is valid until the next chunk is asked for (its
 *  consumers read each chunk before the next; a fresh array per chunk was a third of the
 *  reader's garbage). */
interface SymScratch {
  codes: Uint32Array;
}

/** The symbol codes of a range read without its symbol column: the symbols first..last, each
 *  for its rows (counts from the index; one symbol: all rows). */
interface Codes {
  code: number;
  last: number;
  /** rows of `code` still to come */
  left: number;
  rows: readonly number[];
}

function toBarChunk(chunk: DuckDBDataChunk, width: 1 | 2 | 4, nInputs: number, scratch: SymScratch, codes?: Codes): BarChunk {
  const n = chunk.rowCount;
  if (scratch.codes.length < n) scratch.codes = new Uint32Array(n);
  const sym = scratch.codes.length === n ? scratch.codes : scratch.codes.subarray(0, n);
  let col = 0;
  if (codes) {
    for (let i = 0; i < n; ) {
      while (codes.left === 0 && codes.code < codes.last) codes.left = codes.rows[++codes.code] as number;
      // one symbol takes every row; a block's rows were counted (the range's total is checked first)
      const k = codes.code === codes.last ? n - i : Math.min(n - i, codes.left);
      sym.fill(codes.code, i, i + k);
      codes.left -= k;
      i += k;
    }
  } else {
    const vs = duckdb.data_chunk_get_vector(chunk.chunk, col++);
    const raw = duckdb.vector_get_data(vs, n * width);
    sym.set(width === 1 ? new Uint8Array(raw.buffer, raw.byteOffset, n) : width === 2 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint32Array(raw.buffer, raw.byteOffset, n));
    const symNull = nullMask(vs, n);
    if (symNull) for (let i = 0; i < n; i++) if (symNull[i]) sym[i] = NULL_CODE;
  }
  const vt = duckdb.data_chunk_get_vector(chunk.chunk, col++);
  const vc = duckdb.data_chunk_get_vector(chunk.chunk, col++);
  const rt = duckdb.vector_get_data(vt, n * 8);
  const rc = duckdb.vector_get_data(vc, n * 8);
  const inputs: Float64Array[] = [];
  const inputNulls: (Uint8Array | null)[] = [];
  for (let k = 0; k < nInputs; k++) {
    const v = duckdb.data_chunk_get_vector(chunk.chunk, col + k);
    const r = duckdb.vector_get_data(v, n * 8);
    inputs.push(new Float64Array(r.buffer, r.byteOffset, n));
    inputNulls.push(nullMask(v, n));
  }
  return { n, sym, ts: new Float64Array(rt.buffer, rt.byteOffset, n), close: new Float64Array(rc.buffer, rc.byteOffset, n), tsNull: nullMask(vt, n), closeNull: nullMask(vc, n), inputs, inputNulls };
}

export interface ReadOptions {
  /** numeric columns to read besides close (a strategy's inputs), as BarChunk.inputs */
  columns?: readonly string[];
  /** per symbol index: 1 = not needed (finished by an earlier run); ranges of such symbols are not read */
  done?: Uint8Array;
  /** 'file': the whole source in file order, as it is (to inspect it) */
  order?: 'source' | 'file';
  /** rows per materialised range (default RANGE_ROWS) */
  rangeRows?: number;
  /** per symbol index: read only its rows after this ts (µs; NaN = all rows). Such symbols are
   *  read in ranges of their own, filtered at the range's earliest ts: the loader skips the
   *  rest (it knows each symbol's ts) */
  after?: Float64Array;
}

/** Rows per materialised range. Each range is a query, and a query pays for every row group of
 *  the file (statistics, skipping): ~50-70 ms of DuckDB's CPU on a 10 GB file of 3,565 row groups,
 *  where 1M rows take ~25 ms to read. 4M rows (64 MB of ts and close, two ranges in memory) cut
 *  the reader's CPU on that file by half; 8M gained nothing more. */
export const RANGE_ROWS = 4_000_000;

let typeSeq = 0;

/** Stream the bars of `src` (see the module comment for the order). */
export async function* readBars(db: Db, src: BarSource, index: SourceIndex, opts: ReadOptions = {}): AsyncGenerator<BarChunk> {
  const { symbols } = index;
  if (symbols.length === 0 && index.nullSymbolRows === 0) return;
  const typeName = `atc_sym_${process.pid}_${++typeSeq}`;
  const width = enumWidth(Math.max(1, symbols.length));
  const columns = opts.columns ?? [];
  const conns = [await db.connect(), await db.connect()];
  const select = (where: string, order = '', symbol = true) =>
    `SELECT ${symbol ? `CAST(${src.symbolSql} AS ${typeName}) AS s, ` : ''}CAST(${src.tsSql} AS DOUBLE) AS t, ${src.closeSql} AS c${columns.map((c, k) => `, ${src.columnSql(c)} AS i${k}`).join('')} FROM ${src.relation} ${where ? `WHERE ${where}` : ''} ${order}`;
  const scratch: SymScratch = { codes: new Uint32Array(2048) };
  let got = 0;
  let expected = 0;
  let exact = true; // false once a range is read filtered by ts: its row count is not known here
  // the next range, read ahead on the other connection while this one is consumed
  let next: Promise<DuckDBMaterializedResult> | undefined;
  try {
    await (conns[0] as DuckDBConnection).run(`CREATE TYPE ${typeName} AS ENUM (${symbols.length > 0 ? symbols.map(sqlString).join(', ') : "''"})`);
    const stream = async function* (sql: string, codes?: Codes): AsyncGenerator<BarChunk> {
      const res: DuckDBResult = await (conns[0] as DuckDBConnection).stream(sql);
      for (;;) {
        const ch = await res.fetchChunk();
        if (!ch || ch.rowCount === 0) break;
        got += ch.rowCount;
        yield toBarChunk(ch, width, columns.length, scratch, codes);
      }
    };
    if (opts.order === 'file') {
      expected = index.totalRows;
      yield* stream(select(''));
    } else if (!(await src.symbolSorted())) {
      expected = index.totalRows - rowsDone(index, opts.done);
      yield* stream(select('', 'ORDER BY s NULLS FIRST, t NULLS FIRST'));
    } else {
      if (index.nullSymbolRows > 0) {
        expected += index.nullSymbolRows;
        yield* stream(select(`${src.symbolSql} IS NULL`));
      }
      const ranges = planRanges(index, opts.rangeRows ?? RANGE_ROWS, opts.done, opts.after);
      const where = (r: Range) =>
        `${src.symbolSql} BETWEEN ${sqlString(symbols[r.first] as string)} AND ${sqlString(symbols[r.last] as string)}` +
        (Number.isNaN(r.after) ? '' : ` AND (${src.tsAfterSql(r.after)} OR ${src.tsNullSql})`);
      // the codes of a range read without its symbol column (see the module comment)
      const blocks = index.blocksOf === src.relation;
      const bare = (r: Range): boolean => r.first === r.last || (blocks && Number.isNaN(r.after));
      const codesOf = (r: Range): Codes | undefined => (bare(r) ? { code: r.first, last: r.last, left: index.rows[r.first] as number, rows: index.rows } : undefined);
      const start = (k: number) => {
        const r = ranges[k] as Range;
        if (r.stream) return undefined;
        const read = (conns[(k + 1) % 2] as DuckDBConnection).run(select(where(r), '', !bare(r)));
        // its failure is thrown where the range is taken; until then it is not unhandled
        read.catch(() => undefined);
        return read;
      };
      next = ranges.length > 0 ? start(0) : undefined;
      for (let k = 0; k < ranges.length; k++) {
        const r = ranges[k] as Range;
        const pending = next;
        if (!Number.isNaN(r.after)) exact = false;
        if (r.stream) {
          // one symbol larger than a range: streamed, so memory stays bounded
          expected += r.rows;
          yield* stream(select(where(r), '', !bare(r)), codesOf(r));
          next = k + 1 < ranges.length ? start(k + 1) : undefined;
          continue;
        }
        let res = await pending;
        next = k + 1 < ranges.length ? start(k + 1) : undefined;
        if (!res) throw new Error('internal: range not started');
        expected += r.rows;
        const codes = codesOf(r);
        if (codes && r.first !== r.last && Number(res.rowCount) !== r.rows) {
          throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: read ${res.rowCount} rows of ${symbols[r.first]} .. ${symbols[r.last]} where ${r.rows} were expected (did the source change while it was read?)`, { file: src.spec });
        }
        for (let c = 0; c < res.chunkCount; c++) {
          const ch = res.getChunk(c);
          got += ch.rowCount;
          yield toBarChunk(ch, width, columns.length, scratch, codes);
        }
        res = undefined;
        collectNative();
      }
    }
    if (got !== expected && (exact || got > expected)) {
      throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: read ${got} rows where ${expected} were expected (did the source change while it was read?)`, { file: src.spec });
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  } finally {
    // left early (an abort, an error downstream): the range read ahead may still run on its
    // connection, which the caller closes next
    await next?.catch(() => undefined);
    await (conns[0] as DuckDBConnection).run(`DROP TYPE IF EXISTS ${typeName}`).catch(() => undefined);
  }
}

interface Range {
  first: number;
  last: number;
  rows: number;
  stream: boolean;
  /** read rows after this ts only (NaN: all) */
  after: number;
}

function rowsDone(index: SourceIndex, done?: Uint8Array): number {
  let n = 0;
  if (done) index.rows.forEach((r, i) => (n += done[i] ? r : 0));
  return n;
}

/** Consecutive symbols in ranges of about `rangeRows` rows; ranges of finished symbols only are
 *  left out; symbols read after a ts are not mixed with others. */
function planRanges(index: SourceIndex, rangeRows: number, done?: Uint8Array, after?: Float64Array): Range[] {
  const out: Range[] = [];
  let cur: Range | undefined;
  const close = () => {
    if (cur) out.push(cur);
    cur = undefined;
  };
  index.rows.forEach((rows, i) => {
    if (done?.[i]) {
      close();
      return;
    }
    const a = after?.[i] ?? NaN;
    if (rows > rangeRows) {
      close();
      out.push({ first: i, last: i, rows, stream: true, after: a });
      return;
    }
    if (cur && (cur.rows + rows > rangeRows || Number.isNaN(cur.after) !== Number.isNaN(a))) close();
    cur ??= { first: i, last: i, rows: 0, stream: false, after: a };
    cur.after = Math.min(cur.after, a);
    cur.last = i;
    cur.rows += rows;
  });
  close();
  return out;
}
