// DuckDB query results as Apache Arrow tables: one RecordBatch per DuckDB chunk, fixed-width
// columns copied from the chunk's vectors as they are (no per-value conversion), validity
// masks copied bit for bit (DuckDB's and Arrow's are both LSB-first, 1 = valid).
//
// Types: integers, floats, booleans, DATE (DateDay), TIMESTAMP[_S|_MS|_NS] (Timestamp in that
// unit), TIMESTAMPTZ (Timestamp µs, UTC), VARCHAR (Utf8), BLOB (Binary); HUGEINT and DECIMAL
// become Float64 (exact up to 2^53 and the decimal's nearest double); anything else (lists,
// structs, intervals, ...) becomes Utf8 of DuckDB's text form.

import type { DuckDBConnection, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import type { DuckDBDecimalType as DuckDBDecimalTypeT, DuckDBTypeId as DuckDBTypeIdT } from '@duckdb/node-api';
import { duckdbApi } from '../data/duckdb-api.js';
import duckdb from '@duckdb/node-bindings';
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

const { DuckDBTypeId } = duckdbApi;

interface Fixed {
  arrow: () => DataType;
  width: number;
}

const FIXED: Partial<Record<DuckDBTypeIdT, Fixed>> = {
  [DuckDBTypeId.TINYINT]: { arrow: () => new Int8(), width: 1 },
  [DuckDBTypeId.SMALLINT]: { arrow: () => new Int16(), width: 2 },
  [DuckDBTypeId.INTEGER]: { arrow: () => new Int32(), width: 4 },
  [DuckDBTypeId.BIGINT]: { arrow: () => new Int64(), width: 8 },
  [DuckDBTypeId.UTINYINT]: { arrow: () => new Uint8(), width: 1 },
  [DuckDBTypeId.USMALLINT]: { arrow: () => new Uint16(), width: 2 },
  [DuckDBTypeId.UINTEGER]: { arrow: () => new Uint32(), width: 4 },
  [DuckDBTypeId.UBIGINT]: { arrow: () => new Uint64(), width: 8 },
  [DuckDBTypeId.FLOAT]: { arrow: () => new Float32(), width: 4 },
  [DuckDBTypeId.DOUBLE]: { arrow: () => new Float64(), width: 8 },
  [DuckDBTypeId.DATE]: { arrow: () => new DateDay(), width: 4 },
  [DuckDBTypeId.TIMESTAMP]: { arrow: () => new TimestampMicrosecond(), width: 8 },
  [DuckDBTypeId.TIMESTAMP_S]: { arrow: () => new TimestampSecond(), width: 8 },
  [DuckDBTypeId.TIMESTAMP_MS]: { arrow: () => new TimestampMillisecond(), width: 8 },
  [DuckDBTypeId.TIMESTAMP_NS]: { arrow: () => new TimestampNanosecond(), width: 8 },
  [DuckDBTypeId.TIMESTAMP_TZ]: { arrow: () => new TimestampMicrosecond('UTC'), width: 8 },
};

/** The Arrow type a DuckDB column becomes. */
export function arrowTypeOf(t: DuckDBType): DataType {
  const f = FIXED[t.typeId];
  if (f) return f.arrow();
  if (t.typeId === DuckDBTypeId.BOOLEAN) return new Bool();
  if (t.typeId === DuckDBTypeId.BLOB) return new Binary();
  if (t.typeId === DuckDBTypeId.HUGEINT || t.typeId === DuckDBTypeId.UHUGEINT || t.typeId === DuckDBTypeId.DECIMAL) return new Float64();
  return new Utf8();
}

/** DuckDB's validity mask of n rows as an Arrow null bitmap and null count (undefined: no NULL). */
function validity(vec: duckdb.Vector, n: number): { bitmap: Uint8Array; nulls: number } | undefined {
  const bytes = Math.ceil(n / 64) * 8;
  const v = duckdb.vector_get_validity(vec, bytes);
  if (!v || v.length === 0) return undefined;
  const bitmap = Uint8Array.from(v.subarray(0, Math.ceil(n / 8)));
  let valid = 0;
  for (let i = 0; i < n; i++) valid += (bitmap[i >> 3] as number) >> (i & 7) & 1;
  return valid === n ? undefined : { bitmap, nulls: n - valid };
}

const POW64 = 18446744073709551616;

function columnData(chunk: DuckDBDataChunk, c: number, t: DuckDBType, type: DataType): Data {
  const n = chunk.rowCount;
  const vec = duckdb.data_chunk_get_vector(chunk.chunk, c);
  const valid = validity(vec, n);
  const nulls = valid ? { nullBitmap: valid.bitmap, nullCount: valid.nulls } : { nullCount: 0 };
  const fixed = FIXED[t.typeId];
  if (fixed) {
    const raw = duckdb.vector_get_data(vec, n * fixed.width);
    const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + n * fixed.width);
    const Ctor = (type as unknown as { ArrayType: new (b: ArrayBufferLike) => ArrayLike<unknown> }).ArrayType;
    return makeData({ type, length: n, data: new Ctor(bytes), ...nulls } as never);
  }
  if (t.typeId === DuckDBTypeId.BOOLEAN) {
    const raw = duckdb.vector_get_data(vec, n);
    const bits = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (raw[i]) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
    return makeData({ type: type as Bool, length: n, data: bits, ...nulls });
  }
  if (t.typeId === DuckDBTypeId.HUGEINT || t.typeId === DuckDBTypeId.UHUGEINT || t.typeId === DuckDBTypeId.DECIMAL) {
    const out = new Float64Array(n);
    if (t.typeId === DuckDBTypeId.DECIMAL) {
      const d = t as DuckDBDecimalTypeT;
      const width = d.width <= 4 ? 2 : d.width <= 9 ? 4 : d.width <= 18 ? 8 : 16;
      const raw = duckdb.vector_get_data(vec, n * width);
      const dv = new DataView(raw.buffer, raw.byteOffset, n * width);
      const scale = 10 ** d.scale;
      for (let i = 0; i < n; i++) {
        const at = i * width;
        const v = width === 2 ? dv.getInt16(at, true) : width === 4 ? dv.getInt32(at, true) : width === 8 ? Number(dv.getBigInt64(at, true)) : Number(dv.getBigUint64(at, true)) + Number(dv.getBigInt64(at + 8, true)) * POW64;
        out[i] = Number(v) / scale;
      }
    } else {
      const raw = duckdb.vector_get_data(vec, n * 16);
      const dv = new DataView(raw.buffer, raw.byteOffset, n * 16);
      const signedHi = t.typeId === DuckDBTypeId.HUGEINT;
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(i * 16, true)) + Number(signedHi ? dv.getBigInt64(i * 16 + 8, true) : dv.getBigUint64(i * 16 + 8, true)) * POW64;
    }
    return makeData({ type: type as Float64, length: n, data: out, ...nulls });
  }
  // strings, blobs and anything else: through the values
  const values = chunk.getColumnValues(c);
  if (t.typeId === DuckDBTypeId.BLOB) {
    return vectorFromArray(values.map((v) => (v === null ? null : (v as unknown as { bytes: Uint8Array }).bytes)), new Binary()).data[0] as Data;
  }
  return vectorFromArray(values.map((v) => (v === null ? null : String(v))), new Utf8()).data[0] as Data;
}

/** The answer of `sql` as an Arrow Table (one RecordBatch per DuckDB chunk). */
export async function queryArrow(conn: DuckDBConnection, sql: string): Promise<Table> {
  const res = await conn.stream(sql);
  const names = res.columnNames();
  const types = res.columnTypes();
  const arrowTypes = types.map(arrowTypeOf);
  const schema = new Schema(names.map((n, i) => new Field(n, arrowTypes[i] as DataType, true)));
  const batches: RecordBatch[] = [];
  for (;;) {
    const chunk = await res.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const children = types.map((t, c) => columnData(chunk, c, t, arrowTypes[c] as DataType));
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: chunk.rowCount, children })));
  }
  return batches.length > 0 ? new Table(schema, batches) : new Table(schema);
}
