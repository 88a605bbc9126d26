// Every example in examples/ runs (as a user would: node on the built file, importing the
// package by its name) and its answer equals an independent computation over the results.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/golden.js';

const run = async (name: string, ...args: string[]): Promise<Record<string, unknown>> => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'examples', `${name}.js`), ...args], { env: { ...process.env, ATC_CACHE_DIR: 'off' } });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
};

describe('examples', () => {
  it('sweep-best-sharpe: the best set by median Sharpe is the one SQL finds', async () => {
    const out = join(tempDir(), 'sweep');
    const r = await run('sweep-best-sharpe', out);
    const [best] = await query(
      `SELECT s.param_id, median(sharpe) AS m, any_value(la) AS la, any_value(decay) AS decay FROM '${out}/stats.parquet' s JOIN '${out}/params.parquet' USING (param_id)
       WHERE sharpe IS NOT NULL GROUP BY ALL ORDER BY m DESC, s.param_id LIMIT 1`,
    );
    expect(r).toEqual({ best: best?.param_id, medianSharpe: best?.m, lambda: best?.la, decay: best?.decay, out });
    expect(Number((await query(`SELECT count(*) AS n FROM '${out}/params.parquet'`))[0]?.n)).toBe(9);
  });

  it('stats-arrow: the Arrow file holds the stats and the mean return is right', async () => {
    const out = join(tempDir(), 'arrow');
    const r = await run('stats-arrow', out);
    const [ref] = await query(`SELECT count(*) AS n, avg(total_return) AS m FROM '${out}/stats.parquet' WHERE sharpe IS NOT NULL`);
    expect(r.rows).toBe(Number(ref?.n));
    expect(r.meanTotalReturn as number).toBeCloseTo(ref?.m as number, 12);
    const t = tableFromIPC(readFileSync(r.file as string));
    expect(t.numRows).toBe(Number(ref?.n));
  });

  it('stream-aggregate: per-symbol counts equal the same run written as signals', async () => {
    const out = join(tempDir(), 'signals');
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'bin.js'), 'run', '--outputs', 'signals', '--out', out, '--chunk-bars', '8192', '--no-cache', '--quiet']);
    expect(stdout).toBe('');
    const r = await run('stream-aggregate');
    const ref = await query(
      `SELECT symbol, count(*) AS bars, count(*) FILTER (WHERE direction = 1) AS long, count(*) FILTER (WHERE direction = -1) AS short, avg("Average_Signal") AS m
       FROM read_parquet('${out}/signals/*.parquet') GROUP BY symbol ORDER BY symbol`,
    );
    const got = r.symbols as Record<string, { bars: number; long: number; short: number; meanSignal: number }>;
    expect(Object.keys(got).sort()).toEqual(ref.map((x) => x.symbol));
    for (const x of ref) {
      const g = got[x.symbol as string];
      expect([g?.bars, g?.long, g?.short]).toEqual([Number(x.bars), Number(x.long), Number(x.short)]);
      expect(g?.meanSignal).toBeCloseTo(x.m as number, 12);
    }
  });
});
