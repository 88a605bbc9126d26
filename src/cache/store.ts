// The persistent, content-addressed result cache.
//
//   <cache>/CACHE_VERSION      the format (a different format is refused, never misread)
//   <cache>/segments/*.parquet  entries, one row each (see SEGMENT_COLUMNS), written by a run
//                               under a temporary name and renamed: a segment is whole or absent
//   <cache>/usage/*.parquet     one row per entry use (key, used_at, hits): last used and hits
//   <cache>/sources/*.parquet   fingerprint memos of source files (cache/fingerprint.ts)
//   <cache>/locks/              shared-<pid>-* while a run uses the cache, exclusive while gc,
//                               verify or clear rewrite it
//
// An entry is one symbol under one parameter set: key = sha256 of canonical JSON of {the
// symbol's bar fingerprint, the parameter set (profile included), the kernel version}. It
// holds the symbol's summary and stats rows as typed columns (a hit is copied into the run's
// tables by SQL, never decoded row by row), its account and the kernel state after the last
// bar (from which an incremental update continues), and its closed trades when the run that
// stored it computed trades (a run that wants trades uses only such entries).
// Segments are content-addressed: a segment is named by the sha256 of its bytes, which every
// entry in it is checked against (once per process) before any of it is used; a segment that
// fails (altered, truncated) or cannot be read is reported, dropped and its entries recomputed,
// never used.
//
// Files are only ever added by runs (unique names, rename into place), so any number of runs
// and warm jobs share a cache safely. Only gc, verify and clear remove or rewrite files; they
// hold the exclusive lock, which waits for no run to hold a shared one.

import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { canonicalSet, type ParamSet } from '../config/grid.js';
import { jsonList, sqlString } from '../data/duckdb.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { AtcError } from '../errors.js';
import { PARQUET_OPTIONS, STATS_PART_COLUMNS, SUMMARY_COLUMNS } from '../results/schema.js';
import { RowsWriter } from '../stages/persist/tables.js';

export const CACHE_FORMAT = 'atc-cache/2';
/** Fields of one cached closed trade: side, entryTs, entryPrice, exitTs, exitPrice, barsHeld, return. */
export const CACHED_TRADE_FIELDS = 7;

/** Names of the stats part columns in a segment (prefixed: `bars` is also the entry's). */
export const statColumn = (name: string): string => `st_${name}`;
/** Summary row columns an entry holds as they are (the rest: symbol, param_id, timestamps, trend). */
const SUMMARY_VALUE_COLUMNS = SUMMARY_COLUMNS.slice(4, 15);
/** Stats part row columns an entry holds (all but symbol and param_id). */
const STATS_VALUE_COLUMNS = STATS_PART_COLUMNS.slice(2).map(([n, t]): [string, string] => [statColumn(n), t]);

/** The columns of a segment: one entry per row. */
export const SEGMENT_COLUMNS: [string, string][] = [
  ['key', 'VARCHAR'],
  ['symbol', 'VARCHAR'],
  ['param_id', 'VARCHAR'],
  ['set_sha', 'VARCHAR'],
  ['kernel', 'VARCHAR'],
  ['has_trades', 'BOOLEAN'],
  ['bars', 'BIGINT'],
  ['first_ts', 'BIGINT'],
  ['last_ts', 'BIGINT'],
  ['h', 'VARCHAR'],
  ['hr', 'VARCHAR'],
  ...SUMMARY_VALUE_COLUMNS,
  ...STATS_VALUE_COLUMNS,
  ['account', 'BLOB'],
  ['trades', 'BLOB'],
  ['state', 'BLOB'],
  ['created', 'TIMESTAMP'],
];
/** What a run appends per entry; the key and fingerprint come from its key tables. */
const APPEND_COLUMNS: [string, string][] = [['code', 'INTEGER'], ['k', 'INTEGER'], ...SEGMENT_COLUMNS.slice(11, -1)];

/** A table of entries found in the cache (its `filename` column names their segments), and those segments. */
export interface Found {
  table: string;
  files: string[];
}

/** Segments hashed ahead of a lookup, at most this many bytes of them. */
const SPECULATIVE_BYTES = 64 << 20;

/** What a finished (symbol, set) stores. */
export interface EntryInput {
  /** symbol code and parameter set index in the run's keys table */
  code: number;
  k: number;
  /** its summary row and stats part row, as the run writes them */
  summary: readonly unknown[];
  stats: readonly unknown[];
  account: Float64Array;
  /** closed trades (CACHED_TRADE_FIELDS each), when the run computes trades */
  trades: Float64Array | null;
  state: Uint8Array;
}

/** $ATC_CACHE_DIR (`off`: no cache unless --cache names one), else the user's cache folder. */
export function defaultCacheDir(): string | undefined {
  const env = process.env.ATC_CACHE_DIR;
  if (env === 'off') return undefined;
  if (env) return env;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'atc-backtest');
}

/**
 * A run's fingerprint table (fingerprintSource: code, symbol, bars, first_ts, last_ts, h, hr)
 * and its parameter sets as SQL (k = index in the run, param_id, set_sha = sha256 of the
 * canonical set, head = the canonical JSON of the key up to the data).
 */
export interface KeyTables {
  prints: string;
  sets: string;
}

export function keyTables(prints: string, sets: readonly ParamSet[]): KeyTables {
  const rows = sets.map((s, k) => {
    const canon = canonicalSet(s.params, s.trade);
    const head = `{"format":${JSON.stringify(CACHE_FORMAT)},"kernel":${JSON.stringify(KERNEL_VERSION)},"set":${canon},"data":`;
    return `(${k}, ${sqlString(s.id)}, ${sqlString(createHash('sha256').update(canon).digest('hex'))}, ${sqlString(head)})`;
  });
  return { prints, sets: `(SELECT CAST(k AS INTEGER) AS k, param_id, set_sha, head FROM (VALUES ${rows.join(', ')}) AS v(k, param_id, set_sha, head))` };
}

/**
 * The entry key of fingerprint row `p` under set row `s` (keyTables): sha256 of the canonical
 * JSON {format, kernel, set, data}, built by DuckDB. A lookup compares the fields it hashes
 * (all stored in the entry) instead of recomputing it.
 */
function keySql(p: string, s: string): string {
  const num = (c: string) => `coalesce(CAST(${p}.${c} AS VARCHAR), 'null')`;
  // h and hr are decimal integers: no escaping needed
  return `sha256(${s}.head || '{"symbol":' || CAST(to_json(${p}.symbol) AS VARCHAR) || ',"bars":' || ${num('bars')} || ',"first":' || ${num('first_ts')} || ',"last":' || ${num('last_ts')} || ',"h":"' || ${p}.h || '","hr":"' || ${p}.hr || '"}}')`;
}

const bytesOf = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
export const f64 = (b: Uint8Array): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength - (b.byteLength % 8)));
export const blobBytes = (v: unknown): Uint8Array => (v as { bytes: Uint8Array } | null)?.bytes ?? new Uint8Array(0);

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class CacheStore {
  readonly segments: string;
  readonly usage: string;
  readonly sources: string;
  private readonly locks: string;
  private lockFile: string | undefined;
  /** segments found corrupt and dropped while this store was open */
  dropped: string[] = [];
  /** segments whose bytes matched their name in this process */
  private readonly verified = new Set<string>();
  /** hashes in flight */
  private readonly hashing = new Map<string, Promise<string | undefined>>();

  private constructor(
    readonly dir: string,
    private readonly log: (m: string) => void,
  ) {
    this.segments = join(dir, 'segments');
    this.usage = join(dir, 'usage');
    this.sources = join(dir, 'sources');
    this.locks = join(dir, 'locks');
  }

  /** Open (creating) the cache at `dir`; `lock` 'shared' for runs, 'exclusive' to rewrite it. */
  static open(dir: string, lock: 'shared' | 'exclusive', log: (m: string) => void = () => undefined): CacheStore {
    const s = new CacheStore(resolve(dir), log);
    try {
      for (const d of [s.segments, s.usage, s.sources, s.locks]) mkdirSync(d, { recursive: true });
      const vf = join(s.dir, 'CACHE_VERSION');
      if (!existsSync(vf)) writeFileSync(vf, CACHE_FORMAT + '\n');
      const v = readFileSync(vf, 'utf8').trim();
      if (v !== CACHE_FORMAT) throw new AtcError('ATC_ERR_CACHE', `${s.dir}: cache format ${v}, this tool reads ${CACHE_FORMAT}; use another --cache or \`atc cache clear\``);
    } catch (e) {
      if (e instanceof AtcError) throw e;
      throw new AtcError('ATC_ERR_CACHE', `${s.dir}: cannot use as a cache: ${(e as Error).message}`, { cause: e });
    }
    if (lock === 'shared') s.lockShared();
    else s.lockExclusive();
    return s;
  }

  close(): void {
    if (this.lockFile) rmSync(this.lockFile, { force: true });
    this.lockFile = undefined;
  }

  private exclusiveHolder(): number | undefined {
    const f = join(this.locks, 'exclusive');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8'));
    if (pid && pidAlive(pid)) return pid;
    rmSync(f, { force: true }); // left by a killed process
    return undefined;
  }

  private lockShared(): void {
    const mine = join(this.locks, `shared-${process.pid}-${randomUUID().slice(0, 8)}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      writeFileSync(mine, String(process.pid));
      const holder = this.exclusiveHolder();
      if (holder === undefined) break;
      rmSync(mine, { force: true });
      if (Date.now() > deadline) throw new AtcError('ATC_ERR_CACHE_BUSY', `${this.dir}: held by \`atc cache\` (pid ${holder}) for over a minute`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
    this.lockFile = mine;
  }

  private lockExclusive(): void {
    const f = join(this.locks, 'exclusive');
    let fd: number;
    try {
      this.exclusiveHolder(); // clears a stale one
      fd = openSync(f, 'wx');
    } catch {
      throw new AtcError('ATC_ERR_CACHE_BUSY', `${this.dir}: another \`atc cache\` command is running (pid ${this.exclusiveHolder() ?? '?'})`);
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    this.lockFile = f;
    // Runs announce themselves before checking for this lock: any run not seen here will wait.
    const users = readdirSync(this.locks)
      .filter((n) => n.startsWith('shared-'))
      .filter((n) => {
        const pid = Number(n.split('-')[1]);
        if (pidAlive(pid)) return true;
        rmSync(join(this.locks, n), { force: true });
        return false;
      });
    if (users.length > 0) {
      this.close();
      throw new AtcError('ATC_ERR_CACHE_BUSY', `${this.dir}: in use by ${users.length} run(s) (pid ${users.map((n) => n.split('-')[1]).join(', ')}); try again when they finish`);
    }
  }

  segmentFiles(): string[] {
    return readdirSync(this.segments)
      .filter((n) => n.endsWith('.parquet') && !n.startsWith('.'))
      .sort()
      .map((n) => join(this.segments, n));
  }

  usageFiles(): string[] {
    return readdirSync(this.usage)
      .filter((n) => n.endsWith('.parquet') && !n.startsWith('.'))
      .sort()
      .map((n) => join(this.usage, n));
  }

  /** Drop a segment found corrupt (its entries will be recomputed). */
  dropSegment(file: string, why: string): void {
    this.log(`cache: ${file} is corrupt (${why}): dropped; its entries will be recomputed`);
    rmSync(file, { force: true });
    this.dropped.push(file);
  }

  /** The entries as a relation (with `filename`), empty with the right columns when there are none. */
  entriesSql(files = this.segmentFiles()): string {
    if (files.length > 0) return `read_parquet([${files.map(sqlString).join(', ')}], filename = true)`;
    return `(SELECT ${SEGMENT_COLUMNS.map(([n, t]) => `CAST(NULL AS ${t}) AS "${n}"`).join(', ')}, CAST(NULL AS VARCHAR) AS filename WHERE false)`;
  }

  /** The sha256 of a file, hashed off the main thread (undefined: gone or unreadable). */
  private hash(f: string): Promise<string | undefined> {
    let p = this.hashing.get(f);
    if (!p) {
      p = readFile(f)
        .then((b) => webcrypto.subtle.digest('SHA-256', b))
        .then((d) => Buffer.from(d).toString('hex'))
        .catch(() => undefined);
      this.hashing.set(f, p);
    }
    return p;
  }

  /**
   * Check segments against their names (the sha256 of their bytes), once per process; drop
   * those that fail. Returns the files dropped.
   */
  async verify(files: Iterable<string>): Promise<string[]> {
    const todo = [...new Set(files)].filter((f) => !this.verified.has(f));
    const shas: (string | undefined)[] = [];
    // a few at a time: memory holds those files
    for (let i = 0; i < todo.length; i += 4) shas.push(...(await Promise.all(todo.slice(i, i + 4).map((f) => this.hash(f)))));
    const bad: string[] = [];
    todo.forEach((f, i) => {
      const sha = shas[i];
      this.hashing.delete(f);
      if (sha === basename(f, '.parquet')) this.verified.add(f);
      else {
        this.dropSegment(f, sha === undefined ? 'cannot be read' : 'its bytes do not match its sha256');
        bad.push(f);
      }
    });
    return bad;
  }

  /**
   * Run `query` over the segments until every segment it used (its result's `files`) is
   * verified: a segment that fails (or cannot be read) is dropped and the query run again.
   */
  private async verifiedQuery<T extends { files: string[] }>(query: (segments: string) => Promise<T>): Promise<T> {
    for (;;) {
      const files = this.segmentFiles();
      // A small cache is hashed while the query runs (a segment it turns out not to use costs
      // a little work); a large one only where used.
      let bytes = 0;
      for (const f of files) if (!this.verified.has(f) && (bytes += statSync(f, { throwIfNoEntry: false })?.size ?? 0) <= SPECULATIVE_BYTES) void this.hash(f);
      let r: T;
      try {
        r = await query(this.entriesSql(files));
      } catch (e) {
        if ((await this.verify(files)).length === 0) throw new AtcError('ATC_ERR_CACHE', `${this.dir}: ${(e as Error).message}`, { cause: e });
        continue;
      }
      if ((await this.verify(r.files)).length === 0) return r;
    }
  }

  /** The segments the entries of table `t` (with a `filename` column) are in. */
  private async filesOf(conn: DuckDBConnection, t: string): Promise<string[]> {
    return JSON.parse(String((await conn.runAndReadAll(`SELECT ${jsonList('list(DISTINCT filename)')} FROM ${t}`)).getRows()[0]?.[0])) as string[];
  }

  /**
   * Table `into` (code, k, key, filename): the entries of exactly the bars and sets of `wants`
   * (code, k, symbol, set_sha, bars, first_ts, last_ts, h, hr), every field the key hashes
   * equal (so the key is), one per (code, k), for the codes that have one for each of `np`
   * sets (returned, ascending).
   */
  async findExact(conn: DuckDBConnection, wants: string, into: string, np: number, withTrades: boolean): Promise<Found & { codes: number[] }> {
    return this.verifiedQuery(async (segs) => {
      await conn.run(
        `CREATE OR REPLACE TABLE ${into} AS SELECT w.code, w.k, s.key, min(s.filename) AS filename FROM ${segs} AS s JOIN ${wants} AS w
         ON s.symbol = w.symbol AND s.set_sha = w.set_sha AND s.bars = w.bars AND s.first_ts = w.first_ts AND s.last_ts = w.last_ts AND s.h = w.h AND s.hr = w.hr
         WHERE s.kernel = ${sqlString(KERNEL_VERSION)} ${withTrades ? 'AND s.has_trades' : ''} GROUP BY w.code, w.k, s.key`,
      );
      if (np > 1) await conn.run(`DELETE FROM ${into} WHERE code IN (SELECT code FROM ${into} GROUP BY code HAVING count(*) < ${np})`);
      const [c, f] = (await conn.runAndReadAll(`SELECT ${jsonList('list(DISTINCT code ORDER BY code)')}, ${jsonList('list(DISTINCT filename)')} FROM ${into}`)).getRows()[0] as unknown[];
      return { table: into, files: JSON.parse(String(f)) as string[], codes: JSON.parse(String(c)) as number[] };
    });
  }

  /**
   * Table `into` (code, k, key, bars, first_ts, last_ts, h, hr, long_alerts, short_alerts,
   * account, filename): per wanted (code, k) of `wants` (code, k, symbol, set_sha, bars,
   * first_ts, last_ts), the longest entry of the same symbol and set that may be a prefix of its
   * bars.
   */
  async findBases(conn: DuckDBConnection, wants: string, into: string, withTrades: boolean): Promise<Found> {
    return this.verifiedQuery(async (segs) => {
      await conn.run(
        `CREATE OR REPLACE TABLE ${into} AS
         SELECT w.code, w.k, s.key, s.bars, s.first_ts, s.last_ts, s.h, s.hr, s.long_alerts, s.short_alerts, s.account, s.filename
         FROM ${segs} AS s JOIN ${wants} AS w ON s.symbol = w.symbol AND s.set_sha = w.set_sha
         WHERE s.kernel = ${sqlString(KERNEL_VERSION)} ${withTrades ? 'AND s.has_trades' : ''}
           AND s.bars < w.bars AND s.last_ts < w.last_ts AND s.first_ts = w.first_ts
         QUALIFY row_number() OVER (PARTITION BY w.code, w.k ORDER BY s.bars DESC, s.filename) = 1`,
      );
      return { table: into, files: await this.filesOf(conn, into) };
    });
  }

  /**
   * The kernel states (and, `withTrades`, closed trades) of the entries `found` (`e`: key,
   * filename, ...) after the columns `cols` (of `e` or of the entry, `s`), in the order
   * `orderBy`; rows whose segment fails are left out (and the segment dropped).
   */
  async readPayloads(conn: DuckDBConnection, found: Found, cols: string[], orderBy: string, withTrades: boolean): Promise<unknown[][]> {
    const bad = new Set(await this.verify(found.files));
    const good = found.files.filter((f) => !bad.has(f));
    if (good.length === 0) return [];
    return (
      await conn.runAndReadAll(
        `SELECT ${cols.join(', ')}, s.state, ${withTrades ? 's.trades' : 'NULL'}
         FROM ${this.entriesSql(good)} AS s JOIN ${found.table} AS e ON s.key = e.key AND s.filename = e.filename ORDER BY ${orderBy}`,
      )
    ).getRows();
  }

  /** Record a use of every entry whose key `keysSql` (a SELECT with a `key` column) returns. */
  async recordUse(conn: DuckDBConnection, keysSql: string): Promise<void> {
    const name = `${Date.now()}-${process.pid}-${randomUUID().slice(0, 8)}.parquet`;
    const tmp = join(this.usage, `.tmp-${name}`);
    const r = await conn.runAndReadAll(
      `COPY (SELECT key, make_timestamp(${Date.now() * 1000}) AS used_at, CAST(1 AS BIGINT) AS hits FROM (${keysSql})) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
    );
    if (Number(r.getRows()[0]?.[0] ?? 0) > 0) renameSync(tmp, join(this.usage, name));
    else rmSync(tmp, { force: true });
  }

  /** Write entries (with their states) as one new segment, named by the sha256 of its bytes. */
  async writeSegment(conn: DuckDBConnection, t: KeyTables, entries: readonly EntryInput[]): Promise<string | undefined> {
    if (entries.length === 0) return undefined;
    const tmp = join(this.segments, `.tmp-${process.pid}-${randomUUID().slice(0, 8)}.parquet`);
    try {
      const w = await RowsWriter.open(conn, APPEND_COLUMNS);
      for (const e of entries) {
        w.append([e.code, e.k, ...e.summary.slice(4, 15), ...e.stats.slice(2), bytesOf(e.account), e.trades ? bytesOf(e.trades) : null, e.state]);
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
      const cols = SEGMENT_COLUMNS.map(([n], i) => `${expr[n] ?? `${i < 11 ? 'p' : 'v'}."${n}"`} AS "${n}"`);
      await w.use((v) =>
        conn.run(
          `COPY (SELECT ${cols.join(', ')} FROM ${v} AS v JOIN ${t.prints} AS p USING (code) JOIN ${t.sets} AS s USING (k) ORDER BY p.symbol, s.param_id)
           TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`,
        ),
      );
      return this.adopt(tmp);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Move a finished segment file into the cache under its sha256. */
  adopt(tmp: string): string {
    const file = join(this.segments, `${createHash('sha256').update(readFileSync(tmp)).digest('hex')}.parquet`);
    renameSync(tmp, file);
    this.verified.add(file);
    return file;
  }

  /** Total bytes of the cache's files. */
  bytes(): number {
    let n = 0;
    for (const d of [this.segments, this.usage, this.sources]) for (const f of readdirSync(d)) n += statSync(join(d, f)).size;
    return n;
  }
}
