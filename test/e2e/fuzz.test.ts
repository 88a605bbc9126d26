// Damaged input files given to `atc run` and `atc data import` (in-process, seeded; see
// test/helpers/fuzz.ts): every case a coded error or results that agree with the file, never a
// crash, a hang or a silently different result. `npm run test:edges-heavy` runs thousands.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetFrom, tempDir } from '../helpers/cli.js';
import { fuzz } from '../helpers/fuzz.js';
import { query } from '../helpers/golden.js';

const CASES = Number(process.env.ATC_FUZZ_CASES ?? 150);
const SEED = Number(process.env.ATC_FUZZ_SEED ?? 15);

/** 4 symbols x 150 daily bars, as Parquet and as CSV: the files the cases damage. */
async function bases(dir: string): Promise<{ parquet: string; csv: string }> {
  const parquet = await parquetFrom(
    join(dir, 'base.parquet'),
    `SELECT 'S' || (i // 150) AS symbol, TIMESTAMP '2020-01-01' + INTERVAL (i % 150) DAY AS ts, 100 + sin(i / 7.0) * 10 + (i // 150) AS close FROM range(600) r(i)`,
  );
  const csv = join(dir, 'base.csv');
  await query(`COPY (SELECT * FROM '${parquet}') TO '${csv}' (FORMAT csv, HEADER)`);
  return { parquet, csv };
}

describe('fuzzed inputs', () => {
  it('regressions: cases the heavy script found (uncoded DuckDB errors of damaged Parquet pages in data import)', async () => {
    const dir = tempDir();
    const t = await fuzz(dir, await bases(dir), 1025, 2026, new Set([656, 1024]));
    expect(t.failures).toEqual([]);
    expect(t.coded.ATC_ERR_DATA_READ).toBeGreaterThanOrEqual(2);
  });

  it(`${CASES} damaged Parquet and CSV files (seed ${SEED}): coded errors or faithful results, no crash, hang or silent difference`, async () => {
    const dir = tempDir();
    const t = await fuzz(dir, await bases(dir), CASES, SEED);
    console.log(`fuzz: ${t.cases} cases, ${t.ok} ok, coded ${JSON.stringify(t.coded)}, ${t.failures.length} failures`);
    expect(t.failures).toEqual([]);
    expect(t.ok).toBeGreaterThan(0);
    expect(Object.keys(t.coded).length).toBeGreaterThan(1);
  }, 600_000);
});
