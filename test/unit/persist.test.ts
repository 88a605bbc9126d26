// The persist stage on its own: a finished batch becomes committed parts; a symbol cut into
// blocks commits with its last block; with a portfolio, commits wait for a checkpoint.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCT, ACCT_SIZE, freshAccount } from '../../src/backtest/accounting.js';
import { PORT_FIELDS } from '../../src/backtest/portfolio.js';
import { expandGrid } from '../../src/config/grid.js';
import { type Db, openDb } from '../../src/data/duckdb.js';
import { LAST, LAST_FIELDS } from '../../src/engine/batch.js';
import { attachSlot, createSharedSlot } from '../../src/pool/slots.js';
import type { KernelResult } from '../../src/pool/task.js';
import { RunDir } from '../../src/results/run-dir.js';
import type { Batch, SeriesSlice } from '../../src/stages/load/index.js';
import { ResultsPersister } from '../../src/stages/persist/results.js';
import { tempDir } from '../helpers/cli.js';
import { query } from '../helpers/golden.js';

const DAY = 86_400e6;
const set = expandGrid({})[0]!;

function batch(seq: number, series: Omit<SeriesSlice, 'start'>[]): Batch {
  const slot = attachSlot(createSharedSlot(1000), seq % 2);
  let n = 0;
  const placed = series.map((s) => {
    for (let j = 0; j < s.length; j++) {
      slot.ts[n + j] = (s.barStart + j) * DAY;
      slot.closes[n + j] = 100 + s.barStart + j;
    }
    const p = { ...s, start: n };
    n += s.length;
    return p;
  });
  return { seq, slot, series: placed, n, rejects: [], aborted: [] };
}

/** A kernel result for a batch: last Average_Signal = 0.5 + series index, one long alert each, an account that saw the bars. */
function result(b: Batch, portfolio = false): KernelResult {
  const n = b.series.length;
  const last = new Float64Array(n * LAST_FIELDS).fill(NaN);
  const accounts = new Float64Array(n * ACCT_SIZE);
  b.series.forEach((s, i) => {
    last[i * LAST_FIELDS + LAST.Average_Signal] = 0.5 + i;
    last[i * LAST_FIELDS + LAST.direction] = 1;
    const a = freshAccount();
    a[ACCT.bars] = s.barStart + s.length;
    a[ACCT.firstTs] = 0;
    a[ACCT.lastTs] = (s.barStart + s.length - 1) * DAY;
    accounts.set(a, i * ACCT_SIZE);
  });
  const r: KernelResult = { last, alerts: Uint32Array.from({ length: n * 2 }, (_, k) => (k % 2 === 0 ? 1 : 0)), accounts, kernelSeconds: 0 };
  if (portfolio) r.portfolio = { ts: Float64Array.of(DAY), sums: new Float64Array(PORT_FIELDS).fill(0.001), counts: Float64Array.of(n) };
  return r;
}

describe('ResultsPersister', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb();
  });
  afterAll(() => db.close());

  const open = (portfolio: boolean, checkpointMs: number) => {
    const dir = tempDir();
    const rd = RunDir.open(dir, 'k', {}, false);
    const commits: number[] = [];
    const p = new ResultsPersister({ rd, conn: db.conn, group: 0, sets: [set], trades: false, portfolio, stats: true, rejects: true, minSignal: 0.01, capital: 1, checkpointMs, onCommit: (n) => commits.push(n) });
    const manifest = () => (existsSync(join(dir, 'manifest.jsonl')) ? readFileSync(join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
    return { dir, rd, p, commits, manifest };
  };

  it('a batch of whole symbols is one commit of summary and stats parts', async () => {
    const { dir, p, commits, manifest } = open(false, 0);
    const b = batch(0, [
      { symbol: 'AAA', code: 0, length: 5, barStart: 0, last: true },
      { symbol: 'BBB', code: 1, length: 3, barStart: 0, last: true },
    ]);
    await p.persist(b, result(b));
    expect(commits).toEqual([2]);
    expect(manifest()[0]).toMatchObject({ symbols: ['AAA', 'BBB'], bars: 8 });
    const rows = await query(`SELECT symbol, bars, last_close, "Average_Signal" AS a, direction, long_alerts, trend, param_id FROM read_parquet('${dir}/parts/summary/*.parquet') ORDER BY symbol`);
    expect(rows.map((r) => [r.symbol, Number(r.bars), r.last_close, r.a, r.direction, r.long_alerts, r.trend, r.param_id])).toEqual([
      ['AAA', 5, 104, 0.5, 1, 1, 'LONG', set.id],
      ['BBB', 3, 102, 1.5, 1, 1, 'LONG', set.id],
    ]);
    expect(Number((await query(`SELECT count(*) AS n FROM read_parquet('${dir}/parts/stats/*.parquet')`))[0]?.n)).toBe(2);
  });

  it('a symbol cut into blocks commits with its last block, its alerts added up', async () => {
    const { dir, p, commits, manifest } = open(false, 0);
    const b1 = batch(0, [{ symbol: 'LONG', code: 0, length: 1000, barStart: 0, last: false }]);
    await p.persist(b1, result(b1));
    expect(commits).toEqual([]);
    expect(manifest()).toEqual([]);
    const b2 = batch(1, [
      { symbol: 'LONG', code: 0, length: 10, barStart: 1000, last: true },
      { symbol: 'NEXT', code: 1, length: 4, barStart: 0, last: true },
    ]);
    await p.persist(b2, result(b2));
    expect(commits).toEqual([2]);
    expect(manifest()[0]).toMatchObject({ symbols: ['LONG', 'NEXT'], bars: 1014 });
    const rows = await query(`SELECT symbol, bars, epoch_us(first_ts) AS f, long_alerts FROM read_parquet('${dir}/parts/summary/*.parquet') ORDER BY symbol`);
    expect(rows.map((r) => [r.symbol, Number(r.bars), Number(r.f), r.long_alerts])).toEqual([
      ['LONG', 1010, 0, 2],
      ['NEXT', 4, 0, 1],
    ]);
  });

  it('with a portfolio, finished batches wait for a checkpoint and commit together with their sums', async () => {
    const { dir, p, commits, manifest } = open(true, 3_600_000);
    for (const [seq, code] of [[0, 0], [1, 1]] as const) {
      const b = batch(seq, [{ symbol: `S${code}`, code, length: 3, barStart: 0, last: true }]);
      await p.persist(b, result(b, true));
    }
    expect(manifest()).toEqual([]);
    await p.checkpoint(true);
    expect(commits).toEqual([2]);
    expect(manifest()[0]?.symbols).toEqual(['S0', 'S1']);
    const [sums] = await query(`SELECT count(*) AS n, sum(symbols) AS s, sum(l0) AS l0 FROM read_parquet('${dir}/parts/portfolio/*.parquet')`);
    expect([Number(sums?.n), Number(sums?.s), sums?.l0]).toEqual([1, 2, 0.002]);
  });
});
