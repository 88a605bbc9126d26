// Extreme shapes of data, small versions (`npm run test:edges-heavy` runs the large ones):
// a symbol longer than a chunk (time blocks) at several chunk sizes, 1 KB and non-ASCII symbol
// names, every timestamp type, and a directory whose files overlap in time for a symbol.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../src/api/backtest.js';
import { importBars } from '../../src/data/import.js';
import { openDb } from '../../src/data/duckdb.js';
import { parquetFrom, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/golden.js';

const TABLES = ['summary', 'stats', 'trades'] as const;

/** Rows in one table and not the other (both ways), over the given tables of two runs. */
async function differences(a: string, b: string, tables: readonly string[] = TABLES): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [x, y] = [`'${join(a, `${t}.parquet`)}'`, `'${join(b, `${t}.parquet`)}'`];
    const r = await query(`SELECT (SELECT count(*) FROM (FROM ${x} EXCEPT ALL FROM ${y})) + (SELECT count(*) FROM (FROM ${y} EXCEPT ALL FROM ${x})) AS n`);
    out[t] = Number(r[0]?.n);
  }
  return out;
}

const none = Object.fromEntries(TABLES.map((t) => [t, 0]));

function run(data: string, out: string, extra: Parameters<typeof backtest>[0] = {}) {
  return backtest({ data, out, cache: false, workers: 2, outputs: [...TABLES], logger: () => undefined, ...extra });
}

// three symbols; the middle one has 9,000 bars (longer than the small chunks below)
const BARS = `SELECT symbol, TIMESTAMP '2001-01-01' + INTERVAL (i) HOUR AS ts, 50 + 10 * sin(i / (9.0 + k)) + i / 1000.0 + k AS close
  FROM (VALUES ('A', 0, 700), ('B', 1, 9000), ('C', 2, 800)) s(symbol, k, n), range(n) r(i)`;

describe('extreme shapes (small versions)', () => {
  const dir = tempDir();
  let base = '';
  let whole = '';
  beforeAll(async () => {
    base = await parquetFrom(join(dir, 'base.parquet'), `${BARS} ORDER BY symbol, ts`);
    whole = join(dir, 'whole');
    await run(base, whole, { chunkBars: 1 << 20 });
  });

  it('a symbol longer than a chunk: the same bits at chunk sizes 1,000 and 4,096 as in one chunk', async () => {
    for (const chunkBars of [1_000, 4_096]) {
      const out = join(dir, `chunk-${chunkBars}`);
      await run(base, out, { chunkBars });
      expect(await differences(whole, out), `--chunk-bars ${chunkBars}`).toEqual(none);
    }
  });

  it('1 KB and non-ASCII symbol names come through unchanged', async () => {
    const names = ['Ω-指数/€', 'x'.repeat(1024), 'ünï cödé 🚀'];
    const f = await parquetFrom(
      join(dir, 'names.parquet'),
      `SELECT CASE symbol WHEN 'A' THEN '${names[0]}' WHEN 'B' THEN '${names[1]}' ELSE '${names[2]}' END AS symbol, ts, close FROM (${BARS}) ORDER BY symbol, ts`,
    );
    const out = join(dir, 'names');
    await run(f, out, { chunkBars: 4_096 });
    const rows = await query(`SELECT symbol, bars FROM '${out}/summary.parquet' ORDER BY symbol`);
    expect(rows.map((r) => [r.symbol, Number(r.bars)])).toEqual([...names].sort().map((n) => [n, n === names[1] ? 9000 : n === names[0] ? 700 : 800]));
    // the same numbers as under plain names
    const [d] = await query(
      `SELECT count(*) AS n FROM (SELECT * EXCLUDE (symbol) FROM '${out}/stats.parquet' EXCEPT ALL SELECT * EXCLUDE (symbol) FROM '${whole}/stats.parquet')`,
    );
    expect(Number(d?.n)).toBe(0);
  });

  it('ts as DATE, TIMESTAMP_S/MS/NS and TIMESTAMPTZ gives the results of TIMESTAMP; epoch integers are refused by run and converted by data import', async () => {
    // daily bars so that DATE holds the same instants
    const daily = `SELECT symbol, CAST(ts AS DATE) AS d, close FROM (SELECT symbol, TIMESTAMP '1990-01-01' + INTERVAL (i) DAY AS ts, 50 + 10 * sin(i / (9.0 + k)) + k AS close FROM (VALUES ('A', 0, 700), ('B', 1, 900)) s(symbol, k, n), range(n) r(i))`;
    const ref = await parquetFrom(join(dir, 'ts-ref.parquet'), `SELECT symbol, CAST(d AS TIMESTAMP) AS ts, close FROM (${daily}) ORDER BY ALL`);
    const refOut = join(dir, 'ts-ref');
    await run(ref, refOut);
    const types: Record<string, string> = {
      date: 'd',
      timestamp_s: 'CAST(d AS TIMESTAMP_S)',
      timestamp_ms: 'CAST(d AS TIMESTAMP_MS)',
      timestamp_ns: 'CAST(d AS TIMESTAMP_NS)',
      timestamptz: `CAST(d AS TIMESTAMP) AT TIME ZONE 'UTC'`,
    };
    for (const [name, sql] of Object.entries(types)) {
      const f = await parquetFrom(join(dir, `ts-${name}.parquet`), `SELECT symbol, ${sql} AS ts, close FROM (${daily}) ORDER BY symbol, d`);
      const out = join(dir, `ts-${name}`);
      await run(f, out);
      expect(await differences(refOut, out), name).toEqual(none);
    }
    const epoch = await parquetFrom(join(dir, 'ts-epoch.parquet'), `SELECT symbol, epoch(CAST(d AS TIMESTAMP))::BIGINT AS ts, close FROM (${daily}) ORDER BY symbol, d`);
    await expect(run(epoch, join(dir, 'ts-epoch'))).rejects.toMatchObject({ code: 'ATC_ERR_COLUMN_TYPE', message: expect.stringMatching(/"ts" is BIGINT.*atc data import/) });
    const db = await openDb();
    try {
      for (const unit of ['s', 'ms', 'us', 'ns'] as const) {
        const scale = { s: '', ms: ' * 1000', us: ' * 1000000', ns: ' * 1000000000' }[unit];
        const src = await parquetFrom(join(dir, `epoch-${unit}.parquet`), `SELECT symbol, epoch(CAST(d AS TIMESTAMP))::BIGINT${scale} AS ts, close FROM (${daily})`);
        const imported = join(dir, `imported-${unit}.parquet`);
        expect((await importBars(db.conn, { from: src, to: imported })).tsUnit).toBe(unit);
        const out = join(dir, `epoch-${unit}`);
        await run(imported, out);
        expect(await differences(refOut, out), `epoch ${unit}`).toEqual(none);
      }
    } finally {
      db.close();
    }
  });

  it('a directory whose files overlap in time for a symbol: duplicate timestamps go through the bad-row policy', async () => {
    const parts = join(dir, 'overlap');
    mkdirSync(parts);
    // B's bars 4,000..4,999 are in both files (same values)
    await parquetFrom(join(parts, 'p1.parquet'), `SELECT * FROM (${BARS}) WHERE symbol <> 'B' OR ts < TIMESTAMP '2001-01-01' + INTERVAL 5000 HOUR ORDER BY symbol, ts`);
    await parquetFrom(join(parts, 'p2.parquet'), `SELECT * FROM (${BARS}) WHERE symbol = 'B' AND ts >= TIMESTAMP '2001-01-01' + INTERVAL 4000 HOUR ORDER BY symbol, ts`);
    await expect(run(parts, join(dir, 'overlap-error'))).rejects.toMatchObject({ code: 'ATC_ERR_DUPLICATE_TS', symbol: 'B' });
    const out = join(dir, 'overlap-drop');
    const r = await run(parts, out, { badRows: 'drop' });
    expect(r.rejects).toBe(1000);
    const [rej] = await query(`SELECT count(*) AS n, min(reason) AS lo, max(reason) AS hi, min(symbol) AS s, max(symbol) AS t FROM '${out}/rejects.parquet'`);
    expect([Number(rej?.n), rej?.lo, rej?.hi, rej?.s, rej?.t]).toEqual([1000, 'ATC_ERR_DUPLICATE_TS', 'ATC_ERR_DUPLICATE_TS', 'B', 'B']);
    expect(await differences(whole, out)).toEqual(none);
  });
});
