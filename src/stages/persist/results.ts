// Persist stage for one group of parameter sets: a finished batch -> its parts (signals,
// summary, stats, trades rows; portfolio partial sums) -> committed to the run directory.
//
// A symbol cut into blocks commits with its last block: the earlier blocks' files, alert
// counts and portfolio sums wait for it (and are dropped if the symbol is skipped later).
// Without a portfolio every batch is one commit. With one, the partial sums of many batches
// are summed in memory and committed together with their batches' files at checkpoints
// (every `checkpointMs`, when the sums grow large, and at the end of the pass), so that the
// parts stay few whatever the number of chunks; a kill loses at most the work since the last
// checkpoint.

import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACCT, ACCT_SIZE, openTrade, STATS_FIELDS, statsOf, TRADE_FIELDS } from '../../backtest/accounting.js';
import { type PortfolioPartial, PortfolioSums, splitReturn } from '../../backtest/portfolio.js';
import type { ParamSet } from '../../config/grid.js';
import { LAST_FIELDS } from '../../engine/job.js';
import type { KernelResult } from '../../pool/task.js';
import type { RunDir } from '../../results/run-dir.js';
import { PARQUET_OPTIONS, PORTFOLIO_PART_COLUMNS, REJECT_COLUMNS, STATS_PART_COLUMNS, SUMMARY_COLUMNS, TRADE_COLUMNS, trendOf } from '../../results/schema.js';
import type { Batch, Reject } from '../load/index.js';
import { blobBytes, CACHED_TRADE_FIELDS, f64, type Found, statColumn } from '../../cache/store.js';
import { sqlString } from '../../data/duckdb.js';
import { AtcError } from '../../errors.js';
import type { CacheWriter, TailStart } from '../../cache/plan.js';
import type { SignalsWriter } from './signals.js';
import { writeRows } from './tables.js';

const CHECKPOINT_BYTES = 64 << 20;

type TempFile = { temp: string; final: string };

/** A symbol cut into blocks, until its last block commits. */
interface Pending {
  files: TempFile[];
  firstTs: number;
  /** per set: long, short alerts so far */
  alerts: Uint32Array;
  portfolio: PortfolioPartial[];
  /** per set: closed trades so far (CACHED_TRADE_FIELDS each), for the cache */
  closed: number[][];
  /** trade rows of cached bars, written when the symbol completes */
  emit: unknown[][];
  /** continued from the cache: its results there (a symbol whose new rows are all dropped ends with them) */
  cached?: TailStart;
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
  signals?: SignalsWriter | undefined;
  trades: boolean;
  portfolio: boolean;
  /** record rejects (the first pass over the data only: later passes see the same rows) */
  rejects: boolean;
  minSignal: number;
  capital: number;
  /** with a portfolio: commit at most this often */
  checkpointMs: number;
  onCommit: (symbols: number, bars: number) => void;
  cache?: PersistCache | undefined;
}

export class ResultsPersister {
  private readonly pending = new Map<string, Pending>();
  private heldRejects: TempFile[] = [];
  private heldRejectCount = 0;
  private readonly sums: PortfolioSums | undefined;
  private uncommitted: { symbols: string[]; files: TempFile[]; bars: number; rejects: number; portfolio: PortfolioPartial[] }[] = [];
  private lastCheckpoint = Date.now();
  /** symbols with a dropped row or a fault: not stored in the cache (their rejects would be lost) */
  private readonly faulty = new Set<string>();

  private readonly recordBytes: number | undefined;
  /** SQL of the summary and stats rows answered by the cache and not committed (see persistCached) */
  readonly cachedRows: { summary: string[]; stats: string[] } = { summary: [], stats: [] };

  constructor(private readonly o: PersistOptions) {
    this.sums = o.portfolio ? new PortfolioSums(o.sets.length) : undefined;
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
    const np = this.o.sets.length;
    const closed = t.trades ? t.trades.map((a) => Array.from(a)) : this.o.sets.map(() => []);
    const emit = this.o.trades && t.trades ? t.trades.flatMap((a, k) => cachedTradeRows(symbol, (this.o.sets[k] as ParamSet).id, a)) : [];
    this.pending.set(symbol, { files: [], firstTs: t.firstTs, alerts: Uint32Array.from(t.alerts.subarray(0, np * 2)), portfolio: [], closed, emit, cached: t });
  }

  /**
   * The results of symbols answered by the cache: `hits` (cache/plan.ts) names their entries.
   * Without trades their summary and stats rows are SQL over the cache's segments, read by
   * finalize (not committed: a killed run looks them up again). With trades (rows made here)
   * all three tables are written as parts and committed. Returns whether it committed.
   */
  async persistCached(hits: Found, symbols: string[], bars: number): Promise<boolean> {
    if (symbols.length === 0) return false;
    const { rd, conn } = this.o;
    const store = this.o.cache?.writer.store;
    if (!store) throw new Error('persistCached: the persister has no cache');
    const m = this.o.minSignal;
    const expr: Record<string, string> = {
      first_ts: 'make_timestamp(s.first_ts)',
      last_ts: 'make_timestamp(s.last_ts)',
      // trendOf, in SQL (a NULL signal is NEUTRAL)
      trend: `CASE WHEN s."Average_Signal" >= CAST('${m}' AS DOUBLE) THEN 'LONG' WHEN s."Average_Signal" <= CAST('${-m}' AS DOUBLE) THEN 'SHORT' ELSE 'NEUTRAL' END`,
    };
    const select = (cols: [string, string][], col: (n: string, i: number) => string): string => cols.map(([n, t], i) => `CAST(${col(n, i)} AS ${t}) AS "${n}"`).join(', ');
    const from = `FROM ${store.entriesSql(hits.files)} AS s JOIN ${hits.table} AS h ON s.key = h.key AND s.filename = h.filename`;
    const summary = `SELECT ${select(SUMMARY_COLUMNS, (n) => expr[n] ?? `s."${n}"`)} ${from}`;
    const stats = `SELECT ${select(STATS_PART_COLUMNS, (n, i) => (i < 2 ? `s."${n}"` : `s."${statColumn(n)}"`))} ${from}`;
    if (!this.o.trades) {
      this.cachedRows.summary.push(summary);
      this.cachedRows.stats.push(stats);
      return false;
    }
    const parts: TempFile[] = [];
    const name = `part-cache-g${this.o.group}-${randomUUID().slice(0, 13)}.parquet`;
    for (const [dir, sql] of [['parts/summary', summary], ['parts/stats', stats]] as const) {
      const f = rd.tempFile(dir, name);
      await conn.run(`COPY (${sql}) TO ${sqlString(f.temp)} (${PARQUET_OPTIONS})`);
      parts.push(f);
    }
    const entries = await store.readPayloads(conn, hits, ['s.symbol', 's.param_id', 's.account'], 'e.code, e.k', true);
    // the planner verified these segments; one dropped since (by another run) fails the run
    if (entries.length !== symbols.length * this.o.sets.length) {
      throw new AtcError('ATC_ERR_CACHE', `${store.dir}: cached trades went missing during the run; run again`);
    }
    const rows: unknown[][] = [];
    for (const [symbol, id, account, , trades] of entries) {
      rows.push(...cachedTradeRows(String(symbol), String(id), f64(blobBytes(trades))));
      const ot = openTrade(f64(blobBytes(account)));
      if (ot) rows.push([symbol, id, ot.side === 1 ? 'long' : 'short', ot.entryTs, ot.entryPrice, null, null, ot.barsHeld, ot.return]);
    }
    if (rows.length > 0) {
      const f = rd.tempFile('parts/trades', name);
      await writeRows(conn, TRADE_COLUMNS, rows, f.temp);
      parts.push(f);
    }
    rd.commit({ group: this.o.group, symbols, files: parts, bars, rejects: 0 });
    this.o.onCommit(symbols.length, bars);
    return true;
  }

  async persist(batch: Batch, r: KernelResult): Promise<void> {
    const { rd, conn, sets } = this.o;
    const np = sets.length;
    const name = this.partName(batch);
    const files: TempFile[] = [];
    const table = async (dir: Parameters<RunDir['tempFile']>[0], cols: [string, string][], rows: unknown[][]): Promise<void> => {
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
    await table('rejects', REJECT_COLUMNS, rejects.map(rejectRow));
    for (const sym of batch.aborted) {
      const p = this.pending.get(sym);
      if (p) {
        rd.discard(p.files.filter((f) => !f.final.startsWith('rejects/')));
        this.heldRejects.push(...p.files.filter((f) => f.final.startsWith('rejects/')));
        this.pending.delete(sym);
      }
    }

    const summary: unknown[][] = [];
    const stats: unknown[][] = [];
    const trades: unknown[][] = [];
    const completed: string[] = [];
    let bars = 0;
    let open: Pending | undefined;
    // closed trades per series and set (in the cached layout), for the cache
    const closedOf = new Map<number, number[]>();
    if (r.trades) {
      const t = r.trades;
      for (let i = 0; i < t.length; i += TRADE_FIELDS) {
        const s = batch.series[t[i] as number];
        if (!s) continue;
        if (this.o.trades) trades.push([s.symbol, (sets[t[i + 1] as number] as ParamSet).id, t[i + 2] === 1 ? 'long' : 'short', t[i + 3], t[i + 4], t[i + 5], t[i + 6], t[i + 7], t[i + 8]]);
        if (this.o.cache) {
          const at = (t[i] as number) * np + (t[i + 1] as number);
          const list = closedOf.get(at) ?? [];
          for (let f = 2; f < TRADE_FIELDS; f++) list.push(t[i + f] as number);
          closedOf.set(at, list);
        }
      }
    }
    batch.series.forEach((s, i) => {
      bars += s.length;
      const alerts = r.alerts.subarray(i * np * 2, (i + 1) * np * 2);
      if (!s.last) {
        const p = this.pending.get(s.symbol) ?? { files: [], firstTs: batch.slot.ts[s.start] as number, alerts: new Uint32Array(np * 2), portfolio: [], closed: sets.map(() => []), emit: [] };
        for (let k = 0; k < alerts.length; k++) p.alerts[k] = (p.alerts[k] as number) + (alerts[k] as number);
        sets.forEach((_, k) => (p.closed[k] as number[]).push(...(closedOf.get(i * np + k) ?? [])));
        this.pending.set(s.symbol, p);
        open = p;
        return;
      }
      const p = this.pending.get(s.symbol);
      this.pending.delete(s.symbol);
      if (p) {
        files.push(...p.files);
        this.uncommittedPortfolio(p.portfolio);
      }
      // no new bar: a symbol continued from the cache whose new rows were all dropped
      const same = s.length === 0 ? p?.cached : undefined;
      if (s.length === 0 && !same) throw new Error(`internal: ${s.symbol} ends with an empty block`);
      const firstTs = p?.firstTs ?? (batch.slot.ts[s.start] as number);
      const lastTs = same ? same.lastTs : (batch.slot.ts[s.start + s.length - 1] as number);
      const lastClose = same ? same.lastClose : batch.slot.closes[s.start + s.length - 1];
      if (p) trades.push(...p.emit);
      const cache = this.o.cache && !this.faulty.has(s.symbol) ? this.o.cache : undefined;
      let stateAt = i * (this.recordBytes ?? 0);
      sets.forEach((set, k) => {
        const at = i * np + k;
        const last = (same?.last ?? r.last).subarray((same ? k : at) * LAST_FIELDS, ((same ? k : at) + 1) * LAST_FIELDS);
        const acct = (same?.accounts ?? r.accounts).subarray((same ? k : at) * ACCT_SIZE, ((same ? k : at) + 1) * ACCT_SIZE);
        const longA = (alerts[k * 2] as number) + (p ? (p.alerts[k * 2] as number) : 0);
        const shortA = (alerts[k * 2 + 1] as number) + (p ? (p.alerts[k * 2 + 1] as number) : 0);
        const rows = setRows(s.symbol, set.id, s.barStart + s.length, firstTs, lastTs, lastClose as number, last, longA, shortA, acct, this.o.minSignal, this.o.trades);
        summary.push(rows.summary);
        stats.push(rows.stats);
        trades.push(...rows.open);
        if (cache && r.states) {
          cache.writer.add({
            code: s.code,
            k: cache.k0 + k,
            summary: rows.summary,
            stats: rows.stats,
            account: Float64Array.from(acct),
            trades: this.o.trades ? Float64Array.from([...(p?.closed[k] ?? []), ...(closedOf.get(at) ?? [])]) : null,
            state: r.states.slice(stateAt, stateAt + (cache.stateBytes[k] as number)),
          });
        }
        stateAt += cache?.stateBytes[k] ?? 0;
      });
      this.faulty.delete(s.symbol);
      completed.push(s.symbol);
    });
    await table('parts/summary', SUMMARY_COLUMNS, summary);
    await table('parts/stats', STATS_PART_COLUMNS, stats);
    await table('parts/trades', TRADE_COLUMNS, trades);
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
    this.uncommitted.push({ symbols: completed, files, bars, rejects: rejects.length + this.heldRejectCount, portfolio });
    this.heldRejects = [];
    this.heldRejectCount = 0;
    await this.checkpoint(false);
  }

  private uncommittedPortfolio(parts: PortfolioPartial[]): void {
    if (parts.length > 0) this.uncommitted.push({ symbols: [], files: [], bars: 0, rejects: 0, portfolio: parts });
  }

  /** Commit what is finished: always without a portfolio; at checkpoints with one. */
  async checkpoint(force: boolean): Promise<void> {
    if (this.uncommitted.length === 0) return;
    const sums = this.sums;
    if (sums) {
      for (const u of this.uncommitted) {
        for (const p of u.portfolio) sums.add(p);
        u.portfolio = [];
      }
      if (!force && Date.now() - this.lastCheckpoint < this.o.checkpointMs && sums.bytes < CHECKPOINT_BYTES) return;
    }
    const entries = this.uncommitted;
    this.uncommitted = [];
    const files = entries.flatMap((e) => e.files);
    if (sums && sums.size > 0) {
      const f = this.o.rd.tempFile('parts/portfolio', `part-g${this.o.group}-${randomUUID().slice(0, 13)}.parquet`);
      const rows = sums.drain().map((row) => [(this.o.sets[row[0] as number] as ParamSet).id, ...row.slice(1)]);
      await writeRows(this.o.conn, PORTFOLIO_PART_COLUMNS, rows, f.temp);
      files.push(f);
    }
    const symbols = entries.flatMap((e) => e.symbols);
    const bars = entries.reduce((a, e) => a + e.bars, 0);
    this.o.rd.commit({ group: this.o.group, symbols, files, bars, rejects: entries.reduce((a, e) => a + e.rejects, 0) });
    this.lastCheckpoint = Date.now();
    this.o.onCommit(symbols.length, bars);
    await this.o.cache?.writer.maybeFlush();
  }
}

/** The summary and stats rows of one symbol under one set, and its open trade's row (if asked and open). */
function setRows(
  symbol: string,
  id: string,
  bars: number,
  firstTs: number,
  lastTs: number,
  lastClose: number,
  last: Float64Array,
  longAlerts: number,
  shortAlerts: number,
  acct: Float64Array,
  minSignal: number,
  withTrades: boolean,
): { summary: unknown[]; stats: unknown[]; open: unknown[][] } {
  const dir = last[13] as number;
  const summary = [
    symbol,
    bars,
    firstTs,
    lastTs,
    lastClose,
    ...Array.from(last.subarray(0, 7), (v) => (Number.isNaN(v) ? null : v)),
    dir === 0 ? null : dir,
    longAlerts,
    shortAlerts,
    trendOf(last[0] as number, minSignal),
    id,
  ];
  const st = statsOf(acct);
  const limb = new Float64Array(4);
  splitReturn(acct[ACCT.sumTradeRet] as number, limb);
  const stats = [symbol, id, ...STATS_FIELDS.map((f) => st[f]), acct[ACCT.closedTrades], acct[ACCT.wins], ...limb];
  const ot = withTrades ? openTrade(acct) : null;
  const open = ot ? [[symbol, id, ot.side === 1 ? 'long' : 'short', ot.entryTs, ot.entryPrice, null, null, ot.barsHeld, ot.return]] : [];
  return { summary, stats, open };
}

function cachedTradeRows(symbol: string, id: string, t: Float64Array): unknown[][] {
  const rows: unknown[][] = [];
  for (let i = 0; i + CACHED_TRADE_FIELDS <= t.length; i += CACHED_TRADE_FIELDS) {
    rows.push([symbol, id, t[i] === 1 ? 'long' : 'short', t[i + 1], t[i + 2], t[i + 3], t[i + 4], t[i + 5], t[i + 6]]);
  }
  return rows;
}

function rejectRow(r: Reject): unknown[] {
  return [r.file, r.symbol, r.ts === null ? null : r.ts, r.reason, r.detail, r.action];
}
