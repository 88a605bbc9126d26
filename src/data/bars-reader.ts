// Streaming read of (symbol, ts, close) in file order, one DuckDB chunk (~2048 rows) at a time,
// through the low-level vector API (vector_get_data copies raw column memory: several times
// faster than materialising row objects). Symbols travel as ENUM codes over the sorted list of
// distinct symbols, so "sorted by symbol" is "codes never decrease".

import type { DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { DataError } from '../errors.js';
import type { BarSource } from './source.js';

export interface BarChunk {
  n: number;
  /** index into the symbol dictionary; NULL_CODE where the symbol is NULL */
  sym: Uint32Array;
  /** epoch microseconds */
  ts: BigInt64Array;
  close: Float64Array;
  /** 1 where ts is NULL (null when there is none) */
  tsNull: Uint8Array | null;
  /** 1 where close is NULL (null when there is none) */
  closeNull: Uint8Array | null;
}

export const NULL_CODE = 0xffffffff;

let typeSeq = 0;

/** The sorted distinct symbols of a source (NULLs excluded). */
export async function readSymbols(conn: DuckDBConnection, src: BarSource): Promise<string[]> {
  try {
    const r = await conn.runAndReadAll(`SELECT DISTINCT ${src.symbolSql} AS s FROM ${src.relation} WHERE s IS NOT NULL ORDER BY s`);
    return r.getRows().map((row) => String(row[0]));
  } catch (e) {
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  }
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

/**
 * Stream the bars of `src` in file order. `symbols` must be `readSymbols(src)`.
 * `where` optionally restricts rows (e.g. a symbol range for resumed runs).
 */
export async function* readBars(conn: DuckDBConnection, src: BarSource, symbols: readonly string[], where = ''): AsyncGenerator<BarChunk> {
  const typeName = `atc_sym_${process.pid}_${++typeSeq}`;
  const width = enumWidth(symbols.length);
  try {
    if (symbols.length > 0) {
      const list = symbols.map((s) => `'${s.replaceAll("'", "''")}'`).join(', ');
      await conn.run(`CREATE TYPE ${typeName} AS ENUM (${list})`);
    }
    if (symbols.length === 0) return;
    // A streaming result silently ends when another statement runs on the same connection, so
    // the reader counts what it got against what the source holds (Parquet metadata, cheap).
    const expected = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${src.relation} ${where}`)).getRows()[0]?.[0] ?? 0);
    let got = 0;
    const res = await conn.stream(
      `SELECT CAST(${src.symbolSql} AS ${typeName}) AS s, ${src.tsSql} AS t, ${src.closeSql} AS c FROM ${src.relation} ${where}`,
    );
    for (;;) {
      const chunk = await res.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      const vs = duckdb.data_chunk_get_vector(chunk.chunk, 0);
      const vt = duckdb.data_chunk_get_vector(chunk.chunk, 1);
      const vc = duckdb.data_chunk_get_vector(chunk.chunk, 2);
      const raw = duckdb.vector_get_data(vs, n * width);
      const codes =
        width === 1 ? new Uint8Array(raw.buffer, raw.byteOffset, n) : width === 2 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint32Array(raw.buffer, raw.byteOffset, n);
      const sym = Uint32Array.from(codes);
      const symNull = nullMask(vs, n);
      if (symNull) for (let i = 0; i < n; i++) if (symNull[i]) sym[i] = NULL_CODE;
      const ts = new BigInt64Array(duckdb.vector_get_data(vt, n * 8).buffer, 0, n);
      const close = new Float64Array(duckdb.vector_get_data(vc, n * 8).buffer, 0, n);
      got += n;
      yield { n, sym, ts, close, tsNull: nullMask(vt, n), closeNull: nullMask(vc, n) };
    }
    if (got !== expected) {
      throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: read ${got} rows but the source holds ${expected} (was the reading connection used for another statement?)`, {
        file: src.spec,
      });
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('ATC_ERR_DATA_READ', `${src.spec}: ${(e as Error).message}`, { file: src.spec }, { cause: e });
  } finally {
    if (symbols.length > 0) await conn.run(`DROP TYPE IF EXISTS ${typeName}`).catch(() => undefined);
  }
}
