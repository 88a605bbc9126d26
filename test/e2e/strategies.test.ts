// Strategies as plug-ins through the whole pipeline: Supertrend on the golden input (every
// golden row in the signals, in both engines, symbols cut into blocks), precomputed signals and
// a user module (examples/strategies/sma-cross.js) whose statistics equal an independent
// recomputation, and the coded errors of bad inputs and bad modules.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../src/index.js';
import { atc, parquetFrom, ROOT, tempDir } from '../helpers/cli.js';
import { NATIVE_OK } from '../helpers/engines.js';
import { SAMPLE } from '../helpers/fixtures.js';
import { GOLDEN_DIR, query } from '../helpers/golden.js';

const quiet = { logger: () => undefined, cache: false as const };
const ST = join(GOLDEN_DIR, 'supertrend');
const M = JSON.parse(readFileSync(join(ST, 'manifest.json'), 'utf8')) as { files: { file: string; parameters: { factor: number; atr_period: number } }[] };
const engines = NATIVE_OK ? (['rust', 'ts'] as const) : (['ts'] as const);
const TABLES = ['summary', 'stats', 'trades', 'portfolio', 'portfolio_stats', 'params'] as const;

/** Rows in one side but not the other, both ways (0 = identical multisets). */
async function differ(a: string, b: string): Promise<number> {
  const r = await query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})) + (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a})) AS n`);
  return Number(r[0]?.n);
}

/** Total return and entries of a long-short backtest without costs of directions decided at each close and filled at the next. */
function replay(closes: readonly number[], dirs: readonly number[]): { totalReturn: number; trades: number } {
  let equity = 1;
  let trades = 0;
  let heldPrev = 0;
  for (let i = 0; i < closes.length; i++) {
    const held = i === 0 ? 0 : (dirs[i - 1] as number);
    if (i > 0) equity *= 1 + heldPrev * ((closes[i] as number) / (closes[i - 1] as number) - 1);
    if (held !== 0 && held !== heldPrev) trades++;
    heldPrev = held;
  }
  return { totalReturn: equity - 1, trades };
}

/** Per symbol: closes and extra columns of a Parquet file in symbol, ts order. */
async function series(file: string, cols: string[]): Promise<Map<string, Record<string, number[]>>> {
  const rows = await query(`SELECT symbol, close${cols.map((c) => `, ${c}`).join('')} FROM '${file}' ORDER BY symbol, ts`);
  const out = new Map<string, Record<string, number[]>>();
  for (const r of rows) {
    const s = String(r.symbol);
    if (!out.has(s)) out.set(s, Object.fromEntries(['close', ...cols].map((c) => [c, []])));
    for (const c of ['close', ...cols]) (out.get(s) as Record<string, number[]>)[c]?.push(r[c] === null ? NaN : Number(r[c]));
  }
  return out;
}

async function expectStats(dir: string, expected: Map<string, { totalReturn: number; trades: number }>, where = 'true'): Promise<void> {
  const stats = await query(`SELECT symbol, total_return, trades FROM '${join(dir, 'stats.parquet')}' WHERE ${where} ORDER BY symbol`);
  expect(stats.length).toBe(expected.size);
  for (const s of stats) {
    const e = expected.get(String(s.symbol));
    expect(Number(s.trades), String(s.symbol)).toBe(e?.trades);
    expect(Math.abs(Number(s.total_return) - (e?.totalReturn ?? NaN)), String(s.symbol)).toBeLessThan(1e-12 * Math.max(1, Math.abs(e?.totalReturn ?? 0)));
  }
}

describe('supertrend', () => {
  const dir = tempDir();
  const params = { factor: M.files.map((f) => f.parameters.factor).join(','), atrPeriod: M.files.map((f) => f.parameters.atr_period).join(',') };
  beforeAll(async () => {
    // chunks of 3000 bars cut the golden symbols into blocks; the two engines use different cuts
    for (const [k, engine] of engines.entries()) {
      await backtest({ ...quiet, strategy: 'supertrend', data: join(ST, 'input.parquet'), out: join(dir, engine), engine, chunkBars: 3000 + 1000 * k, params, outputs: ['signals', 'summary', 'stats', 'trades', 'portfolio'] });
    }
  });

  it.each(M.files.map((f) => [f.file, f]))('signals hold every golden row of %s: the line and ATR bit for bit, the trading direction by contract section 6', async (file, f) => {
    for (const engine of engines) {
      const bad = await query(`
        WITH g0 AS (SELECT *, CASE WHEN direction <> lag(direction) OVER (PARTITION BY symbol ORDER BY ts) THEN 1 ELSE 0 END AS flip FROM '${join(ST, file)}'),
             g AS (SELECT *, sum(flip) OVER (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING) AS flips FROM g0),
             p AS (SELECT param_id FROM '${join(dir, engine, 'params.parquet')}' WHERE factor = ${f.parameters.factor} AND atr_period = ${f.parameters.atr_period}),
             s AS (SELECT * FROM read_parquet('${join(dir, engine, 'signals')}/*.parquet') WHERE param_id = (SELECT param_id FROM p))
        SELECT count(*) AS n, count(*) FILTER (WHERE s.symbol IS NULL OR g.symbol IS NULL
                 OR s.supertrend IS DISTINCT FROM g.supertrend OR s.atr IS DISTINCT FROM g.atr
                 OR s.direction IS DISTINCT FROM (CASE WHEN g.flips > 0 THEN -g.direction END)) AS bad
        FROM s FULL JOIN g USING (symbol, ts)`);
      expect(Number(bad[0]?.n), engine).toBeGreaterThan(20000);
      expect(Number(bad[0]?.bad), engine).toBe(0);
    }
  });

  it('the engines and chunk sizes give the same tables; params carry the strategy', async () => {
    if (engines.length < 2) return;
    for (const t of TABLES) expect(await differ(`'${join(dir, 'rust', `${t}.parquet`)}'`, `'${join(dir, 'ts', `${t}.parquet`)}'`), t).toBe(0);
    expect(await differ(`read_parquet('${join(dir, 'rust', 'signals')}/*.parquet')`, `read_parquet('${join(dir, 'ts', 'signals')}/*.parquet')`)).toBe(0);
    const p = await query(`SELECT DISTINCT strategy FROM '${join(dir, 'rust', 'params.parquet')}'`);
    expect(p.map((r) => r.strategy)).toEqual(['supertrend']);
  });

  it('trades follow the signals direction (stats equal a replay of it)', async () => {
    const id = (await query(`SELECT param_id FROM '${join(dir, engines[0], 'params.parquet')}' WHERE factor = 3 AND atr_period = 10`))[0]?.param_id as string;
    const rows = await query(`SELECT symbol, close, coalesce(direction, 0) AS d FROM read_parquet('${join(dir, engines[0], 'signals')}/*.parquet') WHERE param_id = '${id}' ORDER BY symbol, ts`);
    const by = new Map<string, { c: number[]; d: number[] }>();
    for (const r of rows) {
      const e = by.get(String(r.symbol)) ?? { c: [], d: [] };
      e.c.push(Number(r.close));
      e.d.push(Number(r.d));
      by.set(String(r.symbol), e);
    }
    await expectStats(join(dir, engines[0]), new Map([...by].map(([s, e]) => [s, replay(e.c, e.d)])), `param_id = '${id}'`);
  });
});

describe('signal: precomputed directions', () => {
  const dir = tempDir();
  let data: string;
  beforeAll(async () => {
    data = await parquetFrom(
      join(dir, 'signals.parquet'),
      `SELECT symbol, ts, close, CASE WHEN row_number() OVER (PARTITION BY symbol ORDER BY ts) % 11 = 0 THEN NULL
              WHEN close > lag(close) OVER (PARTITION BY symbol ORDER BY ts) THEN 1 WHEN close < lag(close) OVER (PARTITION BY symbol ORDER BY ts) THEN -1 ELSE 0 END::INTEGER AS sig
       FROM '${SAMPLE}' ORDER BY symbol, ts`,
    );
  });

  it('backtests the column (NULL holds the previous value) and its stats equal an independent replay', async () => {
    const r = await backtest({ ...quiet, strategy: 'signal', signalCol: 'sig', data, out: join(dir, 'run'), chunkBars: 700, outputs: ['signals', 'summary', 'stats'] });
    expect(r.symbols).toBe(29);
    const expected = new Map<string, { totalReturn: number; trades: number }>();
    for (const [s, c] of await series(data, ['sig'])) {
      let held = 0;
      const dirs = (c.sig as number[]).map((v) => (held = Number.isNaN(v) ? held : v));
      expected.set(s, replay(c.close as number[], dirs));
    }
    await expectStats(join(dir, 'run'), expected);
    const d = await query(`SELECT count(*) FILTER (WHERE direction = 0) AS flat, count(*) FILTER (WHERE direction IS NULL) AS nulls FROM read_parquet('${join(dir, 'run', 'signals')}/*.parquet')`);
    expect(Number(d[0]?.flat)).toBeGreaterThan(0); // 0 is flat here, not NULL
    expect(Number(d[0]?.nulls)).toBe(0);
  });

  it('sweeps the trading rule; a value other than 1, 0, -1 follows the bad-row policy', async () => {
    const r = await backtest({ ...quiet, strategy: 'signal', signalCol: 'sig', data, out: join(dir, 'sweep'), params: { mode: 'long-short,long-only', feeBps: '0,5' } });
    expect(r.sets).toBe(4);
    const bad = await parquetFrom(join(dir, 'bad.parquet'), `SELECT symbol, ts, close, CASE WHEN symbol = 'AAPL' AND ts = (SELECT min(ts) FROM '${data}') THEN 2 ELSE sig END AS sig FROM '${data}' ORDER BY symbol, ts`);
    await expect(backtest({ ...quiet, strategy: 'signal', signalCol: 'sig', data: bad, out: join(dir, 'bad') })).rejects.toMatchObject({ code: 'ATC_ERR_BAD_VALUE', symbol: 'AAPL' });
    const dropped = await backtest({ ...quiet, strategy: 'signal', signalCol: 'sig', data: bad, out: join(dir, 'dropped'), badRows: 'drop' });
    expect(dropped.rejects).toBe(1);
    await expect(backtest({ ...quiet, strategy: 'signal', data, out: join(dir, 'nocol') })).rejects.toMatchObject({ code: 'ATC_ERR_MISSING_COLUMN' });
  });
});

describe('user strategy module', () => {
  const dir = tempDir();
  const module = join(ROOT, 'examples', 'strategies', 'sma-cross.js');

  it('examples/strategies/sma-cross.js: stats equal an independent recomputation, whatever the blocks', async () => {
    const a = await atc(['run', '--strategy', module, '--param', 'fast=5', '--param', 'slow=20', '--out', join(dir, 'a'), '--no-cache', '--quiet']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    // the module's documented rule over whole series (running sums, as it computes them: flat
    // stretches of the sample make exact ties, which other summations would break differently)
    const expected = new Map<string, { totalReturn: number; trades: number }>();
    for (const [s, c] of await series(SAMPLE, [])) {
      const x = c.close as number[];
      let sf = 0;
      let sl = 0;
      const dirs = x.map((v, i) => {
        sf += v;
        sl += v;
        if (i >= 5) sf -= x[i - 5] as number;
        if (i >= 20) sl -= x[i - 20] as number;
        const f = i >= 4 ? sf / 5 : NaN;
        const l = i >= 19 ? sl / 20 : NaN;
        return f > l ? 1 : f < l ? -1 : 0;
      });
      expected.set(s, replay(x, dirs));
    }
    await expectStats(join(dir, 'a'), expected);
    // symbols cut into blocks of 300 bars (the state carries across) give the same files
    await backtest({ ...quiet, strategy: module, params: { fast: 5, slow: 20 }, out: join(dir, 'b'), chunkBars: 300 });
    for (const t of ['summary', 'stats', 'params']) expect(await differ(`'${join(dir, 'a', `${t}.parquet`)}'`, `'${join(dir, 'b', `${t}.parquet`)}'`), t).toBe(0);
    const p = await query(`SELECT strategy, fast, slow FROM '${join(dir, 'a', 'params.parquet')}'`);
    expect(p).toEqual([{ strategy: 'sma-cross', fast: 5n, slow: 20n }]);
  });

  it('what a module does wrong is ATC_ERR_STRATEGY naming the strategy, symbol and bars', async () => {
    const write = (name: string, body: string): string => {
      const f = join(dir, name);
      writeFileSync(f, body);
      return f;
    };
    const base = (step: string): string =>
      `export default { name: 'bad', version: 1, params: { k: { default: 1 } }, inputs: ['close'], outputs: ['x'], init: () => ({ n: 0 }), step(state, p, input, out) { ${step} } };`;
    const throws = write('throws.js', base("if (input.close.length > 0) throw new Error('boom'); return state;"));
    await expect(backtest({ ...quiet, strategy: throws, out: join(dir, 't') })).rejects.toMatchObject({ code: 'ATC_ERR_STRATEGY', message: expect.stringMatching(/bad.*AAPL.*bars 0\.\..*boom/) });
    const nonsense = write('dir2.js', base('out.direction.fill(2); return state;'));
    await expect(backtest({ ...quiet, strategy: nonsense, out: join(dir, 'n') })).rejects.toMatchObject({ code: 'ATC_ERR_STRATEGY', message: expect.stringMatching(/direction at bar 0 is 2/) });
    const nan = write('nan.js', base('out.direction.fill(NaN); return state;'));
    await expect(backtest({ ...quiet, strategy: nan, out: join(dir, 'nan') })).rejects.toMatchObject({ code: 'ATC_ERR_STRATEGY' });
    const noState = write('nostate.js', base('return undefined;'));
    await expect(backtest({ ...quiet, strategy: noState, out: join(dir, 'u') })).rejects.toMatchObject({ code: 'ATC_ERR_STRATEGY', message: expect.stringMatching(/must return the state/) });
    const shape = write('shape.js', 'export default { name: 1 };');
    await expect(backtest({ ...quiet, strategy: shape, out: join(dir, 's') })).rejects.toMatchObject({ code: 'ATC_ERR_STRATEGY' });
    const r = await atc(['run', '--strategy', module, '--param', 'fast=0', '--out', join(dir, 'p'), '--no-cache']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sma-cross: fast must be an integer in \[1, 400\], got 0/);
  });
});

describe('input columns of a strategy follow the bad-row rules', () => {
  const dir = tempDir();
  it('NULL high/low and high < low: a coded error naming the symbol, or the policy', async () => {
    // the sample has a few NULL high/low rows
    await expect(backtest({ ...quiet, strategy: 'supertrend', out: join(dir, 'e') })).rejects.toMatchObject({ code: 'ATC_ERR_NULL_VALUE', file: SAMPLE });
    const r = await backtest({ ...quiet, strategy: 'supertrend', out: join(dir, 'd'), badRows: 'drop' });
    const rej = await query(`SELECT reason, detail FROM '${join(dir, 'd', 'rejects.parquet')}'`);
    expect(r.rejects).toBe(rej.length);
    expect(rej.every((x) => x.reason === 'ATC_ERR_NULL_VALUE' && /^(open|high|low) is NULL$/.test(String(x.detail)))).toBe(true);
    const swapped = await parquetFrom(join(dir, 'hl.parquet'), `SELECT symbol, ts, CASE WHEN symbol = 'MSFT' AND month(ts) = 3 AND day(ts) = 15 THEN low ELSE high END AS high, CASE WHEN symbol = 'MSFT' AND month(ts) = 3 AND day(ts) = 15 THEN high ELSE low END AS low, close FROM '${SAMPLE}' WHERE high IS NOT NULL AND low IS NOT NULL AND high > low ORDER BY symbol, ts`);
    await expect(backtest({ ...quiet, strategy: 'supertrend', data: swapped, out: join(dir, 'hl') })).rejects.toMatchObject({ code: 'ATC_ERR_BAD_VALUE', symbol: 'MSFT' });
  });
});
