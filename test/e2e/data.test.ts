// atc data import | inspect | generate, through the real CLI. The real files of
// ../shared/data/real are checked against the flaws their README documents (skipped, with a
// message, when they are absent).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng, Walk } from '../../datasets/generators/synthetic.js';
import { BLOCK, symbolSeed } from '../../src/data/generate-rows.js';
import { atc, tempDir } from '../helpers/cli.js';
import { faultyFile, realFile, SAMPLE } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

const inspectJson = async (path: string) => {
  const r = await atc(['data', 'inspect', path, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('real data (../shared/data/real)', () => {
  const daily = realFile('daily_stocks.parquet');
  const h1 = realFile('crypto_1h.parquet');
  const m5 = realFile('crypto_5m.parquet');
  if (!daily || !h1 || !m5) console.warn('real data tests skipped: ../shared/data/real is absent');

  it.skipIf(!daily)('daily stocks: import, then inspect finds the README figures', async () => {
    const out = join(tempDir(), 'daily.parquet');
    const r = await atc(['data', 'import', '--from', daily as string, '--to', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report).toMatchObject({ rows: 619040, symbols: 505, duplicates: 0, unsorted: 0, missingBars: 51, ohlcInconsistent: 12, nullClose: 0, sorted: true });
    expect(report.barsPerSymbol).toEqual({ min: 44, median: 1259, max: 1259 });
    const missing = Object.fromEntries(report.issues.map((s: { symbol: string; missing: number }) => [s.symbol, s.missing]));
    expect(missing).toEqual({ DHR: 16, O: 16, ES: 10, ICE: 5, BMY: 2, ORCL: 2 });
    // the imported file runs (NULL open/high/low rows, bad prints and gaps are not bad for ATC)
    const run = await atc(['run', '--data', out, '--out', tempDir(), '--outputs', 'summary', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ symbols: 505, bars: 619040, rejects: 0 });
  });

  it.skipIf(!h1)('crypto 1h: 662 gaps / 1,413 missing bars, 6 exchange-wide windows, the two 4-day halts', async () => {
    const r = await inspectJson(h1 as string);
    expect(r).toMatchObject({ rows: 628654, symbols: 126, barSeconds: 3600, timeGaps: { gaps: 662, missingBars: 1413 }, calendarGaps: { gaps: 6, missingBars: 11 } });
    expect(Object.fromEntries(r.issues.map((s: { symbol: string; missing: number }) => [s.symbol, s.missing]))).toEqual({ 'BTCST/USDT': 96, 'COCOS/USDT': 96 });
  });

  it.skipIf(!m5)('crypto 5m: 72 gaps totalling 2,124 missing bars', async () => {
    const r = await inspectJson(m5 as string);
    expect(r).toMatchObject({ rows: 788912, symbols: 12, barSeconds: 300, timeGaps: { gaps: 72, missingBars: 2124 }, sorted: true });
  });
});

describe('import normalises other layouts', () => {
  it('one CSV per symbol, no symbol column, epoch-millisecond times, capitalised names', async () => {
    const dir = tempDir();
    const src = join(dir, 'csv');
    mkdirSync(src);
    for (const [sym, base] of [['AAA', 10], ['BBB', 20]] as const) {
      const lines = ['Date,Open,High,Low,Close,Volume'];
      for (let i = 0; i < 60; i++) lines.push(`${Date.UTC(2021, 0, 1, i)},${base},${base + 1},${base - 1},${base + (i % 5) / 10},${1000 + i}`);
      writeFileSync(join(src, `${sym}.csv`), lines.join('\n') + '\n');
    }
    const out = join(dir, 'bars.parquet');
    const r = await atc(['data', 'import', '--from', src, '--to', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.import.tsUnit).toBe('ms');
    expect(res.import.mapping).toMatchObject({ symbol: 'file name', ts: 'Date', close: 'Close', volume: 'Volume' });
    const rows = await query(`SELECT symbol, count(*)::INT AS n, min(ts)::VARCHAR AS first, max(close) AS hi FROM '${out}' GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { symbol: 'AAA', n: 60, first: '2021-01-01 00:00:00', hi: 10.4 },
      { symbol: 'BBB', n: 60, first: '2021-01-01 00:00:00', hi: 20.4 },
    ]);
    const cols = await query(`DESCRIBE SELECT * FROM '${out}'`);
    expect(cols.map((c) => `${c.column_name} ${c.column_type}`)).toEqual(['symbol VARCHAR', 'ts TIMESTAMP', 'open DOUBLE', 'high DOUBLE', 'low DOUBLE', 'close DOUBLE', 'volume DOUBLE']);
  });

  it('one long unsorted CSV with ISO times and offsets, mapped column names', async () => {
    const dir = tempDir();
    const f = join(dir, 'long.csv');
    const lines = ['when;asset;px'];
    for (let i = 59; i >= 0; i--) lines.push(`2021-03-01T${String(i % 24).padStart(2, '0')}:00:00+02:00;${i % 2 ? 'ODD' : 'EVEN'};${100 + i}`);
    writeFileSync(f, lines.join('\n') + '\n');
    const out = join(dir, 'o.parquet');
    const r = await atc(['data', 'import', '--from', f, '--to', out, '--ts-col', 'when', '--symbol-col', 'asset', '--close-col', 'px', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const first = await query(`SELECT symbol, ts::VARCHAR AS ts, close FROM '${out}' ORDER BY symbol, ts LIMIT 1`);
    // 00:00 at +02:00 is 22:00 UTC the day before
    expect(first).toEqual([{ symbol: 'EVEN', ts: '2021-02-28 22:00:00', close: 100 }]);
    const rep = JSON.parse(r.stdout).report;
    expect(rep.duplicates).toBe(36); // 60 hours folded onto 24 hour labels per symbol: reported, kept
    expect(rep.sorted).toBe(false);
  });

  it('hive partitions symbol=XYZ without a symbol column in the files', async () => {
    const dir = tempDir();
    for (const s of ['KO', 'NVDA']) {
      mkdirSync(join(dir, 'hive', `symbol=${s}`), { recursive: true });
      await query(`COPY (SELECT ts, close FROM '${SAMPLE}' WHERE symbol = '${s}') TO '${join(dir, 'hive', `symbol=${s}`, 'data.parquet')}' (FORMAT parquet)`);
    }
    const out = join(dir, 'h.parquet');
    const r = await atc(['data', 'import', '--from', join(dir, 'hive'), '--to', out]);
    expect(r.code, r.stderr).toBe(0);
    const n = await query(`SELECT symbol, count(*)::INT AS n FROM '${out}' GROUP BY 1 ORDER BY 1`);
    expect(n).toEqual([
      { symbol: 'KO', n: 1259 },
      { symbol: 'NVDA', n: 1259 },
    ]);
  });

  it('a file without a close column is ATC_ERR_MISSING_COLUMN', async () => {
    const f = join(tempDir(), 'x.csv');
    writeFileSync(f, 'symbol,ts,foo\nA,2021-01-01,1\n');
    const r = await atc(['data', 'import', '--from', f, '--to', join(tempDir(), 'y.parquet')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ATC_ERR_MISSING_COLUMN.*no close column/);
  });
});

describe('inspect', () => {
  it('counts every injected fault', async () => {
    const r = await inspectJson(await faultyFile(tempDir()));
    expect(r).toMatchObject({ nullSymbol: 1, duplicates: 1, unsorted: 1, nullTs: 1, nullClose: 1, badClose: 2, sorted: false });
  });
});

describe('generate', () => {
  it('is deterministic, and a symbol does not depend on how many are generated', async () => {
    const d = tempDir();
    for (const [n, f] of [[3, 'a'], [3, 'b'], [5, 'c']] as const) {
      const r = await atc(['data', 'generate', '--symbols', String(n), '--bars', '500', '--seed', '9', '--freq', '5m', '--to', join(d, `${f}.parquet`), '--quiet']);
      expect(r.code, r.stderr).toBe(0);
    }
    const diff = async (x: string, y: string, where = '') =>
      Number((await query(`SELECT count(*) AS n FROM (SELECT * FROM '${join(d, x)}' ${where} EXCEPT SELECT * FROM '${join(d, y)}' ${where})`))[0]?.n);
    expect(await diff('a.parquet', 'b.parquet')).toBe(0);
    expect(await diff('c.parquet', 'a.parquet', `WHERE symbol < 'S00003'`)).toBe(0);
    const shape = await query(`SELECT count(*)::INT AS n, count(DISTINCT symbol)::INT AS s, (max(ts) - min(ts))::VARCHAR AS span, bool_and(low <= least(open, close) AND high >= greatest(open, close) AND close > 0) AS ohlc FROM '${join(d, 'c.parquet')}'`);
    expect(shape).toEqual([{ n: 2500, s: 5, span: '1 day 17:35:00', ohlc: true }]);
    const rep = await inspectJson(join(d, 'c.parquet'));
    expect(rep).toMatchObject({ sorted: true, barSeconds: 300, timeGaps: { gaps: 0 } });
    // each row group's symbol statistics are its own (a reader skips row groups by them)
    const many = await atc(['data', 'generate', '--symbols', '40', '--bars', '500', '--seed', '9', '--to', join(d, 'm.parquet'), '--quiet']);
    expect(many.code, many.stderr).toBe(0);
    const stats = await query(`SELECT stats_min AS lo, stats_max AS hi FROM parquet_metadata('${join(d, 'm.parquet')}') WHERE path_in_schema = 'symbol' ORDER BY row_group_id`);
    expect(stats).toEqual([{ lo: 'S00000', hi: 'S00032' }, { lo: 'S00032', hi: 'S00039' }]);
  });

  it("writes each symbol's seeded walk, across the blocks its worker hands over", async () => {
    const d = tempDir();
    const bars = BLOCK + 1000; // a symbol spans two blocks
    const r = await atc(['data', 'generate', '--symbols', '3', '--bars', String(bars), '--seed', '9', '--freq', '1d', '--to', join(d, 'g.parquet'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rows = await query(`SELECT open, high, low, close, volume FROM '${join(d, 'g.parquet')}' WHERE symbol = 'S00001' ORDER BY ts`);
    expect(rows).toHaveLength(bars);
    const rng = new Rng(symbolSeed(9, 1));
    const walk = new Walk(rng, { vol: 0.02 }); // 2 % a day
    const bar = new Float64Array(4);
    const mismatches = rows.filter((row) => {
      walk.nextBar(bar);
      const volume = Math.round(Math.exp(9 + 0.8 * rng.normal() + 20 * walk.sigma));
      return row.open !== bar[0] || row.high !== bar[1] || row.low !== bar[2] || row.close !== bar[3] || row.volume !== volume;
    });
    expect(mismatches).toEqual([]);
  });
});
