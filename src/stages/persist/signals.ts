// Persist stage for per-bar outputs: one batch -> one Parquet part through DuckDB COPY, fed by
// a table function that copies the typed-array columns straight into DuckDB vectors (no row
// objects). NaN (Pine's na) is written as NULL; direction 0 (na) as NULL. With `equity`, the
// position / strategy return / equity planes of the slot follow (equity times --capital).

import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbApi } from '../../data/duckdb-api.js';
import duckdb from '@duckdb/node-bindings';
import { callbackQuery } from '../../data/callback-queries.js';
import { sqlIdent, sqlString } from '../../data/duckdb.js';
import { EQUITY_COLUMNS, PARQUET_OPTIONS } from '../../results/schema.js';
import { ATC_TABLES, type StrategyTables } from '../../strategies/tables.js';
import type { Batch } from '../load/index.js';
import type { SignalsSink } from './results.js';

const { DuckDBTableFunction, DOUBLE, ENUM, TIMESTAMP, TINYINT } = duckdbApi;

const VECTOR = 2048;

interface Pending {
  batch: Batch;
  /** per-row index into `dict` */
  codes: Uint16Array | Uint32Array;
  dict: string[];
  pos: number;
}

let fnSeq = 0;

/** Writes batches of per-bar outputs as Parquet files. One instance per connection. */
export class SignalsWriter implements SignalsSink {
  private readonly name = `atc_signals_${process.pid}_${++fnSeq}`;
  private pending: Pending | undefined;
  // Staging buffers: DuckDB copies from ArrayBuffers only (not SharedArrayBuffers).
  private readonly f64 = new Float64Array(VECTOR);
  private readonly i64 = new BigInt64Array(VECTOR);
  private readonly i64words = new Uint32Array(this.i64.buffer);
  private readonly i8 = new Int8Array(VECTOR);
  private readonly codes32 = new Uint32Array(VECTOR);
  private readonly codes16 = new Uint16Array(VECTOR);
  private readonly valid = new Uint32Array(VECTOR / 32);

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly equity = false,
    private readonly tables: StrategyTables = ATC_TABLES,
  ) {
    const fn = DuckDBTableFunction.create({
      name: this.name,
      bindFunction: (bind) => {
        const p = this.current();
        bind.addResultColumn('symbol', ENUM(p.dict));
        bind.addResultColumn('ts', TIMESTAMP);
        bind.addResultColumn('close', DOUBLE);
        for (const c of this.tables.planes) bind.addResultColumn(c, DOUBLE);
        bind.addResultColumn('direction', TINYINT);
        if (this.equity) for (const c of EQUITY_COLUMNS) bind.addResultColumn(c.name, DOUBLE);
      },
      initFunction: () => undefined,
      mainFunction: (_info, chunk) => this.fill(chunk.chunk, (n) => (chunk.rowCount = n)),
    });
    conn.registerTableFunction(fn);
  }

  private current(): Pending {
    if (!this.pending) throw new Error('internal: signals writer has no batch');
    return this.pending;
  }

  /** Write the bars of one batch (in its slot) to `file` (a new Parquet file). */
  async write(file: string, batch: Batch, paramId: string, capital = 1): Promise<void> {
    const dict = batch.series.map((s) => s.symbol).filter((s, i, a) => i === 0 || s !== a[i - 1]);
    const codes = dict.length <= 0xffff ? new Uint16Array(batch.n) : new Uint32Array(batch.n);
    let d = -1;
    let prev = '';
    for (const s of batch.series) {
      if (s.symbol !== prev) {
        d++;
        prev = s.symbol;
      }
      codes.fill(d, s.start, s.start + s.length);
    }
    this.pending = { batch, codes, dict, pos: 0 };
    const cols = [
      ...this.tables.signals.columns.map(({ name: c }) => (c === 'symbol' ? `symbol::VARCHAR AS symbol` : c === 'param_id' ? `${sqlString(paramId)} AS param_id` : sqlIdent(c))),
      ...(this.equity ? ['position', 'strategy_return', `equity * ${Number(capital)} AS equity`] : []),
    ].join(', ');
    try {
      await callbackQuery(() => this.conn.run(`COPY (SELECT ${cols} FROM ${this.name}()) TO ${sqlString(file)} (${PARQUET_OPTIONS})`));
    } finally {
      this.pending = undefined;
    }
  }

  private fill(chunk: duckdb.DataChunk, setRows: (n: number) => void): void {
    const p = this.current();
    const { batch } = p;
    const { slot } = batch;
    const out = slot.out;
    const n = Math.min(VECTOR, batch.n - p.pos);
    setRows(n);
    if (n <= 0) return;
    const at = p.pos;
    const vec = (i: number): duckdb.Vector => duckdb.data_chunk_get_vector(chunk, i);
    // symbol: ENUM codes (uint8 / uint16 / uint32 by dictionary size)
    const w = p.dict.length <= 0xff ? 1 : p.dict.length <= 0xffff ? 2 : 4;
    if (w === 4) {
      this.codes32.set(p.codes.subarray(at, at + n));
      duckdb.copy_data_to_vector(vec(0), 0, this.codes32.buffer, 0, n * 4);
    } else if (w === 2) {
      this.codes16.set(p.codes.subarray(at, at + n));
      duckdb.copy_data_to_vector(vec(0), 0, this.codes16.buffer, 0, n * 2);
    } else {
      const b = new Uint8Array(n);
      b.set(p.codes.subarray(at, at + n));
      duckdb.copy_data_to_vector(vec(0), 0, b.buffer, 0, n);
    }
    // TIMESTAMP is int64 microseconds: split each (exact) double into 32-bit words, no BigInt
    const words = this.i64words;
    for (let k = 0; k < n; k++) {
      const t = slot.ts[at + k] as number;
      const hi = Math.floor(t / 4294967296);
      words[2 * k] = t - hi * 4294967296;
      words[2 * k + 1] = hi;
    }
    duckdb.copy_data_to_vector(vec(1), 0, this.i64.buffer, 0, n * 8);
    this.f64.set(slot.closes.subarray(at, at + n));
    duckdb.copy_data_to_vector(vec(2), 0, this.f64.buffer, 0, n * 8);
    const np = this.tables.planes.length;
    for (let c = 0; c < np; c++) {
      const src = out.values.subarray(c * out.stride + at, c * out.stride + at + n);
      this.f64.set(src);
      const v = vec(3 + c);
      duckdb.copy_data_to_vector(v, 0, this.f64.buffer, 0, n * 8);
      this.setValidity(v, n, (i) => src[i] === src[i]);
    }
    const dv = vec(3 + np);
    const dir = out.direction.subarray(at, at + n);
    this.i8.set(dir);
    duckdb.copy_data_to_vector(dv, 0, this.i8.buffer, 0, n);
    if (this.tables.zeroIsNull) this.setValidity(dv, n, (i) => dir[i] !== 0);
    if (this.equity) {
      for (let c = 0; c < EQUITY_COLUMNS.length; c++) {
        this.f64.set(slot.extra.subarray(c * slot.capacity + at, c * slot.capacity + at + n));
        duckdb.copy_data_to_vector(vec(4 + np + c), 0, this.f64.buffer, 0, n * 8);
      }
    }
    p.pos += n;
  }

  /** NULL where `valid(i)` is false; untouched (all valid) when there is none. */
  private setValidity(v: duckdb.Vector, n: number, valid: (i: number) => boolean): void {
    const words = this.valid;
    let any = false;
    words.fill(0xffffffff);
    for (let i = 0; i < n; i++) {
      if (!valid(i)) {
        words[i >>> 5] = (words[i >>> 5] as number) & ~(1 << (i & 31));
        any = true;
      }
    }
    if (!any) return;
    duckdb.vector_ensure_validity_writable(v);
    duckdb.copy_data_to_vector_validity(v, 0, words.buffer, 0, Math.ceil(n / 64) * 8);
  }
}
