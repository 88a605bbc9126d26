// What the cache does for one group of parameter sets over one source: per symbol, either
//   hit   every set has an entry for exactly these bars: its results come from the cache
//   tail  every set has an entry for the symbol's first bars (same count, same last ts, and
//         the new data's fingerprint up to that ts equals the entry's): the kernel continues
//         from the cached states and accounts over the new bars only
//   full  anything else: computed from the first bar
// and, for the symbols computed, the entries to store when they finish.

import type { DuckDBConnection } from '@duckdb/node-api';
import { ACCT_SIZE } from '../backtest/accounting.js';
import type { ParamSet } from '../config/grid.js';
import type { BarSource } from '../data/source.js';
import { LAST_FIELDS } from '../engine/batch.js';
import { blobBytes, f64, findBases, findExact, type Found, type KeyTables, readPayloads, summaryValueColumns } from './entries.js';
import { type Fingerprints, scanTails } from './fingerprint.js';
import type { CacheStore } from './store.js';
import { recordUse } from './writer.js';

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
  /** per set: cached closed trades (TRADE_RECORD_FIELDS each), when the run computes trades */
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
  if (doneCodes.length === fp.symbols.length || cache.segments.files().length === 0) return plan;
  const wants = (more = '') =>
    `(SELECT p.code, v.k - ${k0} AS k, p.symbol, v.set_sha, p.bars, p.first_ts, p.last_ts, p.h, p.hr FROM ${t.prints} AS p CROSS JOIN ${t.sets} AS v
      WHERE p.code IS NOT NULL AND v.k >= ${k0} AND v.k < ${k0 + np} ${doneCodes.length > 0 ? `AND p.code NOT IN (${doneCodes.join(', ')})` : ''} ${more})`;
  const hits = `atc_hits_${process.pid}_${++seq}`;
  const exact = await findExact(conn, cache.segments, wants(), hits, np, withTrades);
  plan.hits = exact.codes;
  plan.hitEntries = exact;
  if (plan.hits.length + doneCodes.length === fp.symbols.length) return plan;
  // else, per set, the longest entry that may be a prefix of the new bars: a symbol continues
  // when every set has one, all of the same bars
  const bases = `atc_bases_${process.pid}_${seq}`;
  const found = await findBases(conn, cache.segments, wants(`AND p.code NOT IN (SELECT code FROM ${hits})`), bases, withTrades, t.tables);
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
  const cols: Record<string, string> = { code: 'e.code', k: 'e.k', bars: 'e.bars', first_ts: 'e.first_ts', last_ts: 'e.last_ts', long_alerts: 'e.long_alerts', short_alerts: 'e.short_alerts', account: 'e.account', last_close: 's.last_close' };
  // the summary's last values, by their column in the segment
  const segmentOf = new Map(summaryValueColumns(t.tables).map(({ column, segment }) => [column.name, segment]));
  const lastValues = t.tables.summaryLast;
  lastValues.forEach(({ name }, i) => (cols[`v${i}`] = `s."${segmentOf.get(name) ?? name}"`));
  const rows = await readPayloads(conn, cache.segments, found, cols, 'e.code, e.k', withTrades);
  const recordBytes = stateBytes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < rows.length; ) {
    const code = Number(rows[i]?.code);
    let j = i;
    while (j < rows.length && Number(rows[j]?.code) === code) j++;
    const group = rows.slice(i, j);
    i = j;
    // all sets, each with its state (a segment dropped on reading leaves a symbol without)
    if (group.length !== np || !group.every((r, k) => Number(r.k) === k && blobBytes(r.state).length === stateBytes[k] && (!withTrades || r.trades !== null))) continue;
    const r0 = group[0] as Record<string, unknown>;
    const ts: TailStart = {
      bars: Number(r0.bars),
      firstTs: Number(r0.first_ts),
      lastTs: Number(r0.last_ts),
      states: new Uint8Array(recordBytes),
      accounts: new Float64Array(np * ACCT_SIZE),
      alerts: new Uint32Array(np * 2),
      trades: withTrades ? group.map((r) => f64(blobBytes(r.trades))) : null,
      lastClose: Number(r0.last_close),
      last: new Float64Array(np * LAST_FIELDS).fill(NaN),
    };
    let at = 0;
    group.forEach((r, k) => {
      ts.states.set(blobBytes(r.state), at);
      // the summary's values, as the kernel lays them out (NULL: NaN; direction NULL: 0)
      lastValues.forEach(({ name, index }, i) => {
        const v = r[`v${i}`];
        ts.last[k * LAST_FIELDS + index] = v === null ? (name === 'direction' ? 0 : NaN) : Number(v);
      });
      at += stateBytes[k] as number;
      ts.accounts.set(f64(blobBytes(r.account)), k * ACCT_SIZE);
      ts.alerts[k * 2] = Number(r.long_alerts);
      ts.alerts[k * 2 + 1] = Number(r.short_alerts);
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
  if (used.length > 0) await recordUse(conn, cache, used.join(' UNION ALL '));
}
