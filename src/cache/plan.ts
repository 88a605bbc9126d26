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
import { type CacheEntry, type CacheStore, entryChecksum, entryKey, sha256 } from './store.js';
import { type Fingerprints, prefixPrints, type SymbolPrint } from './fingerprint.js';
import { KERNEL_VERSION } from '../engine/native.js';

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
  /** per set: cached closed trades (CACHED_TRADE_FIELDS each) */
  trades: Float64Array[];
}

export interface GroupPlan {
  /** per symbol code: the entry key of each set */
  keys: string[][];
  /** symbol codes answered by the cache, with their entries (one per set) */
  hits: Map<number, CacheEntry[]>;
  tails: Map<number, TailStart>;
  /** entries used (hits and bases), for the usage log */
  used: string[];
}

export async function planGroup(
  conn: DuckDBConnection,
  cache: CacheStore,
  src: BarSource,
  fp: Fingerprints,
  sets: ParamSet[],
  stateBytes: number[],
  /** per symbol code: 1 when already committed by an earlier run into the same --out */
  done: Uint8Array,
  /** look entries up (false: only compute keys, to store entries) */
  serve: boolean,
): Promise<GroupPlan> {
  const keys = fp.symbols.map((s, c) => sets.map((set) => entryKey(s, fp.prints[c] as SymbolPrint, set)));
  const plan: GroupPlan = { keys, hits: new Map(), tails: new Map(), used: [] };
  if (!serve) return plan;
  const wants: { symbol: string; paramId: string; key: string; print: SymbolPrint; code: number }[] = [];
  fp.symbols.forEach((symbol, code) => {
    if (done[code]) return;
    sets.forEach((set, k) => wants.push({ symbol, paramId: set.id, key: keys[code]?.[k] as string, print: fp.prints[code] as SymbolPrint, code }));
  });
  const found = await cache.lookup(conn, wants);
  const np = sets.length;
  const bases = new Map<number, CacheEntry[]>();
  for (let w = 0; w < wants.length; w += np) {
    const code = (wants[w] as { code: number }).code;
    const res = found.slice(w, w + np);
    if (res.every((r) => r.hit)) {
      plan.hits.set(code, res.map((r) => r.hit as CacheEntry));
      continue;
    }
    const b = res.map((r) => r.base);
    const b0 = b[0];
    if (b0 && b.every((e) => e && e.bars === b0.bars && e.lastTs === b0.lastTs)) bases.set(code, b as CacheEntry[]);
  }
  if (bases.size === 0) return finish(plan);
  // The new data must start with exactly the cached bars.
  const prefix = await prefixPrints(conn, src, new Map([...bases].map(([code, es]) => [fp.symbols[code] as string, (es[0] as CacheEntry).lastTs])));
  for (const [code, es] of bases) {
    const p = prefix.get(fp.symbols[code] as string);
    const e0 = es[0] as CacheEntry;
    if (!p || p.bars !== e0.bars || p.h !== e0.h || p.hr !== e0.hr || p.firstTs !== e0.firstTs || p.lastTs !== e0.lastTs) bases.delete(code);
  }
  const states = await cache.readStates(conn, [...bases.values()].flat());
  const recordBytes = stateBytes.reduce((a, b) => a + b, 0);
  for (const [code, es] of bases) {
    if (!es.every((e, k) => states.get(e.key)?.length === stateBytes[k])) continue;
    const t: TailStart = {
      bars: (es[0] as CacheEntry).bars,
      lastTs: (es[0] as CacheEntry).lastTs,
      firstTs: (es[0] as CacheEntry).firstTs,
      states: new Uint8Array(recordBytes),
      accounts: new Float64Array(np * ACCT_SIZE),
      alerts: new Uint32Array(np * 2),
      trades: es.map((e) => e.trades),
    };
    let at = 0;
    es.forEach((e, k) => {
      t.states.set(states.get(e.key) as Uint8Array, at);
      at += stateBytes[k] as number;
      t.accounts.set(e.account, k * ACCT_SIZE);
      t.alerts[k * 2] = e.alerts[0];
      t.alerts[k * 2 + 1] = e.alerts[1];
    });
    plan.tails.set(code, t);
    plan.used.push(...es.map((e) => e.key));
  }
  return finish(plan);
}

function finish(plan: GroupPlan): GroupPlan {
  for (const es of plan.hits.values()) plan.used.push(...es.map((e) => e.key));
  return plan;
}

/** Everything an entry needs besides what the run computes anyway. */
export interface EntryInput {
  key: string;
  symbol: string;
  paramId: string;
  print: SymbolPrint;
  lastClose: number;
  alerts: [number, number];
  last: Float64Array;
  account: Float64Array;
  trades: Float64Array;
  state: Uint8Array;
}

const SEGMENT_ENTRIES = 1000;

/** Buffers finished entries and writes them as segments (a kill loses at most the buffer). */
export class CacheWriter {
  private buf: { entry: Omit<CacheEntry, 'file'>; state: Uint8Array }[] = [];
  private bytes = 0;
  private last = Date.now();
  stored = 0;

  constructor(
    readonly store: CacheStore,
    private readonly conn: DuckDBConnection,
    private readonly flushMs = 10_000,
  ) {}

  add(i: EntryInput): void {
    const base = {
      key: i.key,
      symbol: i.symbol,
      paramId: i.paramId,
      kernel: KERNEL_VERSION,
      bars: i.print.bars,
      firstTs: i.print.firstTs,
      lastTs: i.print.lastTs,
      lastClose: i.lastClose,
      h: i.print.h,
      hr: i.print.hr,
      alerts: i.alerts,
      last: i.last,
      account: i.account,
      trades: i.trades,
      stateSha: sha256(i.state),
    };
    this.buf.push({ entry: { ...base, checksum: entryChecksum(base) }, state: i.state });
    this.bytes += i.state.byteLength + 400 + i.trades.byteLength;
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
    for (let i = 0; i < b.length; i += SEGMENT_ENTRIES) await this.store.writeSegment(this.conn, b.slice(i, i + SEGMENT_ENTRIES));
    this.stored += b.length;
  }
}
