// The result cache end to end (the real CLI): hits and misses, results identical with and
// without it (byte for byte), incremental updates on real data equal to a full recompute,
// history changes detected, corrupt entries dropped and recomputed, a warm job and a run
// sharing one cache at once, LRU eviction by size, the exclusive lock.

import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import type { CacheReport } from '../../src/pipeline/run.js';
import { atc, parquetFrom, tempDir } from '../helpers/cli.js';
import { realFile } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

const TABLES = ['summary', 'stats', 'trades'];
const OUTPUTS = ['--outputs', TABLES.join(',')];


async function run(data: string, cache: string | null, extra: string[] = [], outputs = OUTPUTS): Promise<{ out: string; cache: CacheReport; stderr: string }> {
  const out = tempDir();
  const r = await atc(['run', '--data', data, '--out', out, '--json', '--quiet', ...outputs, ...(cache ? ['--cache', cache] : ['--no-cache']), ...extra]);
  if (r.code !== 0) throw new Error(r.stderr);
  return { out, cache: (JSON.parse(r.stdout) as { cache: CacheReport }).cache, stderr: r.stderr };
}

function expectSameTables(a: string, b: string, tables = TABLES): void {
  for (const t of tables) expect(readFileSync(join(a, `${t}.parquet`)).equals(readFileSync(join(b, `${t}.parquet`))), t).toBe(true);
}

const segments = (cache: string): string[] => readdirSync(join(cache, 'segments')).filter((f) => f.endsWith('.parquet') && !f.startsWith('.'));

describe('result cache', () => {
  const sample = sampleDataset();

  it('a rerun is answered by the cache, with results identical to a run without it', async () => {
    const cache = tempDir();
    const cold = await run(sample, cache);
    expect(cold.cache).toMatchObject({ hits: 0, incremental: 0, computed: 29, stored: 29 });
    const warm = await run(sample, cache);
    expect(warm.cache).toMatchObject({ hits: 29, incremental: 0, computed: 0, stored: 0 });
    const none = await run(sample, null);
    expect(none.cache).toBeUndefined();
    expectSameTables(cold.out, none.out);
    expectSameTables(warm.out, none.out);
    // the report a person reads says what the cache did
    const human = await atc(['run', '--data', sample, '--out', tempDir(), '--cache', cache, ...OUTPUTS]);
    expect(human.stdout).toMatch(/cache: 29 of 29 \(symbol, set\) results from the cache, 0 continued over new bars, 0 computed; 0 stored/);
    // another parameter set misses
    const other = await run(sample, cache, ['--lambda', '0.03']);
    expect(other.cache).toMatchObject({ hits: 0, computed: 29 });
    // the index as SQL
    const r = await atc(['sql', '--out', warm.out, '--cache', cache, '--format', 'json', 'SELECT count(*) AS n, sum(hits) AS hits, count(DISTINCT param_id) AS sets FROM cache']);
    expect(JSON.parse(r.stdout)).toEqual([{ n: '58', hits: '58', sets: '2' }]);
  });

  it('entries stored without trades serve runs without trades; a run with trades computes and stores them', async () => {
    const cache = tempDir();
    const lean = ['--outputs', 'summary,stats'];
    const first = await run(sample, cache, [], lean);
    expect(first.cache).toMatchObject({ computed: 29, stored: 29 });
    const withTrades = await run(sample, cache);
    expect(withTrades.cache).toMatchObject({ hits: 0, computed: 29, stored: 29 });
    expectSameTables(withTrades.out, (await run(sample, null)).out);
    const again = await run(sample, cache);
    expect(again.cache).toMatchObject({ hits: 29, computed: 0 });
    expectSameTables(again.out, withTrades.out);
    const leanAgain = await run(sample, cache, [], lean);
    expect(leanAgain.cache).toMatchObject({ hits: 29, computed: 0 });
    expectSameTables(leanAgain.out, first.out, ['summary', 'stats']);
    // gc keeps the entry with trades of the two stored for each key
    const gc = await atc(['cache', 'gc', '--cache', cache, '--json']);
    expect(gc.code).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ duplicates: 29, entriesAfter: 29 });
    expect((await run(sample, cache)).cache).toMatchObject({ hits: 29, computed: 0 });
  });

  it('a changed bar or start inside the history is detected and recomputed in full', async () => {
    const cache = tempDir();
    const base = await run(sample, cache);
    expect(base.cache.computed).toBe(29);
    const dir = tempDir();
    // AAPL: one close corrected in the middle; MSFT: its first bar gone
    const changed = await parquetFrom(
      join(dir, 'changed.parquet'),
      `SELECT symbol, ts, CASE WHEN symbol = 'AAPL' AND i = 300 THEN close + 0.01 ELSE close END AS close
       FROM (SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts) AS i FROM '${sample}') WHERE NOT (symbol = 'MSFT' AND i = 1) ORDER BY symbol, ts`,
    );
    const diff = await query(`SELECT count(*) AS n FROM (SELECT symbol, ts, close FROM '${sample}' EXCEPT SELECT * FROM '${changed}')`);
    expect(Number((diff[0] as { n: bigint }).n)).toBe(2);
    const again = await run(changed, cache);
    expect(again.cache).toMatchObject({ hits: 27, incremental: 0, computed: 2 });
    expectSameTables(again.out, (await run(changed, null)).out);
  });

  it('appended bars with one history changed: the others continue (read from the source), that one is recomputed', async () => {
    const dir = tempDir();
    const head = await parquetFrom(
      join(dir, 'head.parquet'),
      `SELECT symbol, ts, close FROM (SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) AS j FROM '${sample}') WHERE j > 10 ORDER BY symbol, ts`,
    );
    const grown = await parquetFrom(
      join(dir, 'grown.parquet'),
      `SELECT symbol, ts, CASE WHEN symbol = 'AAPL' AND i = 300 THEN close + 0.01 ELSE close END AS close
       FROM (SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts) AS i FROM '${sample}') ORDER BY symbol, ts`,
    );
    const cache = tempDir();
    for (const outputs of [['--outputs', 'summary,stats'], OUTPUTS]) {
      expect((await run(head, cache, [], outputs)).cache).toMatchObject({ computed: 29 });
      const inc = await run(grown, cache, [], outputs);
      expect(inc.cache).toMatchObject({ hits: 0, incremental: 28, computed: 1 });
      expectSameTables(inc.out, (await run(grown, null, [], outputs)).out, outputs === OUTPUTS ? TABLES : ['summary', 'stats']);
    }
  });

  it('a symbol continued from the cache whose new rows are all dropped (--bad-rows drop) ends with its cached results', async () => {
    const dir = tempDir();
    const cut = `(SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) AS j FROM '${sample}')`;
    const head = await parquetFrom(join(dir, 'head.parquet'), `SELECT symbol, ts, close FROM ${cut} WHERE j > 5 ORDER BY symbol, ts`);
    // AAPL's five new closes are NULL; MSFT's are partly
    const grown = await parquetFrom(
      join(dir, 'grown.parquet'),
      `SELECT symbol, ts, CASE WHEN (symbol = 'AAPL' AND j <= 5) OR (symbol = 'MSFT' AND j IN (2, 4)) THEN NULL ELSE close END AS close FROM ${cut} ORDER BY symbol, ts`,
    );
    const cache = tempDir();
    const drop = ['--bad-rows', 'drop'];
    for (const outputs of [['--outputs', 'summary,stats'], OUTPUTS]) {
      await run(head, cache, drop, outputs);
      const inc = await run(grown, cache, drop, outputs);
      expect(inc.cache).toMatchObject({ incremental: 29, computed: 0, stored: 27 });
      expectSameTables(inc.out, (await run(grown, null, drop, outputs)).out, [...(outputs === OUTPUTS ? TABLES : ['summary', 'stats']), 'rejects']);
    }
  });

  it('a day file added to a directory: only the new file is fingerprinted, every symbol continues, bitwise a full recompute', async () => {
    const dir = tempDir();
    const data = join(dir, 'bars');
    mkdirSync(data);
    const cut = `(SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) AS j FROM '${sample}')`;
    await parquetFrom(join(data, '1-history.parquet'), `SELECT symbol, ts, close FROM ${cut} WHERE j > 5 ORDER BY symbol, ts`);
    // files last modified long ago are memoised (a file written within the clock's resolution is not)
    const age = (f: string) => utimesSync(f, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    age(join(data, '1-history.parquet'));
    const cache = tempDir();
    expect((await run(data, cache)).cache).toMatchObject({ computed: 29, filesScanned: 1 });
    await parquetFrom(join(data, '2-update.parquet'), `SELECT symbol, ts, close FROM ${cut} WHERE j <= 5 ORDER BY symbol, ts`);
    age(join(data, '2-update.parquet'));
    const inc = await run(data, cache);
    expect(inc.cache).toMatchObject({ hits: 0, incremental: 29, computed: 0, filesScanned: 1 });
    expectSameTables(inc.out, (await run(data, null)).out);
    expectSameTables(inc.out, (await run(sample, null)).out);
    expect((await run(data, cache)).cache).toMatchObject({ hits: 29, filesScanned: 0, memo: true });
  });

  const real = realFile('daily_stocks.parquet') as string;
  if (!real) console.warn('incremental test on real data skipped: ../shared/data/real is absent');

  it.skipIf(!real)('real daily stocks: cache the first part of every history, append the rest: bitwise a full recompute', async () => {
    const dir = tempDir();
    // every symbol cut at its own point (between 60 % and 99 % of its bars; a few keep all but one bar)
    const head = await parquetFrom(
      join(dir, 'head.parquet'),
      `SELECT symbol, ts, close FROM (SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts) AS i, count(*) OVER (PARTITION BY symbol) AS n FROM '${real}')
       WHERE i <= CASE WHEN hash(symbol) % 5 = 0 THEN n - 1 ELSE floor(n * (0.6 + (hash(symbol) % 40) / 100.0)) END ORDER BY symbol, ts`,
    );
    const full = await parquetFrom(join(dir, 'full.parquet'), `SELECT symbol, ts, close FROM '${real}' ORDER BY symbol, ts`);
    const cache = tempDir();
    // two sets; small chunks so that long symbols continue across blocks after the cached part
    const args = ['--lambda', '0.02,0.05', '--bad-rows', 'skip-symbol', '--chunk-bars', '2000'];
    const first = await run(head, cache, args);
    expect(first.cache.computed).toBeGreaterThan(900);
    const inc = await run(full, cache, args);
    expect(inc.cache.incremental).toBe(first.cache.stored);
    expect(inc.cache.computed).toBe(0);
    const whole = await run(full, null, args);
    expectSameTables(inc.out, whole.out);
    // and the updated entries answer the next run
    const again = await run(full, cache, args);
    expect(again.cache).toMatchObject({ hits: first.cache.stored, computed: 0, incremental: 0 });
    expectSameTables(again.out, whole.out);
  });

  it('an altered entry or a truncated segment is reported, dropped and recomputed', async () => {
    const cache = tempDir();
    await run(sample, cache);
    const [seg] = segments(cache);
    const file = join(cache, 'segments', seg as string);
    // alter one value (a valid Parquet file under the old name)
    await query(`COPY (SELECT * REPLACE (CASE WHEN symbol = 'AAPL' THEN last_close * 2 ELSE last_close END AS last_close) FROM '${file}') TO '${file}.x' (FORMAT parquet)`);
    writeFileSync(file, readFileSync(`${file}.x`));
    const a = await run(sample, cache);
    expect(a.stderr).toMatch(/corrupt/);
    expect(a.cache).toMatchObject({ hits: 0, computed: 29, dropped: 1 });
    expectSameTables(a.out, (await run(sample, null)).out);
    // truncate the new segment
    const [seg2] = segments(cache);
    const f2 = join(cache, 'segments', seg2 as string);
    truncateSync(f2, Math.floor(statSync(f2).size / 2));
    const b = await run(sample, cache);
    expect(b.stderr).toMatch(/corrupt/);
    expect(b.cache).toMatchObject({ hits: 0, computed: 29, dropped: 1 });
    const v = await atc(['cache', 'verify', '--cache', cache, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ segments: 1, entries: 29, droppedSegments: [] });
    expect((await run(sample, cache)).cache.hits).toBe(29);
    // one flipped byte: verify finds it (exit 1) and removes the segment
    const [seg3] = segments(cache);
    const f3 = join(cache, 'segments', seg3 as string);
    const bytes = readFileSync(f3);
    const mid = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(mid) ^ 1, mid);
    writeFileSync(f3, bytes);
    const bad = await atc(['cache', 'verify', '--cache', cache, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ segments: 1, entries: 0, droppedSegments: [seg3] });
    expect((await run(sample, cache)).cache).toMatchObject({ hits: 0, computed: 29 });
  });

  it('a warm job and a run share one cache at the same time', async () => {
    const cache = tempDir();
    const grid = ['--lambda', '0.01:0.04:0.01'];
    const out = tempDir();
    const [w, r] = await Promise.all([
      atc(['warm', '--cache', cache, '--json', '--quiet', ...grid]),
      atc(['run', '--cache', cache, '--out', out, '--json', '--quiet', ...OUTPUTS, ...grid]),
    ]);
    expect(w.code, w.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(w.stdout) as { entries: number; present: number; computed: number };
    expect(report.entries).toBe(29 * 4);
    expect(report.present + report.computed).toBe(29 * 4);
    expectSameTables(out, (await run(sample, null, grid)).out);
    const v = await atc(['cache', 'verify', '--cache', cache, '--json']);
    expect(v.code, v.stderr).toBe(0);
    // after both, everything is present
    const again = await atc(['warm', '--cache', cache, '--json', '--quiet', ...grid]);
    expect(JSON.parse(again.stdout)).toMatchObject({ present: 29 * 4, computed: 0 });
  });

  it('gc --max-size evicts the least recently used entries; gc waits for no run (exclusive lock)', async () => {
    const cache = tempDir();
    await run(sample, cache, ['--lambda', '0.01']);
    await run(sample, cache, ['--lambda', '0.03']);
    await run(sample, cache, ['--lambda', '0.01']); // 0.01 is now the most recently used
    const ls = async () => JSON.parse((await atc(['cache', 'ls', '--cache', cache, '--json', '--limit', '1000'])).stdout) as { param_id: string; bytes: string }[];
    const before = await ls();
    expect(before.length).toBe(58);
    const idOf01 = before[0]?.param_id;
    const half = before.filter((e) => e.param_id === idOf01).reduce((a, e) => a + Number(e.bytes), 0);
    const gc = await atc(['cache', 'gc', '--cache', cache, '--max-size', String(half + 100), '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ entriesBefore: 58, evicted: 29 });
    const after = await ls();
    expect(after.length).toBe(29);
    expect(new Set(after.map((e) => e.param_id))).toEqual(new Set([idOf01]));
    expect((await run(sample, cache, ['--lambda', '0.01'])).cache.hits).toBe(29);
    // a run holding the cache (a live pid's shared lock) keeps gc out
    writeFileSync(join(cache, 'locks', `shared-${process.pid}-test`), String(process.pid));
    const busy = await atc(['cache', 'gc', '--cache', cache, '--max-size', '1']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/ATC_ERR_CACHE_BUSY/);
  });
});
