// What the cache does for one group of parameter sets over one source: per symbol, either
//   hit   every set has an entry for exactly these bars: its results come from the cache
//   tail  every set has an entry for the symbol's first bars (same count, same last ts, and
//         the new data's fingerprint up to that ts equals the entry's): the kernel continues
//         from the cached states and accounts over the new bars only
//   full  anything else: computed from the first bar
// and, for the symbols computed, the entries to store when they finish.

import { ACCT_SIZE } from '../backtest/accounting.js';
import type { ParamSet } from '../config/grid.js';
import type { BarSource } from '../data/source.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withRowsTable } from '../stages/persist/tables.js';
import { type CacheEntry, type CacheStore, type EntryInput, type KeyTables } from './store.js';
import { type Fingerprints, scanTails } from './fingerprint.js';

export interface TailStart {
  /** bars and last ts the cache holds */
  bars: number;
  lastTs: number;
  firstTs: number;
  /** per set, concatenated: the group's state record and accounts */
  states: Uint8Array;
  accounts: Float64Array;
  /** per set: long, short alerts so far */
  alerts: Uint32Array;
  /** per set: cached closed trades (CACHED_TRADE_FIELDS each), when the run computes trades */
  trades: Float64Array[] | null;
}

export interface GroupPlan {
  /** symbol codes answered by the cache, ascending */
  hits: number[];
  /** a table (code, k, key, filename) of the hits' entries (k: the set's index in the group) */
  hitTable?: string;
  tails: Map<number, TailStart>;
  /** when every symbol left continues from a tail: a table of their new rows (see scanTails) */
  tailTable?: string;
  /** keys of the entries continued from */
  bases: string[];
}

let seq = 0;
/** Most new rows kept in memory for an incremental pass (beyond: the pass reads the source). */
const TAIL_ROWS_KEPT = 4_000_000;

/** The group of parameter sets k0 .. k0 + sets.length - 1 of the run's key tables. */
export async function planGroup(
  conn: DuckDBConnection,
  cache: CacheStore,
  src: BarSource,
  fp: Fingerprints,
  t: KeyTables,
  k0: number,
  sets: ParamSet[],
  stateBytes: number[],
  /** per symbol code: 1 when already committed by an earlier run into the same --out */
  done: Uint8Array,
  /** the run computes trades: only entries that kept theirs are used, and tails carry them */
  withTrades: boolean,
): Promise<GroupPlan> {
  const plan: GroupPlan = { hits: [], tails: new Map(), bases: [] };
  const np = sets.length;
  const doneCodes: number[] = [];
  done.forEach((d, code) => d && doneCodes.push(code));
  if (doneCodes.length === fp.symbols.length || cache.segmentFiles().length === 0) return plan;
  const wants = (more = '') =>
    `(SELECT p.code, v.k - ${k0} AS k, p.symbol, v.set_sha, p.bars, p.first_ts, p.last_ts, p.h, p.hr FROM ${t.prints} AS p CROSS JOIN ${t.sets} AS v
      WHERE p.code IS NOT NULL AND v.k >= ${k0} AND v.k < ${k0 + np} ${doneCodes.length > 0 ? `AND p.code NOT IN (${doneCodes.join(', ')})` : ''} ${more})`;
  const hits = `atc_hits_${process.pid}_${++seq}`;
  plan.hits = await cache.findExact(conn, wants(), hits, np, withTrades);
  plan.hitTable = hits;
  if (plan.hits.length + doneCodes.length === fp.symbols.length) return plan;
  // else, per set, the longest entry that may be a prefix of the new bars
  const bases = new Map<number, CacheEntry[]>();
  const found = await cache.findBases(conn, wants(`AND p.code NOT IN (SELECT code FROM ${hits})`), withTrades);
  for (const e of found) {
    const es = bases.get(e.code) ?? [];
    es[e.k] = e;
    bases.set(e.code, es);
  }
  for (const [code, es] of bases) {
    const b0 = es[0];
    let ok = b0 !== undefined;
    for (let k = 0; k < np && ok; k++) ok = es[k]?.bars === b0?.bars && es[k]?.lastTs === b0?.lastTs && es[k]?.account.length === ACCT_SIZE;
    if (!ok) bases.delete(code);
  }
  if (bases.size === 0) return plan;
  // The new data must start with exactly the cached bars: one scan reads the rows after them.
  // When every symbol left continues and those rows are few, they are kept for the pass to
  // read (instead of the source again).
  const todo = fp.symbols.length - doneCodes.length - plan.hits.length;
  let tailRows = 0;
  for (const [code, es] of bases) tailRows += (fp.rows[code] as number) - (es[0] as CacheEntry).bars;
  const keep = bases.size === todo && tailRows <= TAIL_ROWS_KEPT && fp.nullSymbolRows === 0;
  const scan = await scanTails(conn, src, fp, new Map([...bases].map(([code, es]) => [code, (es[0] as CacheEntry).lastTs])), keep);
  for (const [code, es] of bases) {
    const p = scan.prefix.get(code);
    const e0 = es[0] as CacheEntry;
    if (!p || p.bars !== e0.bars || p.h !== e0.h || p.hr !== e0.hr || p.firstTs !== e0.firstTs) bases.delete(code);
  }
  const payloads = await cache.readPayloads(conn, [...bases.values()].flat(), withTrades);
  const recordBytes = stateBytes.reduce((a, b) => a + b, 0);
  for (const [code, es] of bases) {
    const pl = es.map((e) => payloads.get(e.key));
    if (!pl.every((x, k) => x !== undefined && x.state.length === stateBytes[k] && (!withTrades || x.trades !== null))) continue;
    const e0 = es[0] as CacheEntry;
    const t: TailStart = {
      bars: e0.bars,
      lastTs: e0.lastTs,
      firstTs: e0.firstTs,
      states: new Uint8Array(recordBytes),
      accounts: new Float64Array(np * ACCT_SIZE),
      alerts: new Uint32Array(np * 2),
      trades: withTrades ? pl.map((x) => x?.trades as Float64Array) : null,
    };
    let at = 0;
    es.forEach((e, k) => {
      t.states.set(pl[k]?.state as Uint8Array, at);
      at += stateBytes[k] as number;
      t.accounts.set(e.account, k * ACCT_SIZE);
      t.alerts[k * 2] = e.alerts[0];
      t.alerts[k * 2 + 1] = e.alerts[1];
    });
    plan.tails.set(code, t);
    plan.bases.push(...es.map((e) => e.key));
  }
  if (scan.table && plan.tails.size === todo) plan.tailTable = scan.table;
  else if (scan.table) await conn.run(`DROP TABLE IF EXISTS ${scan.table}`);
  return plan;
}

/** Log the uses of the plan's entries (hits and bases). */
export async function recordPlanUse(conn: DuckDBConnection, cache: CacheStore, plan: GroupPlan): Promise<void> {
  await withRowsTable(conn, [['key', 'VARCHAR']], plan.bases.map((k) => [k]), (t) =>
    cache.recordUse(conn, `SELECT key FROM ${t}${plan.hitTable ? ` UNION ALL SELECT key FROM ${plan.hitTable}` : ''}`),
  );
}

const SEGMENT_ENTRIES = 2000;

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
    this.bytes += e.state.byteLength + 600 + (e.trades?.byteLength ?? 0);
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
    for (let i = 0; i < b.length; i += SEGMENT_ENTRIES) await this.store.writeSegment(this.conn, this.keys, b.slice(i, i + SEGMENT_ENTRIES));
    this.stored += b.length;
  }
}
