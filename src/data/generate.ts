// `atc data generate`: a seeded synthetic market, streamed into Parquet through a DuckDB table
// function (2048 rows at a time), so 10,000 symbols x 43,800 bars never sit in memory.
// Each symbol has its own generator seeded from (seed, symbol index): the same symbol gets the
// same bars whatever the number of symbols or the chunking.

import { DOUBLE, DuckDBTableFunction, ENUM, TIMESTAMP, type DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { statSync } from 'node:fs';
import { Rng, Walk } from '../../datasets/generators/synthetic.js';
import { UsageError } from '../errors.js';
import { sqlString } from './duckdb.js';

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

export function symbolSeed(seed: number, s: number): number {
  return (seed ^ Math.imul(s + 1, 0x9e3779b1)) >>> 0;
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
  const cols = Array.from({ length: 5 }, () => new Float64Array(VECTOR)); // open high low close volume
  const bar = new Float64Array(4);
  let s = 0;
  let i = 0;
  let walk: Walk | undefined;
  let rng: Rng | undefined;
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
        if (!walk || !rng) {
          rng = new Rng(symbolSeed(o.seed, s));
          walk = new Walk(rng, { vol });
        }
        walk.nextBar(bar);
        code[n] = s;
        const t = start + i * freq; // exact: below 2^53
        const hi = Math.floor(t / 4294967296);
        tsWords[2 * n] = t - hi * 4294967296;
        tsWords[2 * n + 1] = hi;
        for (let k = 0; k < 4; k++) (cols[k] as Float64Array)[n] = bar[k] as number;
        (cols[4] as Float64Array)[n] = Math.round(Math.exp(9 + 0.8 * rng.normal() + 20 * walk.sigma));
        n++;
        if (++i === o.bars) {
          i = 0;
          s++;
          walk = undefined;
          rng = undefined;
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
  await conn.run(`COPY (SELECT symbol::VARCHAR AS symbol, ts, open, high, low, close, volume FROM ${name}()) TO ${sqlString(o.to)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup}, PARQUET_VERSION V2)`);
  o.onProgress?.(rows, total);
  return { rows, bytes: statSync(o.to).size };
}
