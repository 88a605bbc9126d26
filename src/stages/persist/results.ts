// Persist stage for one group of parameter sets: a finished batch -> its parts (signals,
// summary, stats, trades rows; portfolio partial sums) -> committed to the run directory.
//
// A symbol cut into blocks commits with its last block (pending.ts); commits happen per batch,
// or at checkpoints with a portfolio (checkpoints.ts). Finished symbols are also stored in the
// cache when the run has one.

import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACCT_SIZE, TRADE, TRADE_FIELDS, tradeOfRecord } from '../../backtest/accounting.js';
import type { Found } from '../../cache/entries.js';
import type { TailStart } from '../../cache/plan.js';
import type { CacheWriter } from '../../cache/writer.js';
import type { ParamSet } from '../../config/grid.js';
import { type Row, writeRows } from '../../data/rows-writer.js';
import { LAST_FIELDS } from '../../engine/batch.js';
import type { KernelResult } from '../../pool/task.js';
import type { RunDir } from '../../results/run-dir.js';
import { type Column, REJECTS, STATS_PART, TRADES } from '../../results/schema.js';
import { ATC_TABLES, type StrategyTables } from '../../strategies/tables.js';
import type { Batch } from '../load/index.js';
import { cachedRowsSql, commitCachedWithTrades } from './cached.js';
import { Checkpoints } from './checkpoints.js';
import { type Pending, PendingSymbols, type TempFile } from './pending.js';
import { openTradeRow, rejectRow, statsRow, summaryRow, tradeRecordRows, tradeRow } from './rows.js';

/** Where per-bar outputs of a batch go (a Parquet part, or a stream of Arrow batches). */
export interface SignalsSink {
  /** Write the batch's per-bar outputs to `file` (a new part). */
  write(file: string, batch: Batch, paramId: string, capital: number): Promise<void>;
}

/** Storing finished symbols in the cache. */
export interface PersistCache {
  writer: CacheWriter;
  /** the index of the group's first set in the run's keys table */
  k0: number;
  /** state bytes of each set's record (a series' record is their concatenation) */
  stateBytes: number[];
}

export interface PersistOptions {
  rd: RunDir;
  conn: DuckDBConnection;
  group: number;
  sets: ParamSet[];
  signals?: SignalsSink | undefined;
  trades: boolean;
  portfolio: boolean;
  /** write stats parts (the stats and portfolio outputs read them; a run without either skips
   *  a part per chunk: the run's key holds its outputs, so a resume never lacks them) */
  stats: boolean;
  /** record rejects (the first pass over the data only: later passes see the same rows) */
  rejects: boolean;
  minSignal: number;
  capital: number;
  /** the strategy's signals, summary and params tables (default the ATC's) */
  tables?: StrategyTables | undefined;
  /** with a portfolio: commit at most this often */
  checkpointMs: number;
  onCommit: (symbols: number, bars: number) => void;
  cache?: PersistCache | undefined;
}

export class ResultsPersister {
  private readonly pending: PendingSymbols;
  private readonly checkpoints: Checkpoints;
  private heldRejects: TempFile[] = [];
  private heldRejectCount = 0;
  /** symbols with a dropped row or a fault: not stored in the cache (their rejects would be lost) */
  private readonly faulty = new Set<string>();
  private readonly recordBytes: number | undefined;
  /** SQL of the summary and stats rows answered by the cache and not committed (see persistCached) */
  readonly cachedRows: { summary: string[]; stats: string[] } = { summary: [], stats: [] };

  constructor(private readonly o: PersistOptions) {
    this.pending = new PendingSymbols(o.sets.length);
    this.checkpoints = new Checkpoints(o);
    this.recordBytes = o.cache?.stateBytes.reduce((a, b) => a + b, 0);
  }

  private partName(batch: Batch): string {
    const first = batch.series[0];
    // Named by content (first symbol and bar, group): unique across resumed runs. A batch of
    // rejected rows only has no such name, so it gets a random one.
    return first
      ? `part-${String(first.code).padStart(7, '0')}-${String(first.barStart).padStart(12, '0')}-g${this.o.group}.parquet`
      : `part-rejects-${randomUUID().slice(0, 13)}.parquet`;
  }

  /** `symbol` continues from cached bars: its first ts, alerts and closed trades so far. */
  seed(symbol: string, t: TailStart): void {
    const emit = this.o.trades && t.trades ? t.trades.flatMap((a, k) => tradeRecordRows(symbol, (this.o.sets[k] as ParamSet).id, a)) : [];
    this.pending.seed(symbol, t, emit);
  }

  /**
   * The results of symbols answered by the cache (`hits`, cache/plan.ts). Without trades they
   * are SQL that finalize reads; with trades they are written and committed here. Returns
   * whether it committed.
   */
  async persistCached(hits: Found, symbols: string[], bars: number): Promise<boolean> {
    if (symbols.length === 0) return false;
    const store = this.o.cache?.writer.store;
    if (!store) throw new Error('persistCached: the persister has no cache');
    const sql = cachedRowsSql(store, hits, this.o.minSignal, this.o.tables);
    if (!this.o.trades) {
      this.cachedRows.summary.push(sql.summary);
      this.cachedRows.stats.push(sql.stats);
      return false;
    }
    await commitCachedWithTrades({ ...this.o, store, nSets: this.o.sets.length }, sql, hits, symbols, bars);
    this.o.onCommit(symbols.length, bars);
    return true;
  }

  async persist(batch: Batch, r: KernelResult): Promise<void> {
    const { rd, conn, sets } = this.o;
    const np = sets.length;
    const name = this.partName(batch);
    const files: TempFile[] = [];
    const table = async (dir: Parameters<RunDir['tempFile']>[0], cols: readonly Column[], rows: readonly Row[]): Promise<void> => {
      if (rows.length === 0) return;
      const f = rd.tempFile(dir, name);
      await writeRows(conn, cols, rows, f.temp);
      files.push(f);
    };
    if (this.o.signals && batch.series.length > 0) {
      const f = rd.tempFile('signals', name);
      await this.o.signals.write(f.temp, batch, (sets[0] as ParamSet).id, this.o.capital);
      files.push(f);
    }
    for (const rj of batch.rejects) if (rj.symbol !== null) this.faulty.add(rj.symbol);
    const rejects = this.o.rejects ? batch.rejects : [];
    await table('rejects', REJECTS.columns, rejects.map(rejectRow));
    for (const sym of batch.aborted) {
      const p = this.pending.take(sym);
      if (p) {
        rd.discard(p.files.filter((f) => !f.final.startsWith('rejects/')));
        this.heldRejects.push(...p.files.filter((f) => f.final.startsWith('rejects/')));
      }
    }

    const summary: Row[] = [];
    const stats: Row[] = [];
    const trades: Row[] = [];
    const completed: string[] = [];
    let bars = 0;
    let open: Pending | undefined;
    // closed trades per series and set (records of TRADE_RECORD_FIELDS), for the cache
    const closedOf = new Map<number, number[]>();
    if (r.trades) {
      const t = r.trades;
      for (let i = 0; i < t.length; i += TRADE_FIELDS) {
        const s = batch.series[t[i + TRADE.series] as number];
        if (!s) continue;
        const set = t[i + TRADE.set] as number;
        const record = t.subarray(i + TRADE.side, i + TRADE_FIELDS);
        if (this.o.trades) trades.push(tradeRow(s.symbol, (sets[set] as ParamSet).id, tradeOfRecord(record)));
        if (this.o.cache) {
          const at = (t[i + TRADE.series] as number) * np + set;
          const list = closedOf.get(at) ?? [];
          list.push(...record);
          closedOf.set(at, list);
        }
      }
    }
    batch.series.forEach((s, i) => {
      const alerts = r.alerts.subarray(i * np * 2, (i + 1) * np * 2);
      if (!s.last) {
        open = this.pending.block(s.symbol, batch.slot.ts[s.start] as number, s.length, alerts, (k) => closedOf.get(i * np + k) ?? []);
        return;
      }
      const p = this.pending.take(s.symbol);
      // a commit counts the bars of the symbols it completes (earlier blocks included)
      bars += s.length + (p?.bars ?? 0);
      if (p) {
        files.push(...p.files);
        this.checkpoints.addPortfolio(p.portfolio);
      }
      // no new bar: a symbol continued from the cache whose new rows were all dropped
      const same = s.length === 0 ? p?.cached : undefined;
      if (s.length === 0 && !same) throw new Error(`internal: ${s.symbol} ends with an empty block`);
      const firstTs = p?.firstTs ?? (batch.slot.ts[s.start] as number);
      const lastTs = same ? same.lastTs : (batch.slot.ts[s.start + s.length - 1] as number);
      const lastClose = same ? same.lastClose : (batch.slot.closes[s.start + s.length - 1] as number);
      if (p) trades.push(...p.emit);
      const cache = this.o.cache && !this.faulty.has(s.symbol) ? this.o.cache : undefined;
      let stateAt = i * (this.recordBytes ?? 0);
      sets.forEach((set, k) => {
        const at = same ? k : i * np + k;
        const last = (same?.last ?? r.last).subarray(at * LAST_FIELDS, (at + 1) * LAST_FIELDS);
        const acct = (same?.accounts ?? r.accounts).subarray(at * ACCT_SIZE, (at + 1) * ACCT_SIZE);
        const longAlerts = (alerts[k * 2] as number) + (p ? (p.alerts[k * 2] as number) : 0);
        const shortAlerts = (alerts[k * 2 + 1] as number) + (p ? (p.alerts[k * 2 + 1] as number) : 0);
        const sRow = summaryRow({ symbol: s.symbol, paramId: set.id, bars: s.barStart + s.length, firstTs, lastTs, lastClose, last, longAlerts, shortAlerts }, this.o.minSignal, this.o.tables ?? ATC_TABLES);
        const stRow = statsRow(s.symbol, set.id, acct);
        summary.push(sRow);
        stats.push(stRow);
        const openRow = this.o.trades ? openTradeRow(s.symbol, set.id, acct) : undefined;
        if (openRow) trades.push(openRow);
        if (cache && r.states) {
          cache.writer.add({
            code: s.code,
            k: cache.k0 + k,
            summary: sRow,
            stats: stRow,
            account: Float64Array.from(acct),
            trades: this.o.trades ? Float64Array.from([...(p?.closed[k] ?? []), ...(closedOf.get(i * np + k) ?? [])]) : null,
            state: r.states.slice(stateAt, stateAt + (cache.stateBytes[k] as number)),
          });
        }
        stateAt += cache?.stateBytes[k] ?? 0;
      });
      this.faulty.delete(s.symbol);
      completed.push(s.symbol);
    });
    await table('parts/summary', (this.o.tables ?? ATC_TABLES).summary.columns, summary);
    if (this.o.stats) await table('parts/stats', STATS_PART.columns, stats);
    await table('parts/trades', TRADES.columns, trades);
    const portfolio = r.portfolio ? [r.portfolio] : [];

    if (open) {
      // a block of a symbol still going: everything of this batch waits for its last block
      const p = open as Pending;
      p.files.push(...files);
      p.portfolio.push(...portfolio);
      this.heldRejectCount += rejects.length;
      return;
    }
    files.push(...this.heldRejects);
    this.checkpoints.add({ symbols: completed, files, bars, rejects: rejects.length + this.heldRejectCount, portfolio });
    this.heldRejects = [];
    this.heldRejectCount = 0;
    await this.checkpoint(false);
  }

  /** Commit what is finished: always without a portfolio; at checkpoints with one. */
  async checkpoint(force: boolean): Promise<void> {
    if (await this.checkpoints.commit(force)) await this.o.cache?.writer.maybeFlush();
  }
}
