// Looking after a cache: its index as a SQL view, stats, listing, verification, LRU eviction
// and clearing. Everything that removes or rewrites files holds the exclusive lock.

import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../data/duckdb.js';
import { UsageError } from '../errors.js';
import { withRowsTable } from '../data/rows-writer.js';
import { col, emptyRelation, PARQUET_OPTIONS, type TableSchema } from '../results/schema.js';
import type { CacheStore } from './store.js';

/** The `cache` view (`atc sql --cache`): one row per entry. */
export const CACHE_VIEW = {
  name: 'cache',
  file: '<cache>/segments/*.parquet',
  doc: "the result cache's index: one row per entry",
  columns: [
    col('key', 'VARCHAR', 'sha256 of the entry key'),
    col('symbol', 'VARCHAR', 'the symbol'),
    col('param_id', 'VARCHAR', 'the parameter set'),
    col('kernel', 'VARCHAR', 'kernel version'),
    col('bars', 'BIGINT', 'bars it covers'),
    col('first_ts', 'TIMESTAMP', 'its first bar'),
    col('last_ts', 'TIMESTAMP', 'its last bar'),
    col('bytes', 'BIGINT', 'its share of its segment on disk'),
    col('created', 'TIMESTAMP', 'when stored'),
    col('last_used', 'TIMESTAMP', 'when last used'),
    col('hits', 'BIGINT', 'times used'),
    col('has_trades', 'BOOLEAN', 'closed trades kept'),
    col('segment', 'VARCHAR', 'its segment file'),
  ],
} as const satisfies TableSchema;

/** SQL for the cache index: every entry with its size on disk (its share of its segment), created, last used, hits. */
export function cacheViewSql(store: CacheStore): string {
  const segs = store.segments.files();
  if (segs.length === 0) return `SELECT * FROM ${emptyRelation(CACHE_VIEW.columns)}`;
  const sizes = segs.map((f) => `(${sqlString(basename(f))}, ${statSync(f).size})`).join(', ');
  const usage = store.usageFiles();
  const u =
    usage.length > 0
      ? `SELECT key, max(used_at) AS last_used, sum(hits) AS hits FROM read_parquet([${usage.map(sqlString).join(', ')}]) GROUP BY key`
      : `SELECT CAST(NULL AS VARCHAR) AS key, CAST(NULL AS TIMESTAMP) AS last_used, CAST(0 AS BIGINT) AS hits WHERE false`;
  return `WITH e AS (
      SELECT key, symbol, param_id, kernel, bars, make_timestamp(first_ts) AS first_ts, make_timestamp(last_ts) AS last_ts, created,
             parse_filename(filename) AS segment,
             octet_length(state) + octet_length(account) + coalesce(octet_length(trades), 0) + 512 AS payload,
             trades IS NOT NULL AS has_trades
      FROM ${store.segments.sql(segs)}),
    f(segment, file_bytes) AS (VALUES ${sizes}),
    u AS (${u})
    SELECT e.key, symbol, param_id, kernel, bars, first_ts, last_ts,
           CAST(round(f.file_bytes * payload / sum(payload) OVER (PARTITION BY e.segment)) AS BIGINT) AS bytes,
           created, coalesce(u.last_used, created) AS last_used, coalesce(u.hits, 0) AS hits, has_trades, e.segment
    FROM e JOIN f USING (segment) LEFT JOIN u USING (key)`;
}

export interface CacheStats {
  dir: string;
  entries: number;
  symbols: number;
  paramSets: number;
  segments: number;
  bytes: number;
  hits: number;
  oldest: string | null;
  lastUsed: string | null;
}

export async function cacheStats(conn: DuckDBConnection, store: CacheStore): Promise<CacheStats> {
  const r = await conn.runAndReadAll(
    `SELECT count(*), count(DISTINCT symbol), count(DISTINCT param_id), coalesce(sum(hits), 0), CAST(min(created) AS VARCHAR), CAST(max(last_used) AS VARCHAR) FROM (${cacheViewSql(store)})`,
  );
  const [n, syms, sets, hits, oldest, used] = r.getRows()[0] as unknown[];
  return {
    dir: store.dir,
    entries: Number(n),
    symbols: Number(syms),
    paramSets: Number(sets),
    segments: store.segments.files().length,
    bytes: store.bytes(),
    hits: Number(hits),
    oldest: oldest === null ? null : String(oldest),
    lastUsed: used === null ? null : String(used),
  };
}

export interface VerifyReport {
  segments: number;
  entries: number;
  /** segments whose bytes do not match their sha256 (altered, truncated): removed */
  droppedSegments: string[];
}

/** Check every segment against its sha256 (its name); remove what fails (the exclusive lock must be held). */
export async function verifyCache(conn: DuckDBConnection, store: CacheStore): Promise<VerifyReport> {
  const files = store.segments.files();
  const dropped = await store.segments.verify(files);
  const good = files.filter((f) => !dropped.includes(f));
  const [n] = (await conn.runAndReadAll(`SELECT count(*) FROM ${store.segments.sql(good)}`)).getRows()[0] ?? [0];
  return { segments: files.length, entries: Number(n), droppedSegments: dropped.map((f) => basename(f)) };
}

export interface GcReport {
  entriesBefore: number;
  entriesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  evicted: number;
  duplicates: number;
}

/**
 * Evict entries least recently used first until the cache holds at most `maxBytes`, every entry
 * not used within `olderThanMs`, and duplicates; rewrite the segments that lose entries (the
 * exclusive lock must be held).
 */
export async function gcCache(conn: DuckDBConnection, store: CacheStore, opts: { maxBytes?: number; olderThanMs?: number }): Promise<GcReport> {
  await store.segments.verify(store.segments.files()); // never carry a corrupt entry into a rewritten segment
  const bytesBefore = store.bytes();
  // of duplicates (one entry stored by two runs at once), the one with trades, else the newest
  const rows = (
    await conn.runAndReadAll(
      `SELECT key, segment, bytes, epoch_us(last_used), row_number() OVER (PARTITION BY key ORDER BY has_trades DESC, created DESC, segment) > 1
       FROM (${cacheViewSql(store)}) ORDER BY last_used DESC, created DESC`,
    )
  ).getRows();
  const rep: GcReport = { entriesBefore: rows.length, entriesAfter: 0, bytesBefore, bytesAfter: bytesBefore, evicted: 0, duplicates: 0 };
  const keep: { key: string; segment: string }[] = [];
  const cutoff = opts.olderThanMs === undefined ? -Infinity : (Date.now() - opts.olderThanMs) * 1000;
  let total = 0;
  for (const [key, segment, bytes, used, duplicate] of rows) {
    if (duplicate === true) {
      rep.duplicates++;
      continue;
    }
    const b = Number(bytes);
    if (Number(used) < cutoff || (opts.maxBytes !== undefined && total + b > opts.maxBytes)) {
      rep.evicted++;
      continue;
    }
    total += b;
    keep.push({ key: String(key), segment: String(segment) });
  }
  rep.entriesAfter = keep.length;
  if (rep.evicted === 0 && rep.duplicates === 0) return rep;
  // rewrite only the segments that lose entries (the others keep their files and names)
  const held = new Map<string, number>();
  for (const [, segment] of rows) held.set(String(segment), (held.get(String(segment)) ?? 0) + 1);
  const kept = new Map<string, number>();
  for (const { segment } of keep) kept.set(segment, (kept.get(segment) ?? 0) + 1);
  const oldUsage = store.usageFiles();
  const keepCols = [col('key', 'VARCHAR', ''), col('segment', 'VARCHAR', '')];
  await withRowsTable(conn, keepCols, keep, async (k) => {
    for (const f of store.segments.files()) {
      const n = kept.get(basename(f)) ?? 0;
      if (n === held.get(basename(f))) continue;
      if (n > 0) {
        const tmp = join(store.segments.dir, `.tmp-${process.pid}-${randomUUID().slice(0, 8)}.parquet`);
        await conn.run(
          `COPY (SELECT s.* FROM read_parquet(${sqlString(f)}) s SEMI JOIN ${k} ON s.key = ${k}.key AND ${k}.segment = ${sqlString(basename(f))}
                 ORDER BY s.symbol, s.param_id) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`,
        );
        store.segments.adopt(tmp);
      }
      rmSync(f, { force: true });
    }
    if (oldUsage.length > 0) {
      const utmp = join(store.usage, `.tmp-${process.pid}.parquet`);
      await conn.run(
        `COPY (SELECT u.key, max(used_at) AS used_at, CAST(sum(hits) AS BIGINT) AS hits FROM read_parquet([${oldUsage.map(sqlString).join(', ')}]) u
               SEMI JOIN ${k} ON u.key = ${k}.key GROUP BY u.key) TO ${sqlString(utmp)} (${PARQUET_OPTIONS})`,
      );
      for (const f of oldUsage) rmSync(f, { force: true });
      renameSync(utmp, join(store.usage, `${Date.now()}-${process.pid}-${randomUUID().slice(0, 8)}.parquet`));
    }
  });
  rep.bytesAfter = store.bytes();
  return rep;
}

/** Remove every entry, usage record and fingerprint memo (the exclusive lock must be held). */
export function clearCache(store: CacheStore): number {
  const files = [...store.segments.files(), ...store.usageFiles()];
  for (const f of files) rmSync(f, { force: true });
  rmSync(store.sources, { recursive: true, force: true });
  return files.length;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** "10GB", "500MiB", "1.5g", "123" (bytes). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--max-size must be a size like 10GB, 500MB or 1.5GiB, got ${s}`);
  return Math.floor(Number(m[1]) * unit);
}

const AGE_UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** "30d", "12h", "90m", "2w". */
export function parseAge(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(s);
  if (!m) throw new UsageError(`--older-than must be an age like 30d, 12h or 90m, got ${s}`);
  return Number(m[1]) * (AGE_UNITS[(m[2] as string).toLowerCase()] as number);
}
