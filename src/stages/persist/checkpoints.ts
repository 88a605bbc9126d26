// Commits of finished work. Without a portfolio every finished batch is one commit. With one,
// the partial sums of many batches are summed in memory and committed together with their
// batches' files at checkpoints (every `checkpointMs`, when the sums grow large, and at the end
// of the pass), so that the parts stay few whatever the number of chunks; a kill loses at most
// the work since the last checkpoint.

import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type PortfolioPartial, PortfolioSums } from '../../backtest/portfolio.js';
import type { ParamSet } from '../../config/grid.js';
import { writeRows } from '../../data/rows-writer.js';
import type { RunDir } from '../../results/run-dir.js';
import { PORTFOLIO_PART } from '../../results/schema.js';
import type { TempFile } from './pending.js';

const CHECKPOINT_BYTES = 64 << 20;

/** Finished work not committed yet. */
export interface Finished {
  symbols: string[];
  files: TempFile[];
  bars: number;
  rejects: number;
  portfolio: PortfolioPartial[];
}

export class Checkpoints {
  private readonly sums: PortfolioSums | undefined;
  private uncommitted: Finished[] = [];
  private lastCheckpoint = Date.now();

  constructor(
    private readonly o: {
      rd: RunDir;
      conn: DuckDBConnection;
      group: number;
      sets: readonly ParamSet[];
      portfolio: boolean;
      checkpointMs: number;
      onCommit: (symbols: number, bars: number) => void;
    },
  ) {
    this.sums = o.portfolio ? new PortfolioSums(o.sets.length) : undefined;
  }

  add(f: Finished): void {
    this.uncommitted.push(f);
  }

  /** Portfolio sums of blocks whose symbol completed (their files are in the symbol's commit). */
  addPortfolio(parts: PortfolioPartial[]): void {
    if (parts.length > 0) this.add({ symbols: [], files: [], bars: 0, rejects: 0, portfolio: parts });
  }

  /** Commit what is finished: always without a portfolio; at checkpoints with one. Returns whether it committed. */
  async commit(force: boolean): Promise<boolean> {
    if (this.uncommitted.length === 0) return false;
    const sums = this.sums;
    if (sums) {
      for (const u of this.uncommitted) {
        for (const p of u.portfolio) sums.add(p);
        u.portfolio = [];
      }
      if (!force && Date.now() - this.lastCheckpoint < this.o.checkpointMs && sums.bytes < CHECKPOINT_BYTES) return false;
    }
    const entries = this.uncommitted;
    this.uncommitted = [];
    const files = entries.flatMap((e) => e.files);
    if (sums && sums.size > 0) {
      const f = this.o.rd.tempFile('parts/portfolio', `part-g${this.o.group}-${randomUUID().slice(0, 13)}.parquet`);
      const rows = sums.drain().map((r) => ({ ...r, param_id: (this.o.sets[r.set] as ParamSet).id }));
      await writeRows(this.o.conn, PORTFOLIO_PART.columns, rows, f.temp);
      files.push(f);
    }
    const symbols = entries.flatMap((e) => e.symbols);
    const bars = entries.reduce((a, e) => a + e.bars, 0);
    this.o.rd.commit({ group: this.o.group, symbols, files, bars, rejects: entries.reduce((a, e) => a + e.rejects, 0) });
    this.lastCheckpoint = Date.now();
    this.o.onCommit(symbols.length, bars);
    return true;
  }
}
