// What the result cache does for a run: fingerprints of the source, then per group of parameter
// sets the symbols it answers (hits), those it continues over new bars (tails), and the
// entries it stores as symbols finish; and the run report's account of it.

import type { DuckDBConnection } from '@duckdb/node-api';
import { keyTables, type KeyTables } from '../cache/entries.js';
import { type Fingerprints, fingerprintSource } from '../cache/fingerprint.js';
import { type GroupPlan, planGroup, recordPlanUse } from '../cache/plan.js';
import type { CacheStore } from '../cache/store.js';
import { CacheWriter } from '../cache/writer.js';
import type { ParamSet } from '../config/grid.js';
import type { SourceIndex } from '../data/bars-reader.js';
import type { BarSource } from '../data/source.js';
import type { Dispatcher } from '../stages/execute/index.js';
import type { ResultsPersister } from '../stages/persist/results.js';
import type { Strategy } from '../strategies/types.js';

/** What the cache did, in (symbol, parameter set) entries. */
export interface CacheReport {
  dir: string;
  /** results taken from the cache */
  hits: number;
  /** continued from a cached state over new bars only */
  incremental: number;
  /** computed from the first bar */
  computed: number;
  /** entries written */
  stored: number;
  /** corrupt segments found and dropped */
  dropped: number;
  /** the per-symbol fingerprints came from the memo (the data was not read to make them) */
  memo: boolean;
  /** source files read to fingerprint them (the others' fingerprints came from the memo) */
  filesScanned: number;
  /** why results were not taken from the cache, if they were not */
  note?: string;
  /** seconds spent fingerprinting the source and looking entries up */
  fingerprintSeconds: number;
  lookupSeconds: number;
}

/** One group's cache plan applied: symbols continued from the cache, and the rows to read instead of the source. */
export interface GroupStart {
  continueFrom: Map<number, { bars: number; lastTs: number }>;
  /** a table of the continued symbols' new rows (read instead of the source), if kept */
  tailTable?: string;
}

export class CachePhase {
  readonly report: CacheReport;
  private readonly plans: GroupPlan[] = [];

  private constructor(
    private readonly store: CacheStore,
    private readonly conn: DuckDBConnection,
    private readonly src: BarSource,
    private readonly prints: Fingerprints,
    private readonly keys: KeyTables,
    /** per-bar outputs are not cached: such runs compute every symbol (and still store entries) */
    private readonly serve: boolean,
    readonly writer: CacheWriter,
    fingerprintSeconds: number,
  ) {
    this.report = { dir: store.dir, hits: 0, incremental: 0, computed: 0, stored: 0, dropped: 0, memo: prints.memo, filesScanned: prints.scanned, fingerprintSeconds, lookupSeconds: 0 };
    if (!serve) this.report.note = 'signals and portfolio outputs are computed in full (the cache holds per-symbol results only)';
  }

  /** Fingerprint the source (its index comes with it) for a cache opened (shared) by the run; the phase closes it. */
  static async open(o: { store: CacheStore; conn: DuckDBConnection; src: BarSource; sets: readonly ParamSet[]; serve: boolean; strategy?: Strategy | undefined }): Promise<CachePhase> {
    const { store } = o;
    try {
      const t0 = performance.now();
      // a strategy's entries are keyed by every column it reads
      const columns = (o.strategy?.inputs ?? []).map((c) => c.name).filter((n) => n !== 'close');
      const prints = await fingerprintSource(o.conn, o.src, store.sources, columns);
      const keys = keyTables(prints.table, o.sets, o.strategy);
      return new CachePhase(store, o.conn, o.src, prints, keys, o.serve, new CacheWriter(store, o.conn, keys), (performance.now() - t0) / 1000);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  get index(): SourceIndex {
    return this.prints;
  }

  /**
   * Plan group `g` (its sets start at `k0` in the run): commit or register its hits through the
   * persister, mark them done, seed the continued symbols; returns where the pass starts.
   */
  async startGroup(
    g: { k0: number; sets: ParamSet[]; stateBytes: number[]; done: Uint8Array; trades: boolean },
    persister: ResultsPersister,
    onHits: (symbols: number, bars: number) => void,
  ): Promise<GroupStart & { dispatch: (d: Dispatcher) => void }> {
    const start: GroupStart = { continueFrom: new Map() };
    const none = { ...start, dispatch: () => undefined };
    if (!this.serve) return none;
    const t0 = performance.now();
    const plan = await planGroup(this.conn, this.store, this.src, this.prints, this.keys, g.k0, g.sets, g.stateBytes, g.done, g.trades);
    this.report.lookupSeconds += (performance.now() - t0) / 1000;
    this.plans.push(plan);
    const { symbols, rows } = this.prints;
    if (plan.hitEntries) {
      let bars = 0;
      for (const code of plan.hits) bars += rows[code] as number;
      const committed = await persister.persistCached(plan.hitEntries, plan.hits.map((code) => symbols[code] as string), bars);
      if (!committed) onHits(plan.hits.length, bars);
    }
    for (const code of plan.hits) g.done[code] = 1;
    for (const [code, t] of plan.tails) {
      persister.seed(symbols[code] as string, t);
      start.continueFrom.set(code, { bars: t.bars, lastTs: t.lastTs });
    }
    const np = g.sets.length;
    let todo = 0;
    g.done.forEach((d) => (todo += d ? 0 : 1));
    this.report.hits += plan.hits.length * np;
    this.report.incremental += plan.tails.size * np;
    this.report.computed += (todo - plan.tails.size) * np;
    return {
      ...start,
      ...(plan.tailTable ? { tailTable: plan.tailTable } : {}),
      dispatch: (d) => {
        for (const [code, t] of plan.tails) d.seed(symbols[code] as string, t.states, t.accounts);
      },
    };
  }

  /** After the passes: entries written, corrupt segments dropped, uses recorded. */
  async finish(): Promise<void> {
    await this.writer.flush();
    this.report.stored = this.writer.stored;
    this.report.dropped = this.store.segments.dropped.length;
    for (const plan of this.plans) await recordPlanUse(this.conn, this.store, plan);
  }

  close(): void {
    this.store.close();
  }
}
