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
