// DuckDB lifetime and small SQL helpers. Every module that talks to DuckDB gets its
// connection from here, so settings (threads, memory limit, temp dir) live in one place.

import type { DuckDBConnection, DuckDBInstance as DuckDBInstanceT } from '@duckdb/node-api';
import { duckdbApi } from './duckdb-api.js';

const { DuckDBInstance } = duckdbApi;

export interface DbOptions {
  /** DuckDB worker threads (default 2: these machines have two cores) */
  threads?: number;
  /** e.g. '1GB'; keeps DuckDB's own buffers bounded */
  memoryLimit?: string;
  /** spill directory for large sorts */
  tempDirectory?: string;
}

export interface Db {
  instance: DuckDBInstanceT;
  conn: DuckDBConnection;
  /** another connection to the same database (closed with it) */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

export async function openDb(opts: DbOptions = {}, path = ':memory:'): Promise<Db> {
  const config: Record<string, string> = { threads: String(opts.threads ?? 2) };
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  if (opts.tempDirectory) config.temp_directory = opts.tempDirectory;
  // Files are read once, in order: caching their pages in DuckDB's buffer pool only grows RSS.
  config.enable_external_file_cache = 'false';
  const instance = await DuckDBInstance.create(path, config);
  const conn = await instance.connect();
  const extra: DuckDBConnection[] = [];
  return {
    instance,
    conn,
    async connect() {
      const c = await instance.connect();
      extra.push(c);
      return c;
    },
    close() {
      for (const c of [...extra, conn]) c.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** SQL of a list aggregate (e.g. `list(x ORDER BY y)`) as JSON text, `[]` when empty: one
 *  value for JS to parse instead of one row per element (row values are slow to convert). */
export function jsonList(listAgg: string): string {
  return `CAST(to_json(coalesce(${listAgg}, [])) AS VARCHAR)`;
}

/** A SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
