// `atc data generate`: a seeded synthetic market, streamed into Parquet through a DuckDB table
// function (2048 rows at a time), so 10,000 symbols x 43,800 bars never sit in memory. The bars
// are computed by worker threads (generate-rows.ts) while DuckDB compresses and writes.

import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbApi } from './duckdb-api.js';
import duckdb from '@duckdb/node-bindings';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../errors.js';
import { packageInfo } from '../util/package-root.js';
import { sqlString } from './duckdb.js';
import { BLOCK, FIELDS, type GenerateWorkerData, SLOTS } from './generate-rows.js';

const { DOUBLE, DuckDBTableFunction, ENUM, TIMESTAMP } = duckdbApi;

export interface GenerateOptions {
  symbols: number;
  bars: number;
  /** bar length in microseconds */
  freqUs: bigint;
  seed: number;
  /** first bar, epoch microseconds (UTC) */
  startUs: bigint;
  to: string;
  onProgress?: (rows: number, total: number) => void;
}

const UNITS: Record<string, bigint> = { s: 1_000_000n, m: 60_000_000n, h: 3_600_000_000n, d: 86_400_000_000n, w: 604_800_000_000n };

/** '1h', '5m', '1d', '30s' -> microseconds */
export function parseFreq(s: string): bigint {
  const m = /^(\d+)\s*([smhdw])$/.exec(s.trim());
  if (!m) throw new UsageError(`--freq must look like 1h, 5m, 15m, 1d or 30s, got "${s}"`);
  const n = BigInt(m[1] as string);
  if (n <= 0n) throw new UsageError('--freq must be positive');
  return n * (UNITS[m[2] as string] as bigint);
}

export function symbolName(i: number, total: number): string {
  return `S${String(i).padStart(Math.max(5, String(total - 1).length), '0')}`;
}

let seq = 0;
const VECTOR = 2048;

export async function generateBars(conn: DuckDBConnection, o: GenerateOptions): Promise<{ rows: number; bytes: number }> {
  if (!Number.isInteger(o.symbols) || o.symbols < 1 || o.symbols > 4_000_000) throw new UsageError('--symbols must be an integer in [1, 4000000]');
  if (!Number.isInteger(o.bars) || o.bars < 1) throw new UsageError('--bars must be a positive integer');
  const names = Array.from({ length: o.symbols }, (_, i) => symbolName(i, o.symbols));
  const total = o.symbols * o.bars;
  const width = o.symbols <= 0xff ? 1 : o.symbols <= 0xffff ? 2 : 4;
  const code = width === 1 ? new Uint8Array(VECTOR) : width === 2 ? new Uint16Array(VECTOR) : new Uint32Array(VECTOR);
  const ts = new BigInt64Array(VECTOR);
  const tsWords = new Uint32Array(ts.buffer); // little-endian int64 as (low, high) 32-bit words
  const start = Number(o.startUs);
  const freq = Number(o.freqUs);
  // ~2 % a day, scaled by the square root of the bar length (0.4 % an hour, 0.09 % per 5 minutes)
  const vol = Math.min(0.05, Math.max(0.0005, 0.02 * Math.sqrt(freq / 86_400e6)));
  if (!Number.isSafeInteger(start + freq * o.bars)) throw new UsageError('--start/--freq/--bars reach past the representable time range');
  const cols = Array.from({ length: FIELDS }, () => new Float64Array(VECTOR)); // open high low close volume
  // a worker per core, up to 4 (DuckDB's writer, one thread here, is then the bound); the
  // main thread only copies; symbol s comes from worker s % step
  const step = Math.max(1, Math.min(o.symbols, availableParallelism(), 4));
  const file = join(packageInfo().root, 'dist', 'src', 'data', 'generate-worker.js');
  const rings = Array.from({ length: step }, (_, first) => {
    const d: GenerateWorkerData = { seed: o.seed, vol, symbols: o.symbols, bars: o.bars, first, step, ctl: new SharedArrayBuffer(4 * SLOTS), data: new SharedArrayBuffer(8 * SLOTS * FIELDS * BLOCK) };
    return { ctl: new Int32Array(d.ctl), data: new Float64Array(d.data), slot: 0, worker: new Worker(file, { workerData: d }) };
  });
  let s = 0; // the symbol being copied, its bar i, and the rows of its current block already copied
  let i = 0;
  let taken = 0;
  let rows = 0;
  const name = `atc_generate_${process.pid}_${++seq}`;
  const fn = DuckDBTableFunction.create({
    name,
    bindFunction: (b) => {
      b.addResultColumn('symbol', ENUM(names));
      b.addResultColumn('ts', TIMESTAMP);
      for (const c of ['open', 'high', 'low', 'close', 'volume']) b.addResultColumn(c, DOUBLE);
    },
    initFunction: () => undefined,
    mainFunction: (_info, out) => {
      let n = 0;
      while (n < VECTOR && s < o.symbols) {
        const ring = rings[s % step] as (typeof rings)[number];
        let ready = Atomics.load(ring.ctl, ring.slot);
        // the main thread may block here: DuckDB calls this synchronously and waits for rows
        while (ready === 0) {
          if (Atomics.wait(ring.ctl, ring.slot, 0, 60_000) === 'timed-out') throw new Error('atc data generate: a generator worker stalled');
          ready = Atomics.load(ring.ctl, ring.slot);
        }
        if (ready < 0) throw new Error('atc data generate: a generator worker failed');
        const take = Math.min(VECTOR - n, ready - taken);
        const base = ring.slot * FIELDS * BLOCK + taken;
        for (let k = 0; k < FIELDS; k++) (cols[k] as Float64Array).set(ring.data.subarray(base + k * BLOCK, base + k * BLOCK + take), n);
        code.fill(s, n, n + take);
        for (let r = n; r < n + take; r++, i++) {
          const t = start + i * freq; // exact: below 2^53
          const hi = Math.floor(t / 4294967296);
          tsWords[2 * r] = t - hi * 4294967296;
          tsWords[2 * r + 1] = hi;
        }
        n += take;
        taken += take;
        if (taken === ready) {
          Atomics.store(ring.ctl, ring.slot, 0);
          Atomics.notify(ring.ctl, ring.slot);
          ring.slot = (ring.slot + 1) % SLOTS;
          taken = 0;
        }
        if (i === o.bars) {
          i = 0;
          s++;
        }
      }
      out.rowCount = n;
      if (n === 0) return;
      const v = (k: number) => duckdb.data_chunk_get_vector(out.chunk, k);
      duckdb.copy_data_to_vector(v(0), 0, code.buffer, 0, n * width);
      duckdb.copy_data_to_vector(v(1), 0, ts.buffer, 0, n * 8);
      cols.forEach((c, k) => duckdb.copy_data_to_vector(v(2 + k), 0, c.buffer, 0, n * 8));
      rows += n;
      if (o.onProgress && rows % (VECTOR * 512) === 0) o.onProgress(rows, total);
    },
  });
  conn.registerTableFunction(fn);
  const rowGroup = Math.min(122_880, Math.max(16_384, 8 * o.bars));
  try {
    await conn.run(`COPY (SELECT symbol::VARCHAR AS symbol, ts, open, high, low, close, volume FROM ${name}()) TO ${sqlString(o.to)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup}, PARQUET_VERSION V2)`);
  } finally {
    await Promise.all(rings.map((r) => r.worker.terminate()));
  }
  o.onProgress?.(rows, total);
  return { rows, bytes: statSync(o.to).size };
}
