// Bar files for tests: real daily stocks (the embedded sample, ../shared when present) with
// faults injected on purpose, and generated ones.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sampleDataset } from '../../datasets/index.js';
import { atc, parquetFrom, ROOT } from './cli.js';

export const SAMPLE = sampleDataset();
export const REAL = join(ROOT, '..', 'shared', 'data', 'real');
export const realFile = (name: string): string | undefined => (existsSync(join(REAL, name)) ? join(REAL, name) : undefined);

/** A few sample symbols, as a Parquet file. */
export function sampleSubset(dir: string, name: string, symbols: string[]): Promise<string> {
  return parquetFrom(join(dir, name), `SELECT * FROM '${SAMPLE}' WHERE symbol IN (${symbols.map((s) => `'${s}'`).join(', ')}) ORDER BY symbol, ts`);
}

/**
 * The sample's KO, LNT and NVDA with faults injected in LNT and NVDA: a duplicate bar, a bar
 * out of order, a NaN close, a zero close, a NULL close, a NULL ts and a NULL-symbol row.
 */
export function faultyFile(dir: string): Promise<string> {
  const base = `SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts) AS k FROM '${SAMPLE}' WHERE symbol IN ('KO', 'LNT', 'NVDA')`;
  return parquetFrom(
    join(dir, 'faulty.parquet'),
    `WITH b AS (${base}),
     rows AS (
       SELECT symbol, ts, close, k, 0 AS sub FROM b
       UNION ALL SELECT symbol, ts, close, k, 1 FROM b WHERE symbol = 'LNT' AND k = 100          -- duplicate (symbol, ts)
       UNION ALL SELECT NULL, ts, close, k, 1 FROM b WHERE symbol = 'KO' AND k = 10              -- NULL symbol
     ),
     faulted AS (
       SELECT symbol,
              CASE WHEN symbol = 'NVDA' AND k = 300 THEN NULL ELSE ts END AS ts,
              CASE WHEN symbol = 'LNT' AND k = 200 THEN 'nan'::DOUBLE
                   WHEN symbol = 'LNT' AND k = 201 THEN 0
                   WHEN symbol = 'NVDA' AND k = 400 THEN NULL ELSE close END AS close,
              -- NVDA bar 500 placed after bar 501 (out of order)
              CASE WHEN symbol = 'NVDA' AND k = 500 THEN 501.5 ELSE k + sub * 0.5 END AS ord
       FROM rows)
     SELECT symbol, ts, close FROM faulted ORDER BY symbol NULLS FIRST, ord`,
  );
}

export async function generated(dir: string, symbols: number, bars: number, seed = 5, freq = '1h'): Promise<string> {
  const f = join(dir, `gen-${symbols}x${bars}-${seed}.parquet`);
  const r = await atc(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars), '--seed', String(seed), '--freq', freq, '--to', f, '--quiet']);
  if (r.code !== 0) throw new Error(r.stderr);
  return f;
}
