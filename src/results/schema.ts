// Result schemas, declared once and used by the writers, the SQL views and the tests.

import { FLOAT_COLUMNS } from '../engine/batch.js';

/** Columns of <out>/signals/*.parquet, in order. */
export const SIGNAL_COLUMNS = ['symbol', 'ts', 'close', ...FLOAT_COLUMNS, 'direction'] as const;
export type SignalColumn = (typeof SIGNAL_COLUMNS)[number];

/** DuckDB types of the signal columns. */
export const SIGNAL_TYPES: Record<SignalColumn, string> = {
  symbol: 'VARCHAR',
  ts: 'TIMESTAMP',
  close: 'DOUBLE',
  ...(Object.fromEntries(FLOAT_COLUMNS.map((c) => [c, 'DOUBLE'])) as Record<(typeof FLOAT_COLUMNS)[number], string>),
  direction: 'TINYINT',
};

/** Parquet options for every file we write (zstd; V2 pages store doubles with BYTE_STREAM_SPLIT, ~30 % smaller). */
export const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2';

/** <out>/summary.parquet: one row per symbol; the signal columns hold the values at its last bar. */
export const SUMMARY_COLUMNS: [string, string][] = [
  ['symbol', 'VARCHAR'],
  ['bars', 'BIGINT'],
  ['first_ts', 'TIMESTAMP'],
  ['last_ts', 'TIMESTAMP'],
  ['last_close', 'DOUBLE'],
  ['Average_Signal', 'DOUBLE'],
  ['EMA_Signal', 'DOUBLE'],
  ['HMA_Signal', 'DOUBLE'],
  ['WMA_Signal', 'DOUBLE'],
  ['DEMA_Signal', 'DOUBLE'],
  ['LSMA_Signal', 'DOUBLE'],
  ['KAMA_Signal', 'DOUBLE'],
  ['direction', 'TINYINT'],
  ['long_alerts', 'INTEGER'],
  ['short_alerts', 'INTEGER'],
  ['trend', 'VARCHAR'],
];

/** <out>/rejects.parquet: every dropped row and skipped symbol, with its reason. */
export const REJECT_COLUMNS: [string, string][] = [
  ['file', 'VARCHAR'],
  ['symbol', 'VARCHAR'],
  ['ts', 'TIMESTAMP'],
  ['reason', 'VARCHAR'],
  ['detail', 'VARCHAR'],
  ['action', 'VARCHAR'],
];

/** The original scanner's classification of the last Average_Signal (|signal| < minSignal is NEUTRAL). */
export function trendOf(averageSignal: number, minSignal: number): 'LONG' | 'SHORT' | 'NEUTRAL' {
  return averageSignal >= minSignal ? 'LONG' : averageSignal <= -minSignal ? 'SHORT' : 'NEUTRAL';
}

export function columnsDdl(cols: [string, string][]): string {
  return cols.map(([n, t]) => `"${n}" ${t}`).join(', ');
}
