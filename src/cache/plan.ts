// What the cache does for one group of parameter sets over one source: per symbol, either
//   hit   every set has an entry for exactly these bars: its results come from the cache
//   tail  every set has an entry for the symbol's first bars (same count, same last ts, and
//         the new data's fingerprint up to that ts equals the entry's): the kernel continues
//         from the cached states and accounts over the new bars only
//   full  anything else: computed from the first bar
// and, for the symbols computed, the entries to store when they finish.

import { ACCT_SIZE } from '../backtest/accounting.js';
import { LAST_FIELDS } from '../engine/job.js';
import { SUMMARY_COLUMNS } from '../results/schema.js';
import type { ParamSet } from '../config/grid.js';
import type { BarSource } from '../data/source.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { blobBytes, type CacheStore, type EntryInput, f64, type Found, type KeyTables } from './store.js';
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
  /** the close and, per set, the outputs (LAST_FIELDS; those a summary shows) at the last cached bar */
  lastClose: number;
  last: Float64Array;
}

export interface GroupPlan {
  /** symbol codes answered by the cache, ascending */
  hits: number[];
  /** the hits' entries: a table (code, k, key, filename; k: the set's index in the group) */
  hitEntries?: Found;
  tails: Map<number, TailStart>;
  /** when every symbol left continues from a tail: a table of their new rows (see scanTails) */
  tailTable?: string;
  /** the entries the tails continue from (and some that turned out not to: their states are
   *  not taken): a table (code, k, key, filename, ...) */
  baseEntries?: Found;
}

/** The signal columns of a summary (Average_Signal and the six MA signals), as an entry holds them. */
const SIGNAL_COLUMNS = SUMMARY_COLUMNS.slice(5, 12).map(([n]) => n);

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
  const plan: GroupPlan = { hits: [], tails: new Map() };
  const np = sets.length;
  const doneCodes: number[] = [];
  done.forEach((d, code) => d && doneCodes.push(code));
  if (doneCodes.length === fp.symbols.length || cache.segmentFiles().length === 0) return plan;
  const wants = (more = '') =>
    `(SELECT p.code, v.k - ${k0} AS k, p.symbol, v.set_sha, p.bars, p.first_ts, p.last_ts, p.h, p.hr FROM ${t.prints} AS p CROSS JOIN ${t.sets} AS v
      WHERE p.code IS NOT NULL AND v.k >= ${k0} AND v.k < ${k0 + np} ${doneCodes.length > 0 ? `AND p.code NOT IN (${doneCodes.join(', ')})` : ''} ${more})`;
  const hits = `atc_hits_${process.pid}_${++seq}`;
  const exact = await cache.findExact(conn, wants(), hits, np, withTrades);
  plan.hits = exact.codes;
  plan.hitEntries = exact;
  if (plan.hits.length + doneCodes.length === fp.symbols.length) return plan;
  // else, per set, the longest entry that may be a prefix of the new bars: a symbol continues
  // when every set has one, all of the same bars
  const bases = `atc_bases_${process.pid}_${seq}`;
  const found = await cache.findBases(conn, wants(`AND p.code NOT IN (SELECT code FROM ${hits})`), bases, withTrades);
  plan.baseEntries = found;
  await conn.run(
    `DELETE FROM ${bases} WHERE code IN (SELECT code FROM ${bases} GROUP BY code
       HAVING count(*) < ${np} OR min(bars) < max(bars) OR min(last_ts) < max(last_ts) OR min(octet_length(account)) < ${ACCT_SIZE * 8} OR max(octet_length(account)) > ${ACCT_SIZE * 8})`,
  );
  const [nBases, from, tailRows] = (
    await conn.runAndReadAll(`SELECT count(*), min(b.last_ts), coalesce(sum(p.bars - b.bars), 0) FROM ${bases} AS b JOIN ${t.prints} AS p USING (code) WHERE b.k = 0`)
  ).getRows()[0] as unknown[];
  if (Number(nBases) === 0) return plan;
  // The new data must start with exactly the cached bars: one scan reads the rows after them.
  // When every symbol left continues and those rows are few, they are kept for the pass to
  // read (instead of the source again).
  const todo = fp.symbols.length - doneCodes.length - plan.hits.length;
  const keep = Number(nBases) === todo && Number(tailRows) <= TAIL_ROWS_KEPT && fp.nullSymbolRows === 0;
  const scan = await scanTails(conn, src, fp, `(SELECT code, last_ts AS upto FROM ${bases} WHERE k = 0)`, Number(from), keep);
  try {
    await conn.run(
      `DELETE FROM ${bases} WHERE code NOT IN (SELECT b.code FROM ${bases} AS b JOIN ${scan.prefix} AS p USING (code)
         WHERE b.k = 0 AND p.bars = b.bars AND p.first_ts = b.first_ts AND p.h = b.h AND p.hr = b.hr)`,
    );
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${scan.prefix}`);
  }
  const rows = await cache.readPayloads(conn, found, ['e.code', 'e.k', 'e.bars', 'e.first_ts', 'e.last_ts', 'e.long_alerts', 'e.short_alerts', 'e.account', 's.last_close', ...SIGNAL_COLUMNS.map((c) => `s."${c}"`), 's.direction'], 'e.code, e.k', withTrades);
  const P = 10 + SIGNAL_COLUMNS.length; // where the state (then the trades) is in a row
  const recordBytes = stateBytes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < rows.length; ) {
    const code = Number(rows[i]?.[0]);
    let j = i;
    while (j < rows.length && Number(rows[j]?.[0]) === code) j++;
    const group = rows.slice(i, j);
    i = j;
    // all sets, each with its state (a segment dropped on reading leaves a symbol without)
    if (group.length !== np || !group.every((r, k) => Number(r[1]) === k && blobBytes(r[P]).length === stateBytes[k] && (!withTrades || r[P + 1] !== null))) continue;
    const r0 = group[0] as unknown[];
    const ts: TailStart = {
      bars: Number(r0[2]),
      firstTs: Number(r0[3]),
      lastTs: Number(r0[4]),
      states: new Uint8Array(recordBytes),
      accounts: new Float64Array(np * ACCT_SIZE),
      alerts: new Uint32Array(np * 2),
      trades: withTrades ? group.map((r) => f64(blobBytes(r[P + 1]))) : null,
      lastClose: Number(r0[8]),
      last: new Float64Array(np * LAST_FIELDS).fill(NaN),
    };
    let at = 0;
    group.forEach((r, k) => {
      ts.states.set(blobBytes(r[P]), at);
      // the summary's columns, as the kernel lays them out (NULL: NaN; direction NULL: 0)
      SIGNAL_COLUMNS.forEach((_, j) => (ts.last[k * LAST_FIELDS + j] = r[9 + j] === null ? NaN : Number(r[9 + j])));
      ts.last[k * LAST_FIELDS + LAST_FIELDS - 1] = r[P - 1] === null ? 0 : Number(r[P - 1]);
      at += stateBytes[k] as number;
      ts.accounts.set(f64(blobBytes(r[7])), k * ACCT_SIZE);
      ts.alerts[k * 2] = Number(r[5]);
      ts.alerts[k * 2 + 1] = Number(r[6]);
    });
    plan.tails.set(code, ts);
  }
  if (scan.rows && plan.tails.size === todo) plan.tailTable = scan.rows;
  else if (scan.rows) await conn.run(`DROP TABLE IF EXISTS ${scan.rows}`);
  return plan;
}

/** Log the uses of the plan's entries (hits and bases). */
export async function recordPlanUse(conn: DuckDBConnection, cache: CacheStore, plan: GroupPlan): Promise<void> {
  const used = [plan.hitEntries, plan.baseEntries].filter((f) => f !== undefined).map((f) => `SELECT key FROM ${f.table}`);
  if (used.length > 0) await cache.recordUse(conn, used.join(' UNION ALL '));
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
      await this.store.writeSegment(this.conn, this.keys, b.slice(i, j));
      i = j;
    }
    this.stored += b.length;
  }
}
