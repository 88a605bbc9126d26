// Cache entries: their columns, their keys, and the lookups a run makes.
//
// An entry is one symbol under one parameter set: key = sha256 of canonical JSON of {the
// symbol's bar fingerprint, the parameter set (profile included; for a strategy other than the
// ATC its name, version and source hash), the kernel version}. It
// holds the symbol's summary and stats values as typed columns (a hit is copied into the run's
// tables by SQL, never decoded row by row), its account and the kernel state after the last
// bar (from which an incremental update continues), and its closed trades when the run that
// stored it computed trades (a run that wants trades uses only such entries).

import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { canonicalSet, type ParamSet } from '../config/grid.js';
import { jsonList, sqlString } from '../data/duckdb.js';
import { KERNEL_VERSION } from '../engine/native.js';
import { type Column, col, opt, STATS_PART } from '../results/schema.js';
import { ATC_TABLES, type StrategyTables, tablesOf } from '../strategies/tables.js';
import type { Strategy } from '../strategies/types.js';
import type { Segments } from './segments.js';

export const CACHE_FORMAT = 'atc-cache/2';

/** Names of the stats part columns in a segment (prefixed: `bars` is also the entry's). */
export const statColumn = (name: string): string => `st_${name}`;

/** Summary columns an entry holds: all but those it has as key columns or derives (timestamps, trend). */
const SUMMARY_DERIVED = new Set(['symbol', 'bars', 'first_ts', 'last_ts', 'trend', 'param_id']);
/** Stats part columns an entry holds (prefixed), all but the symbol and param_id. */
const STATS_KEYS = new Set(['symbol', 'param_id']);
export const STATS_VALUE_COLUMNS: Column[] = STATS_PART.columns.filter((c) => !STATS_KEYS.has(c.name)).map((c) => ({ ...c, name: statColumn(c.name) }));

/** What an entry is: the fields its key hashes, and its fingerprint. */
export const ENTRY_KEY_COLUMNS = [
  col('key', 'VARCHAR', 'sha256 of the canonical key'),
  col('symbol', 'VARCHAR', 'the symbol'),
  col('param_id', 'VARCHAR', 'the parameter set'),
  col('set_sha', 'VARCHAR', 'sha256 of the canonical set'),
  col('kernel', 'VARCHAR', 'kernel version'),
  col('has_trades', 'BOOLEAN', 'closed trades kept'),
  col('bars', 'BIGINT', 'bars'),
  col('first_ts', 'BIGINT', 'first bar (µs)'),
  col('last_ts', 'BIGINT', 'last bar (µs)'),
  col('h', 'VARCHAR', 'fingerprint: sum of row hashes'),
  col('hr', 'VARCHAR', 'fingerprint: position-weighted sum'),
] as const;

/**
 * The summary columns an entry of a strategy's run holds, each with its name in the segment:
 * the ATC's as they are; another strategy's outputs as o_<name> (a user's output may be named
 * like a key column). Segments of different strategies share one folder and are read by name.
 */
export function summaryValueColumns(tables: StrategyTables): { column: Column; segment: string }[] {
  const outputs = new Set(tables.strategy === 'atc' ? [] : tables.planes);
  return tables.summary.columns.filter((c) => !SUMMARY_DERIVED.has(c.name)).map((c) => ({ column: c, segment: outputs.has(c.name) ? `o_${c.name}` : c.name }));
}

/** What an entry of a strategy's run holds. */
export function entryValueColumns(tables: StrategyTables): Column[] {
  return [
    ...summaryValueColumns(tables).map(({ column, segment }) => ({ ...column, name: segment })),
    ...STATS_VALUE_COLUMNS,
    col('account', 'BLOB', 'the account after the last bar (f64)'),
    opt('trades', 'BLOB', 'closed trades (f64 records), when kept'),
    col('state', 'BLOB', 'the kernel state records after the last bar'),
  ];
}
/** The columns of a segment of a strategy's run: one entry per row. */
export const segmentColumns = (tables: StrategyTables): Column[] => [...ENTRY_KEY_COLUMNS, ...entryValueColumns(tables), col('created', 'TIMESTAMP', 'when stored')];
/** The columns of the ATC's segments. */
export const SEGMENT_COLUMNS: Column[] = segmentColumns(ATC_TABLES);

/** A table of entries found in the cache (its `filename` column names their segments), and those segments. */
export interface Found {
  table: string;
  files: string[];
}

/** What a finished (symbol, set) stores. */
export interface EntryInput {
  /** symbol code and parameter set index in the run's keys table */
  code: number;
  k: number;
  /** its summary row and stats part row, as the run writes them (results/schema.ts columns) */
  summary: Readonly<Record<string, unknown>>;
  stats: Readonly<Record<string, unknown>>;
  account: Float64Array;
  /** closed trades (TRADE_RECORD_FIELDS each), when the run computes trades */
  trades: Float64Array | null;
  state: Uint8Array;
}

export const f64 = (b: Uint8Array): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength - (b.byteLength % 8)));
export const bytesOf = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
export const blobBytes = (v: unknown): Uint8Array => (v as { bytes: Uint8Array } | null)?.bytes ?? new Uint8Array(0);

/**
 * A run's fingerprint table (fingerprintSource: code, symbol, bars, first_ts, last_ts, h, hr)
 * and its parameter sets as SQL (k = index in the run, param_id, set_sha = sha256 of the
 * canonical set, head = the canonical JSON of the key up to the data).
 */
export interface KeyTables {
  prints: string;
  sets: string;
  /** the run's strategy's tables (what its entries hold) */
  tables: StrategyTables;
}

/**
 * The canonical JSON a set's entries are keyed by: the ATC's parameters as they always were;
 * another strategy's name, version, source hash (a user module's file) and values.
 */
function canonicalEntrySet(s: ParamSet, strategy: Strategy | undefined): string {
  if (!strategy) return canonicalSet(s.params, s.trade);
  const values = Object.fromEntries(strategy.params.map((p) => [p.name, s.strategy?.values[p.name] ?? null]));
  return JSON.stringify({ strategy: strategy.name, version: strategy.version, source: strategy.sourceHash ?? null, values, mode: s.trade.mode, feeBps: s.trade.feeBps, slippageBps: s.trade.slippageBps });
}

export function keyTables(prints: string, sets: readonly ParamSet[], strategy?: Strategy): KeyTables {
  const rows = sets.map((s, k) => {
    const canon = canonicalEntrySet(s, strategy);
    const head = `{"format":${JSON.stringify(CACHE_FORMAT)},"kernel":${JSON.stringify(KERNEL_VERSION)},"set":${canon},"data":`;
    return `(${k}, ${sqlString(s.id)}, ${sqlString(createHash('sha256').update(canon).digest('hex'))}, ${sqlString(head)})`;
  });
  return { prints, sets: `(SELECT CAST(k AS INTEGER) AS k, param_id, set_sha, head FROM (VALUES ${rows.join(', ')}) AS v(k, param_id, set_sha, head))`, tables: tablesOf(strategy) };
}

/**
 * The entry key of fingerprint row `p` under set row `s` (keyTables): sha256 of the canonical
 * JSON {format, kernel, set, data}, built by DuckDB. A lookup compares the fields it hashes
 * (all stored in the entry) instead of recomputing it.
 */
export function keySql(p: string, s: string): string {
  const num = (c: string) => `coalesce(CAST(${p}.${c} AS VARCHAR), 'null')`;
  // h and hr are decimal integers: no escaping needed
  return `sha256(${s}.head || '{"symbol":' || CAST(to_json(${p}.symbol) AS VARCHAR) || ',"bars":' || ${num('bars')} || ',"first":' || ${num('first_ts')} || ',"last":' || ${num('last_ts')} || ',"h":"' || ${p}.h || '","hr":"' || ${p}.hr || '"}}')`;
}

/** The segments the entries of table `t` (with a `filename` column) are in. */
async function filesOf(conn: DuckDBConnection, t: string): Promise<string[]> {
  return JSON.parse(String((await conn.runAndReadAll(`SELECT ${jsonList('list(DISTINCT filename)')} FROM ${t}`)).getRows()[0]?.[0])) as string[];
}

/**
 * Table `into` (code, k, key, filename): the entries of exactly the bars and sets of `wants`
 * (code, k, symbol, set_sha, bars, first_ts, last_ts, h, hr), every field the key hashes
 * equal (so the key is), one per (code, k), for the codes that have one for each of `np`
 * sets (returned, ascending).
 */
export async function findExact(conn: DuckDBConnection, segs: Segments, wants: string, into: string, np: number, withTrades: boolean): Promise<Found & { codes: number[] }> {
  return segs.query(async (rel) => {
    await conn.run(
      `CREATE OR REPLACE TABLE ${into} AS SELECT w.code, w.k, s.key, min(s.filename) AS filename FROM ${rel} AS s JOIN ${wants} AS w
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
export async function findBases(conn: DuckDBConnection, segs: Segments, wants: string, into: string, withTrades: boolean, tables: StrategyTables = ATC_TABLES): Promise<Found> {
  // only the ATC counts alerts
  const alerts = tables.strategy === 'atc' ? 's.long_alerts, s.short_alerts' : 'CAST(0 AS INTEGER) AS long_alerts, CAST(0 AS INTEGER) AS short_alerts';
  return segs.query(async (rel) => {
    await conn.run(
      `CREATE OR REPLACE TABLE ${into} AS
       SELECT w.code, w.k, s.key, s.bars, s.first_ts, s.last_ts, s.h, s.hr, ${alerts}, s.account, s.filename
       FROM ${rel} AS s JOIN ${wants} AS w ON s.symbol = w.symbol AND s.set_sha = w.set_sha
       WHERE s.kernel = ${sqlString(KERNEL_VERSION)} ${withTrades ? 'AND s.has_trades' : ''}
         AND s.bars < w.bars AND s.last_ts < w.last_ts AND s.first_ts = w.first_ts
       QUALIFY row_number() OVER (PARTITION BY w.code, w.k ORDER BY s.bars DESC, s.filename) = 1`,
    );
    return { table: into, files: await filesOf(conn, into) };
  });
}

/**
 * Per entry of `found` (`e`: key, filename, ...): the columns `cols` (alias -> SQL over `e` or
 * the entry `s`), its kernel `state` and (`withTrades`) `trades`, as row objects in the order
 * `orderBy`. Rows whose segment fails are left out (and the segment dropped).
 */
export async function readPayloads(conn: DuckDBConnection, segs: Segments, found: Found, cols: Record<string, string>, orderBy: string, withTrades: boolean): Promise<Record<string, unknown>[]> {
  const bad = new Set(await segs.verify(found.files));
  const good = found.files.filter((f) => !bad.has(f));
  if (good.length === 0) return [];
  const select = Object.entries(cols).map(([alias, sql]) => `${sql} AS "${alias}"`);
  return (
    await conn.runAndReadAll(
      `SELECT ${select.join(', ')}, s.state AS state, ${withTrades ? 's.trades' : 'NULL'} AS trades
       FROM ${segs.sql(good)} AS s JOIN ${found.table} AS e ON s.key = e.key AND s.filename = e.filename ORDER BY ${orderBy}`,
    )
  ).getRowObjects();
}
