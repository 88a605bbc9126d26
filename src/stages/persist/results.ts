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
import { PORTFOLIO_PART_COLUMNS, REJECT_COLUMNS, STATS_PART_COLUMNS, SUMMARY_COLUMNS, TRADE_COLUMNS, trendOf } from '../../results/schema.js';
import type { Batch, Reject } from '../load/index.js';
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
}

export class ResultsPersister {
  private readonly pending = new Map<string, Pending>();
  private heldRejects: TempFile[] = [];
  private heldRejectCount = 0;
  private readonly sums: PortfolioSums | undefined;
  private uncommitted: { symbols: string[]; files: TempFile[]; bars: number; rejects: number; portfolio: PortfolioPartial[] }[] = [];
  private lastCheckpoint = Date.now();

  constructor(private readonly o: PersistOptions) {
    this.sums = o.portfolio ? new PortfolioSums(o.sets.length) : undefined;
  }

  private partName(batch: Batch): string {
    const first = batch.series[0];
    // Named by content (first symbol and bar, group): unique across resumed runs. A batch of
    // rejected rows only has no such name, so it gets a random one.
    return first
      ? `part-${String(first.code).padStart(7, '0')}-${String(first.barStart).padStart(12, '0')}-g${this.o.group}.parquet`
      : `part-rejects-${randomUUID().slice(0, 13)}.parquet`;
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
    const limb = new Float64Array(4);
    let bars = 0;
    let open: Pending | undefined;
    if (this.o.trades && r.trades) {
      const t = r.trades;
      for (let i = 0; i < t.length; i += TRADE_FIELDS) {
        const s = batch.series[t[i] as number];
        if (!s) continue;
        trades.push([s.symbol, (sets[t[i + 1] as number] as ParamSet).id, t[i + 2] === 1 ? 'long' : 'short', t[i + 3], t[i + 4], t[i + 5], t[i + 6], t[i + 7], t[i + 8]]);
      }
    }
    batch.series.forEach((s, i) => {
      bars += s.length;
      const alerts = r.alerts.subarray(i * np * 2, (i + 1) * np * 2);
      if (!s.last) {
        const p = this.pending.get(s.symbol) ?? { files: [], firstTs: batch.slot.ts[s.start] as number, alerts: new Uint32Array(np * 2), portfolio: [] };
        for (let k = 0; k < alerts.length; k++) p.alerts[k] = (p.alerts[k] as number) + (alerts[k] as number);
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
      const firstTs = p?.firstTs ?? (batch.slot.ts[s.start] as number);
      const lastTs = batch.slot.ts[s.start + s.length - 1] as number;
      const lastClose = batch.slot.closes[s.start + s.length - 1];
      sets.forEach((set, k) => {
        const at = i * np + k;
        const last = r.last.subarray(at * LAST_FIELDS, (at + 1) * LAST_FIELDS);
        const acct = r.accounts.subarray(at * ACCT_SIZE, (at + 1) * ACCT_SIZE);
        const dir = last[13] as number;
        summary.push([
          s.symbol,
          s.barStart + s.length,
          firstTs,
          lastTs,
          lastClose,
          ...Array.from(last.subarray(0, 7), (v) => (Number.isNaN(v) ? null : v)),
          dir === 0 ? null : dir,
          (alerts[k * 2] as number) + (p ? (p.alerts[k * 2] as number) : 0),
          (alerts[k * 2 + 1] as number) + (p ? (p.alerts[k * 2 + 1] as number) : 0),
          trendOf(last[0] as number, this.o.minSignal),
          set.id,
        ]);
        const st = statsOf(acct);
        splitReturn(acct[ACCT.sumTradeRet] as number, limb);
        stats.push([s.symbol, set.id, ...STATS_FIELDS.map((f) => st[f]), acct[ACCT.closedTrades], acct[ACCT.wins], ...limb]);
        const ot = this.o.trades ? openTrade(acct) : null;
        if (ot) trades.push([s.symbol, set.id, ot.side === 1 ? 'long' : 'short', ot.entryTs, ot.entryPrice, null, null, ot.barsHeld, ot.return]);
      });
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
  }
}

function rejectRow(r: Reject): unknown[] {
  return [r.file, r.symbol, r.ts === null ? null : r.ts, r.reason, r.detail, r.action];
}
