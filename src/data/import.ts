// `atc data import`: any reasonable bar file(s) -> the project's format: Parquet with
// symbol VARCHAR, ts TIMESTAMP (UTC), open, high, low, close, volume DOUBLE, sorted by symbol, ts,
// zstd. Rows are normalised, never repaired: bad rows stay (and are reported) so that
// `atc run --bad-rows` decides about them and records what it did.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError, UsageError } from '../errors.js';
import { sqlIdent, sqlString } from './duckdb.js';

export const FIELDS = ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume'] as const;
export type Field = (typeof FIELDS)[number];

/** Column names tried (case-insensitive) when no mapping is given. */
const CANDIDATES: Record<Field, string[]> = {
  symbol: ['symbol', 'ticker', 'name', 'pair', 'asset', 'instrument', 'code'],
  ts: ['ts', 'timestamp', 'time', 'datetime', 'date', 'open_time', 'opentime', 'time_utc'],
  open: ['open', 'o'],
  high: ['high', 'h'],
  low: ['low', 'l'],
  close: ['close', 'c', 'price', 'last'],
  volume: ['volume', 'vol', 'v'],
};

export interface ImportOptions {
  from: string;
  to: string;
  format?: 'auto' | 'csv' | 'parquet';
  /** explicit source column per field */
  columns?: Partial<Record<Field, string>>;
  /** one symbol for every row (when the source has no symbol column) */
  symbol?: string;
  /** unit of numeric timestamps; 'auto' guesses from their magnitude */
  tsUnit?: 'auto' | 's' | 'ms' | 'us' | 'ns';
  /** strptime format for text timestamps that are not ISO 8601 */
  tsFormat?: string;
  /** rows per output file when --to is a directory */
  rowsPerFile?: number;
}

export interface ImportResult {
  files: string[];
  rows: number;
  mapping: Record<string, string>;
  tsUnit: string | null;
  seconds: number;
}

function sourceFiles(spec: string): string[] {
  if (/[*?[]/.test(spec)) return [spec];
  const p = resolve(spec);
  if (!existsSync(p)) throw new DataError('ATC_ERR_DATA_READ', `${spec}: no such file or directory`, { file: spec });
  if (!statSync(p).isDirectory()) return [p];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const q = join(d, n);
      if (statSync(q).isDirectory()) walk(q);
      else if (/\.(csv|tsv|txt|parquet)(\.gz|\.zst)?$/i.test(n)) out.push(q);
    }
  };
  walk(p);
  if (out.length === 0) throw new DataError('ATC_ERR_DATA_READ', `${spec}: no .csv or .parquet files in this directory`, { file: spec });
  return out;
}

export async function importBars(conn: DuckDBConnection, o: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const files = sourceFiles(o.from);
  const isParquet = (f: string) => /\.parquet$/i.test(f) || (/[*?[]/.test(f) && f.endsWith('parquet'));
  const format = o.format && o.format !== 'auto' ? o.format : files.every(isParquet) ? 'parquet' : files.some(isParquet) ? 'mixed' : 'csv';
  if (format === 'mixed') throw new UsageError('--from mixes CSV and Parquet files; import them separately or pass --format');
  const list = `[${files.map(sqlString).join(', ')}]`;
  const relation =
    format === 'parquet'
      ? `read_parquet(${list}, union_by_name = true, filename = true, hive_partitioning = true)`
      : `read_csv(${list}, union_by_name = true, filename = true, auto_detect = true, hive_partitioning = true)`;
  await conn.run(`SET TimeZone = 'UTC'`);
  // a file whose pages do not read (damaged Parquet, a bad CSV line) fails at the first query that reads them
  const unreadable = (e: unknown): DataError => new DataError('ATC_ERR_DATA_READ', `${o.from}: cannot read as ${format}: ${(e as Error).message}`, { file: o.from }, { cause: e });
  let cols: { name: string; type: string }[];
  try {
    cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  } catch (e) {
    throw unreadable(e);
  }
  const mapping: Record<string, string> = {};
  const pick = (f: Field): { name: string; type: string } | undefined => {
    const want = o.columns?.[f];
    if (want !== undefined) {
      const c = cols.find((x) => x.name === want) ?? cols.find((x) => x.name.toLowerCase() === want.toLowerCase());
      if (!c) throw new DataError('ATC_ERR_MISSING_COLUMN', `${o.from}: no column "${want}" for ${f} (found: ${cols.map((x) => x.name).join(', ')})`, { file: o.from });
      return c;
    }
    for (const cand of CANDIDATES[f]) {
      const c = cols.find((x) => x.name.toLowerCase() === cand);
      if (c) return c;
    }
    return undefined;
  };
  const src: Partial<Record<Field, { name: string; type: string }>> = {};
  for (const f of FIELDS) {
    const c = pick(f);
    if (c) {
      src[f] = c;
      mapping[f] = c.name;
    }
  }
  if (!src.ts) throw new DataError('ATC_ERR_MISSING_COLUMN', `${o.from}: no timestamp column (tried ${CANDIDATES.ts.join(', ')}); pass --ts-col`, { file: o.from });
  if (!src.close) throw new DataError('ATC_ERR_MISSING_COLUMN', `${o.from}: no close column (tried ${CANDIDATES.close.join(', ')}); pass --close-col`, { file: o.from });

  // symbol: a column, a constant, or the file name (one file per symbol)
  let symbolSql: string;
  if (o.symbol !== undefined) {
    symbolSql = sqlString(o.symbol);
    mapping.symbol = `"${o.symbol}" (--symbol)`;
  } else if (src.symbol) symbolSql = `CAST(${sqlIdent(src.symbol.name)} AS VARCHAR)`;
  else {
    symbolSql = `regexp_extract(filename, '([^/\\\\]+?)(\\.[A-Za-z0-9]+)*$', 1)`;
    mapping.symbol = 'file name';
  }

  // ts: to TIMESTAMP (UTC)
  const tsCol = sqlIdent(src.ts.name);
  let tsSql: string;
  let tsUnit: string | null = null;
  const tt = src.ts.type;
  if (/^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|DATE)$/.test(tt)) tsSql = `CAST(${tsCol} AS TIMESTAMP)`;
  else if (tt === 'TIMESTAMP WITH TIME ZONE') tsSql = `CAST(${tsCol} AS TIMESTAMP)`; // session TimeZone is UTC
  else if (/INT|DOUBLE|FLOAT|DECIMAL|REAL/.test(tt)) {
    tsUnit = o.tsUnit && o.tsUnit !== 'auto' ? o.tsUnit : await guessUnit(conn, relation, tsCol).catch((e: unknown) => Promise.reject(unreadable(e)));
    const f = { s: '1e6', ms: '1e3', us: '1', ns: '1e-3' }[tsUnit as 's' | 'ms' | 'us' | 'ns'];
    tsSql = `make_timestamp(CAST(round(CAST(${tsCol} AS DOUBLE) * ${f}) AS BIGINT))`;
  } else if (o.tsFormat) tsSql = `CAST(try_strptime(CAST(${tsCol} AS VARCHAR), ${sqlString(o.tsFormat)}) AS TIMESTAMP)`;
  else tsSql = `CAST(TRY_CAST(CAST(${tsCol} AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)`;

  const num = (f: Field) => (src[f] ? `TRY_CAST(${sqlIdent((src[f] as { name: string }).name)} AS DOUBLE)` : 'CAST(NULL AS DOUBLE)');
  const select = `SELECT ${symbolSql} AS symbol, ${tsSql} AS ts, ${num('open')} AS open, ${num('high')} AS high, ${num('low')} AS low, ${num('close')} AS close, ${num('volume')} AS volume FROM ${relation}`;
  let stats: { n: bigint; s: bigint };
  try {
    stats = (await conn.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT symbol) AS s FROM (${select})`)).getRowObjects()[0] as { n: bigint; s: bigint };
  } catch (e) {
    throw unreadable(e);
  }
  const rows = Number(stats.n);
  const perSymbol = rows / Math.max(1, Number(stats.s));
  // Row groups of about 8 symbols' worth of bars (never fewer than 16k rows), so readers that
  // look for one symbol skip most of the file.
  const rowGroup = Math.min(122_880, Math.max(16_384, Math.round(8 * perSymbol)));
  const opts = `FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup}`;
  const sorted = `${select} ORDER BY symbol, ts`;
  let out: string[];
  try {
    if (o.to.endsWith('.parquet')) {
      const tmp = `${o.to}.tmp-${process.pid}`;
      await conn.run(`COPY (${sorted}) TO ${sqlString(tmp)} (${opts})`);
      renameSync(tmp, o.to);
      out = [o.to];
    } else {
      // A directory of parts in symbol order (one symbol may continue into the next part).
      const tmp = `${o.to}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      const perFile = o.rowsPerFile ?? 8_000_000;
      await conn.run(`COPY (${sorted}) TO ${sqlString(tmp)} (${opts}, FILE_SIZE_BYTES ${Math.max(1, Math.round(perFile * 12))})`);
      const parts = readdirSync(tmp)
        .filter((f) => f.endsWith('.parquet'))
        .sort((a, b) => Number(/(\d+)/.exec(a)?.[1]) - Number(/(\d+)/.exec(b)?.[1]));
      mkdirSync(o.to, { recursive: true });
      out = parts.map((f, i) => {
        const dest = join(o.to, `part-${String(i).padStart(5, '0')}.parquet`);
        renameSync(join(tmp, f), dest);
        return dest;
      });
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    throw new DataError('ATC_ERR_DATA_READ', `${o.from}: ${(e as Error).message}`, { file: o.from }, { cause: e });
  }
  return { files: out, rows, mapping, tsUnit, seconds: (performance.now() - t0) / 1000 };
}

/** Epoch unit from magnitude: seconds ~1e9, milliseconds ~1e12, microseconds ~1e15, nanoseconds ~1e18. */
async function guessUnit(conn: DuckDBConnection, relation: string, col: string): Promise<string> {
  const v = Number((await conn.runAndReadAll(`SELECT median(abs(CAST(${col} AS DOUBLE))) FROM ${relation}`)).getRows()[0]?.[0] ?? 0);
  return v < 1e11 ? 's' : v < 1e14 ? 'ms' : v < 1e17 ? 'us' : 'ns';
}

