// Writing to the cache: finished (symbol, set) entries become segments; uses of entries become
// usage rows (last used, hits). Files are only ever added (a unique temporary name, renamed),
// so any number of runs and warm jobs write to one cache at once.

import { randomUUID } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../data/duckdb.js';
import { RowsWriter } from '../data/rows-writer.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { col, PARQUET_OPTIONS } from '../results/schema.js';
import { bytesOf, ENTRY_KEY_COLUMNS, entryValueColumns, type EntryInput, type KeyTables, keySql, segmentColumns, statColumn, STATS_VALUE_COLUMNS, summaryValueColumns } from './entries.js';
import type { CacheStore } from './store.js';

const KEY_NAMES = new Set<string>(ENTRY_KEY_COLUMNS.map((c) => c.name));
const STAT_VALUES = STATS_VALUE_COLUMNS.map((c) => c.name.slice(statColumn('').length));

/** Write entries (with their states) as one new segment, named by the sha256 of its bytes. */
export async function writeSegment(conn: DuckDBConnection, store: CacheStore, t: KeyTables, entries: readonly EntryInput[]): Promise<string | undefined> {
  if (entries.length === 0) return undefined;
  const tmp = join(store.segments.dir, `.tmp-${process.pid}-${randomUUID().slice(0, 8)}.parquet`);
  try {
    // what a run appends per entry; the key and fingerprint come from its key tables
    const w = await RowsWriter.open(conn, [col('code', 'INTEGER', 'symbol code'), col('k', 'INTEGER', 'set index'), ...entryValueColumns(t.tables)]);
    const values = summaryValueColumns(t.tables);
    for (const e of entries) {
      const row: Record<string, unknown> = { code: e.code, k: e.k, account: bytesOf(e.account), trades: e.trades ? bytesOf(e.trades) : null, state: e.state };
      for (const { column, segment } of values) row[segment] = e.summary[column.name];
      for (const n of STAT_VALUES) row[statColumn(n)] = e.stats[n];
      w.append(row);
    }
    const expr: Record<string, string> = {
      key: keySql('p', 's'),
      kernel: sqlString(KERNEL_VERSION),
      has_trades: 'v.trades IS NOT NULL',
      created: `make_timestamp(${Date.now() * 1000})`,
      symbol: 'p.symbol',
      param_id: 's.param_id',
      set_sha: 's.set_sha',
    };
    // key columns from the fingerprint (p), values from what was appended (v)
    const cols = segmentColumns(t.tables).map(({ name }) => `${expr[name] ?? `${KEY_NAMES.has(name) ? 'p' : 'v'}."${name}"`} AS "${name}"`);
    await w.use((v) =>
      conn.run(
        `COPY (SELECT ${cols.join(', ')} FROM ${v} AS v JOIN ${t.prints} AS p USING (code) JOIN ${t.sets} AS s USING (k) ORDER BY p.symbol, s.param_id)
         TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`,
      ),
    );
    return store.segments.adopt(tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Record a use of every entry whose key `keysSql` (a SELECT with a `key` column) returns. */
export async function recordUse(conn: DuckDBConnection, store: CacheStore, keysSql: string): Promise<void> {
  const name = `${Date.now()}-${process.pid}-${randomUUID().slice(0, 8)}.parquet`;
  const tmp = join(store.usage, `.tmp-${name}`);
  const r = await conn.runAndReadAll(
    `COPY (SELECT key, make_timestamp(${Date.now() * 1000}) AS used_at, CAST(1 AS BIGINT) AS hits FROM (${keysSql})) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
  );
  if (Number(r.getRows()[0]?.[0] ?? 0) > 0) renameSync(tmp, join(store.usage, name));
  else rmSync(tmp, { force: true });
}

/** A segment holds at most this many entries and about this many bytes of them. */
const SEGMENT_ENTRIES = 20_000;
const SEGMENT_BYTES = 24 << 20;
const entryBytes = (e: EntryInput): number => e.state.byteLength + 600 + (e.trades?.byteLength ?? 0);

/** Buffers finished entries and writes them as segments (a kill loses at most the buffer). */
export class CacheWriter {
  private buf: EntryInput[] = [];
  private bytes = 0;
  private last = Date.now();
  stored = 0;

  constructor(
    readonly store: CacheStore,
    private readonly conn: DuckDBConnection,
    /** the run's fingerprints and sets (keyTables) */
    private readonly keys: KeyTables,
    private readonly flushMs = 10_000,
  ) {}

  add(e: EntryInput): void {
    this.buf.push(e);
    this.bytes += entryBytes(e);
  }

  async maybeFlush(): Promise<void> {
    if (this.bytes >= 32 << 20 || (this.buf.length > 0 && Date.now() - this.last >= this.flushMs)) await this.flush();
  }

  async flush(): Promise<void> {
    const b = this.buf;
    this.buf = [];
    this.bytes = 0;
    this.last = Date.now();
    // in segments of bounded size: DuckDB stages each one in memory before writing it
    for (let i = 0; i < b.length; ) {
      let j = i;
      for (let bytes = 0; j < b.length && j - i < SEGMENT_ENTRIES && bytes < SEGMENT_BYTES; j++) bytes += entryBytes(b[j] as EntryInput);
      await writeSegment(this.conn, this.store, this.keys, b.slice(i, j));
      i = j;
    }
    this.stored += b.length;
  }
}
