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
// holds what the run's tables are made of (last outputs, alert counts, the account, closed
// trades) and the kernel state after the last bar, from which an incremental update continues.
// Every entry carries a sha256 checksum over all of it (the state through its own sha256);
// an entry that fails it, or a segment that cannot be read, is reported, dropped and
// recomputed, never used.
//
// Files are only ever added by runs (unique names, rename into place), so any number of runs
// and warm jobs share a cache safely. Only gc, verify and clear remove or rewrite files; they
// hold the exclusive lock, which waits for no run to hold a shared one.

import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACCT_SIZE } from '../backtest/accounting.js';
import { canonicalSet, type ParamSet } from '../config/grid.js';
import { sqlString } from '../data/duckdb.js';
import { LAST_FIELDS } from '../engine/job.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { AtcError } from '../errors.js';
import { withRowsTable, writeRows } from '../stages/persist/tables.js';
import type { SymbolPrint } from './fingerprint.js';

export const CACHE_FORMAT = 'atc-cache/1';
/** Fields of one cached closed trade: side, entryTs, entryPrice, exitTs, exitPrice, barsHeld, return. */
export const CACHED_TRADE_FIELDS = 7;

export const SEGMENT_COLUMNS: [string, string][] = [
  ['key', 'VARCHAR'],
  ['symbol', 'VARCHAR'],
  ['param_id', 'VARCHAR'],
  ['kernel', 'VARCHAR'],
  ['bars', 'BIGINT'],
  ['first_ts', 'BIGINT'],
  ['last_ts', 'BIGINT'],
  ['last_close', 'DOUBLE'],
  ['h', 'VARCHAR'],
  ['hr', 'VARCHAR'],
  ['long_alerts', 'BIGINT'],
  ['short_alerts', 'BIGINT'],
  ['last', 'BLOB'],
  ['account', 'BLOB'],
  ['trades', 'BLOB'],
  ['state', 'BLOB'],
  ['state_sha', 'VARCHAR'],
  ['created', 'TIMESTAMP'],
  ['checksum', 'VARCHAR'],
];
/** Every column but the state (what a lookup reads). */
export const META = SEGMENT_COLUMNS.map(([n]) => n).filter((n) => n !== 'state');

export const USAGE_COLUMNS: [string, string][] = [
  ['key', 'VARCHAR'],
  ['used_at', 'TIMESTAMP'],
  ['hits', 'BIGINT'],
];

export interface CacheEntry {
  key: string;
  symbol: string;
  paramId: string;
  /** the kernel version that computed it (only entries of this tool's kernel are looked up) */
  kernel: string;
  bars: number;
  firstTs: number;
  lastTs: number;
  lastClose: number;
  h: string;
  hr: string;
  alerts: [number, number];
  /** LAST_FIELDS values after the last bar */
  last: Float64Array;
  account: Float64Array;
  /** CACHED_TRADE_FIELDS per closed trade */
  trades: Float64Array;
  stateSha: string;
  checksum: string;
  /** the segment it was read from */
  file?: string;
}

/** $ATC_CACHE_DIR (`off`: no cache unless --cache names one), else the user's cache folder. */
export function defaultCacheDir(): string | undefined {
  const env = process.env.ATC_CACHE_DIR;
  if (env === 'off') return undefined;
  if (env) return env;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'atc-backtest');
}

/** The entry key of `symbol` (with bars `print`) under parameter set `set`. */
export function entryKey(symbol: string, print: SymbolPrint, set: ParamSet): string {
  const canon = JSON.stringify({
    format: CACHE_FORMAT,
    kernel: KERNEL_VERSION,
    set: JSON.parse(canonicalSet(set.params, set.trade)) as unknown,
    data: { symbol, bars: print.bars, first: print.firstTs, last: print.lastTs, h: print.h, hr: print.hr },
  });
  return createHash('sha256').update(canon).digest('hex');
}

const bytesOf = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f64 = (b: Uint8Array): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength - (b.byteLength % 8)));

export function entryChecksum(e: Omit<CacheEntry, 'checksum' | 'file'>): string {
  const h = createHash('sha256');
  const lc = new Float64Array([e.lastClose]);
  h.update(`${e.key}\n${e.symbol}\n${e.paramId}\n${e.kernel}\n${e.bars}\n${e.firstTs}\n${e.lastTs}\n${e.h}\n${e.hr}\n${e.alerts[0]}\n${e.alerts[1]}\n${e.stateSha}\n`);
  for (const a of [lc, e.last, e.account, e.trades]) h.update(bytesOf(a)).update('\n');
  return h.digest('hex');
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export interface LookupResult {
  /** an entry for exactly these bars */
  hit?: CacheEntry;
  /** else the longest entry for the same symbol and set whose bars may be a prefix of these */
  base?: CacheEntry;
}

export class CacheStore {
  readonly segments: string;
  readonly usage: string;
  readonly sources: string;
  private readonly locks: string;
  private lockFile: string | undefined;
  /** segments found corrupt and dropped while this store was open */
  dropped: string[] = [];

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

  /** Read entries (without states) matching `where`, dropping unreadable segments and entries that fail their checksum. */
  async readEntries(conn: DuckDBConnection, from: (files: string) => string, where = 'true'): Promise<CacheEntry[]> {
    for (;;) {
      const files = this.segmentFiles();
      if (files.length === 0) return [];
      const list = `read_parquet([${files.map(sqlString).join(', ')}], filename = true)`;
      let rows: unknown[][];
      try {
        rows = (await conn.runAndReadAll(`SELECT ${META.map((c) => `s.${c}`).join(', ')}, s.filename FROM ${from(list)} WHERE ${where}`)).getRows();
      } catch (e) {
        // find the segment that cannot be read, drop it and try again
        let found = false;
        for (const f of files) {
          try {
            await conn.run(`SELECT ${META.join(', ')} FROM read_parquet(${sqlString(f)})`);
          } catch (e2) {
            this.dropSegment(f, (e2 as Error).message.split('\n')[0] ?? 'unreadable');
            found = true;
          }
        }
        if (!found) throw new AtcError('ATC_ERR_CACHE', `${this.dir}: ${(e as Error).message}`, { cause: e });
        continue;
      }
      const entries: CacheEntry[] = [];
      const bad = new Set<string>();
      for (const r of rows) {
        const e = rowEntry(r);
        if (e.checksum !== entryChecksum(e) || e.last.length !== LAST_FIELDS || e.account.length !== ACCT_SIZE) bad.add(e.file as string);
        else entries.push(e);
      }
      if (bad.size === 0) return entries;
      for (const f of bad) this.dropSegment(f, 'an entry fails its checksum');
    }
  }

  /** Per wanted (symbol, set, key): the exact entry, or the best base for an incremental update. */
  async lookup(conn: DuckDBConnection, wants: { symbol: string; paramId: string; key: string; print: SymbolPrint }[]): Promise<LookupResult[]> {
    const out: LookupResult[] = wants.map(() => ({}));
    if (wants.length === 0 || this.segmentFiles().length === 0) return out;
    const pairs = new Map<string, [string, string]>();
    for (const w of wants) pairs.set(`${w.symbol}\u0000${w.paramId}`, [w.symbol, w.paramId]);
    const entries = await withRowsTable(conn, [['symbol', 'VARCHAR'], ['param_id', 'VARCHAR']], [...pairs.values()], (table) =>
      this.readEntries(
        conn,
        (list) => `${list} AS s SEMI JOIN ${table} AS w ON s.symbol = w.symbol AND s.param_id = w.param_id`,
        `s.kernel = ${sqlString(KERNEL_VERSION)}`,
      ),
    );
    const by = new Map<string, CacheEntry[]>();
    for (const e of entries) {
      const k = `${e.symbol}\u0000${e.paramId}`;
      by.set(k, [...(by.get(k) ?? []), e]);
    }
    wants.forEach((w, i) => {
      const cands = by.get(`${w.symbol}\u0000${w.paramId}`) ?? [];
      const hit = cands.find((e) => e.key === w.key);
      if (hit) {
        (out[i] as LookupResult).hit = hit;
        return;
      }
      let base: CacheEntry | undefined;
      for (const e of cands) if (e.bars < w.print.bars && e.lastTs < w.print.lastTs && e.firstTs === w.print.firstTs && (!base || e.bars > base.bars)) base = e;
      if (base) (out[i] as LookupResult).base = base;
    });
    return out;
  }

  /** The kernel states of `entries` (verified against their sha256), by key; a missing or bad one is absent. */
  async readStates(conn: DuckDBConnection, entries: CacheEntry[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const byFile = new Map<string, CacheEntry[]>();
    for (const e of entries) byFile.set(e.file as string, [...(byFile.get(e.file as string) ?? []), e]);
    for (const [file, es] of byFile) {
      let rows: unknown[][];
      try {
        rows = (await conn.runAndReadAll(`SELECT key, checksum, state FROM read_parquet(${sqlString(file)}) WHERE key IN (${es.map((e) => sqlString(e.key)).join(', ')})`)).getRows();
      } catch (e) {
        this.dropSegment(file, (e as Error).message.split('\n')[0] ?? 'unreadable');
        continue;
      }
      const want = new Map(es.map((e) => [`${e.key}/${e.checksum}`, e]));
      for (const [key, checksum, state] of rows) {
        const e = want.get(`${String(key)}/${String(checksum)}`);
        const bytes = (state as { bytes: Uint8Array } | null)?.bytes;
        if (!e || !bytes) continue;
        if (sha256(bytes) !== e.stateSha) {
          this.dropSegment(file, `the state of ${e.symbol} fails its checksum`);
          break;
        }
        out.set(e.key, bytes);
      }
    }
    return out;
  }

  /** Record uses of entries (last used, hits). */
  async recordUse(conn: DuckDBConnection, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const now = Date.now() * 1000;
    const name = `${Date.now()}-${process.pid}-${randomUUID().slice(0, 8)}.parquet`;
    const tmp = join(this.usage, `.tmp-${name}`);
    await writeRows(conn, USAGE_COLUMNS, keys.map((k) => [k, now, 1]), tmp);
    renameSync(tmp, join(this.usage, name));
  }

  /** Write entries (with their states) as one new segment. */
  async writeSegment(conn: DuckDBConnection, entries: { entry: Omit<CacheEntry, 'file'>; state: Uint8Array }[]): Promise<string | undefined> {
    if (entries.length === 0) return undefined;
    const now = Date.now() * 1000;
    const rows = entries.map(({ entry: e, state }) => [
      e.key,
      e.symbol,
      e.paramId,
      e.kernel,
      e.bars,
      e.firstTs,
      e.lastTs,
      e.lastClose,
      e.h,
      e.hr,
      e.alerts[0],
      e.alerts[1],
      bytesOf(e.last),
      bytesOf(e.account),
      bytesOf(e.trades),
      state,
      e.stateSha,
      now,
      e.checksum,
    ]);
    const name = `${Date.now()}-${process.pid}-${randomUUID().slice(0, 8)}.parquet`;
    const tmp = join(this.segments, `.tmp-${name}`);
    try {
      await writeRows(conn, SEGMENT_COLUMNS, rows, tmp);
      renameSync(tmp, join(this.segments, name));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return name;
  }

  /** Total bytes of the cache's files. */
  bytes(): number {
    let n = 0;
    for (const d of [this.segments, this.usage, this.sources]) for (const f of readdirSync(d)) n += statSync(join(d, f)).size;
    return n;
  }
}

/** An entry from a row of META columns then the segment's file name. */
export function rowEntry(r: unknown[]): CacheEntry {
  const m = Object.fromEntries([...META, 'filename'].map((c, i) => [c, r[i]])) as Record<string, unknown>;
  const blob = (v: unknown): Float64Array => f64((v as { bytes: Uint8Array } | null)?.bytes ?? new Uint8Array(0));
  return {
    key: String(m.key),
    symbol: String(m.symbol),
    paramId: String(m.param_id),
    kernel: String(m.kernel),
    bars: Number(m.bars),
    firstTs: Number(m.first_ts),
    lastTs: Number(m.last_ts),
    lastClose: Number(m.last_close),
    h: String(m.h),
    hr: String(m.hr),
    alerts: [Number(m.long_alerts), Number(m.short_alerts)],
    last: blob(m.last),
    account: blob(m.account),
    trades: blob(m.trades),
    stateSha: String(m.state_sha),
    checksum: String(m.checksum),
    file: String(m.filename),
  };
}

