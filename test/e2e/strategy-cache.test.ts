// The result cache for strategies other than the ATC (the real CLI): Supertrend, precomputed
// signals and a user module are answered by the cache with the bytes of a run without it, keep
// apart from the ATC's entries in one cache, continue over appended bars, and recompute what a
// change in any column they read (or in the module's file) changes.

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import type { CacheReport } from '../../src/pipeline/run.js';
import { atc, parquetFrom, ROOT, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/golden.js';

const TABLES = ['summary', 'stats', 'trades'];
const OUTPUTS = ['--outputs', TABLES.join(',')];

async function run(data: string, cache: string | null, extra: string[], outputs = OUTPUTS): Promise<{ out: string; cache: CacheReport }> {
  const out = tempDir();
  const r = await atc(['run', '--data', data, '--out', out, '--json', '--quiet', ...outputs, ...(cache ? ['--cache', cache] : ['--no-cache']), ...extra]);
  if (r.code !== 0) throw new Error(r.stderr);
  return { out, cache: (JSON.parse(r.stdout) as { cache: CacheReport }).cache };
}

function expectSameTables(a: string, b: string, tables = [...TABLES, 'params']): void {
  for (const t of tables) expect(readFileSync(join(a, `${t}.parquet`)).equals(readFileSync(join(b, `${t}.parquet`))), t).toBe(true);
}

describe('result cache: strategies', () => {
  const dir = tempDir();
  // the sample's symbols whose OHLC rows are all clean, with a signal column
  const clean = `(SELECT *, CASE WHEN close > lag(close) OVER (PARTITION BY symbol ORDER BY ts) THEN 1 ELSE -1 END AS sig FROM '${sampleDataset()}'
    WHERE symbol NOT IN (SELECT symbol FROM '${sampleDataset()}' WHERE open IS NULL OR high IS NULL OR low IS NULL OR close IS NULL OR high < low))`;
  const cut = `(SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) AS j FROM ${clean})`;
  let full = '';
  let head = '';
  let n = 0;
  beforeAll(async () => {
    full = await parquetFrom(join(dir, 'full.parquet'), `SELECT symbol, ts, open, high, low, close, sig FROM ${clean} ORDER BY symbol, ts`);
    head = await parquetFrom(join(dir, 'head.parquet'), `SELECT symbol, ts, open, high, low, close, sig FROM ${cut} WHERE j > 7 ORDER BY symbol, ts`);
    n = Number((await query(`SELECT count(DISTINCT symbol) AS n FROM '${full}'`))[0]?.n);
  });

  it('Supertrend: answered by the cache with the bytes of a run without it; the ATC entries in the same cache serve neither way across', async () => {
    expect(n).toBeGreaterThan(20);
    const st = ['--strategy', 'supertrend', '--factor', '2,3'];
    const cache = tempDir();
    const atcCold = await run(full, cache, []);
    expect(atcCold.cache).toMatchObject({ computed: n, stored: n });
    const cold = await run(full, cache, st);
    expect(cold.cache).toMatchObject({ hits: 0, incremental: 0, computed: 2 * n, stored: 2 * n });
    const warm = await run(full, cache, st);
    expect(warm.cache).toMatchObject({ hits: 2 * n, computed: 0, stored: 0 });
    const none = await run(full, null, st);
    expectSameTables(cold.out, none.out);
    expectSameTables(warm.out, none.out);
    // the ATC still reads its own entries among Supertrend's segments
    const atcWarm = await run(full, cache, []);
    expect(atcWarm.cache).toMatchObject({ hits: n, computed: 0 });
    expectSameTables(atcWarm.out, atcCold.out);
    // another factor misses
    expect((await run(full, cache, ['--strategy', 'supertrend', '--factor', '2.5'])).cache).toMatchObject({ hits: 0, computed: n });
  });

  it('Supertrend continues over appended bars; a changed high (close unchanged) recomputes its symbol', async () => {
    const grown = await parquetFrom(
      join(dir, 'grown.parquet'),
      `SELECT symbol, ts, open, CASE WHEN symbol = 'AAPL' AND j = 8 THEN high + 5 ELSE high END AS high, low, close, sig FROM ${cut} ORDER BY symbol, ts`,
    );
    const st = ['--strategy', 'supertrend', '--factor', '2,3', '--atr-period', '7'];
    const cache = tempDir();
    expect((await run(head, cache, st)).cache).toMatchObject({ computed: 2 * n });
    const inc = await run(full, cache, st);
    expect(inc.cache).toMatchObject({ hits: 0, incremental: 2 * n, computed: 0 });
    expectSameTables(inc.out, (await run(full, null, st)).out);
    const changed = await run(grown, cache, st);
    expect(changed.cache).toMatchObject({ hits: 2 * (n - 1), computed: 2 });
    const none = await run(grown, null, st);
    expectSameTables(changed.out, none.out);
    // the change is real: AAPL's last ATR differs from the unchanged data's
    const differ = await query(`SELECT DISTINCT symbol FROM (SELECT * FROM '${join(none.out, 'summary.parquet')}' EXCEPT SELECT * FROM '${join(inc.out, 'summary.parquet')}')`);
    expect(differ.map((r) => r.symbol)).toEqual(['AAPL']);
  });

  it('precomputed signals: a changed signal recomputes its symbol only; appended bars continue', async () => {
    const flipped = await parquetFrom(join(dir, 'flipped.parquet'), `SELECT symbol, ts, open, high, low, close, CASE WHEN symbol = 'MSFT' AND j = 100 THEN -sig ELSE sig END AS sig FROM ${cut} ORDER BY symbol, ts`);
    const sig = ['--strategy', 'signal', '--signal-col', 'sig', '--fee-bps', '0,5'];
    const cache = tempDir();
    expect((await run(head, cache, sig)).cache).toMatchObject({ computed: 2 * n });
    const inc = await run(full, cache, sig);
    expect(inc.cache).toMatchObject({ incremental: 2 * n, computed: 0 });
    expectSameTables(inc.out, (await run(full, null, sig)).out);
    const changed = await run(flipped, cache, sig);
    expect(changed.cache).toMatchObject({ hits: 2 * (n - 1), computed: 2 });
    expectSameTables(changed.out, (await run(flipped, null, sig)).out);
  });

  it('a user module: hits while its file is unchanged, recomputed when it changes; atc warm fills the cache for it', async () => {
    const mod = join(dir, 'sma-cross.js');
    copyFileSync(join(ROOT, 'examples', 'strategies', 'sma-cross.js'), mod);
    const user = ['--strategy', mod, '--param', 'fast=5,10', '--param', 'slow=30'];
    const cache = tempDir();
    // warm stores entries without trades: they serve runs without trades
    const lean = ['--outputs', 'summary,stats'];
    const w = await atc(['warm', '--data', head, '--cache', cache, '--json', '--quiet', ...user]);
    expect(w.code, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ computed: 2 * n, stored: 2 * n });
    const inc = await run(full, cache, user, lean);
    expect(inc.cache).toMatchObject({ incremental: 2 * n, computed: 0 });
    expectSameTables(inc.out, (await run(full, null, user, lean)).out, ['summary', 'stats', 'params']);
    expect((await run(full, cache, user, lean)).cache).toMatchObject({ hits: 2 * n, computed: 0 });
    // a run with trades computes (and stores) entries that keep them, then is served too
    expect((await run(full, cache, user)).cache).toMatchObject({ hits: 0, computed: 2 * n });
    const withTrades = await run(full, cache, user);
    expect(withTrades.cache).toMatchObject({ hits: 2 * n, computed: 0 });
    expectSameTables(withTrades.out, (await run(full, null, user)).out);
    // the same module with one more comment line is another strategy as far as the cache knows
    writeFileSync(mod, `${readFileSync(mod, 'utf8')}\n// edited\n`);
    expect((await run(full, cache, user, lean)).cache).toMatchObject({ hits: 0, incremental: 0, computed: 2 * n });
  });
});
