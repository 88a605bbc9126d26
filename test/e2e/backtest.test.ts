// The backtest end to end, checked against independent computations:
//  * positions, returns and equity recomputed in SQL from close and direction;
//  * per-symbol statistics recomputed in SQL from the per-bar returns (the definitions the
//    README states), trades counted from position changes, the portfolio as the mean of the
//    symbols' returns per timestamp;
//  * a sweep gives every set exactly what a run of that set alone gives, in any number of
//    passes, with any chunk size and worker count, on the CUDA engine too where it is usable
//    (stats, summary, trades, portfolio);
//  * a sweep killed with SIGKILL resumes to identical results;
//  * "the best set by median Sharpe across symbols" is one SQL query.

import { beforeAll, describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import { expandGrid } from '../../src/config/grid.js';
import { runJob, type RunJobOptions } from '../../src/pipeline/run.js';
import { atc, runAndKill, tempDir } from '../helpers/cli.js';
import { CUDA_OK } from '../helpers/engines.js';
import { generated } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

const pq = (dir: string, t: string): string => `read_parquet('${dir}/${t}.parquet')`;

/** Rows in one side but not the other, both ways (0 = identical multisets). */
async function differ(a: string, b: string): Promise<number> {
  const r = await query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})) + (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a})) AS n`);
  return Number(r[0]?.n);
}

describe('one set on the sample, checked in SQL', () => {
  const out = tempDir();
  beforeAll(async () => {
    const r = await atc(['run', '--out', out, '--quiet', '--outputs', 'summary,signals,stats,trades,portfolio', '--equity', '--fee-bps', '3', '--slippage-bps', '2', '--capital', '1000']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  const sig = (): string => `read_parquet('${out}/signals/*.parquet')`;

  it('positions, returns and equity follow from close and direction (no look-ahead, costs on changes)', async () => {
    const bad = await query(`
      WITH s AS (SELECT *, row_number() OVER w - 1 AS i, lag(close) OVER w AS pc,
                        coalesce(lag(direction) OVER w, 0) AS held_now FROM ${sig()} WINDOW w AS (PARTITION BY symbol ORDER BY ts)),
      t AS (SELECT *, coalesce(lag(held_now) OVER (PARTITION BY symbol ORDER BY ts), 0) AS held_prev FROM s)
      SELECT count(*) FILTER (position <> held_now) AS pos,
             count(*) FILTER (abs(strategy_return - CASE WHEN i = 0 THEN 0 ELSE held_prev * (close / pc - 1) - 0.0005 * abs(held_now - held_prev) END) > 1e-15) AS ret,
             count(*) AS n
      FROM t`);
    expect(bad[0]).toMatchObject({ pos: 0n, ret: 0n, n: 33069n });
    const eq = await query(`
      WITH s AS (SELECT symbol, ts, equity, product(1 + strategy_return) OVER (PARTITION BY symbol ORDER BY ts) * 1000 AS compounded FROM ${sig()})
      SELECT max(abs(equity / compounded - 1)) AS worst FROM s`);
    expect(Number(eq[0]?.worst)).toBeLessThan(1e-9);
  });

  it('statistics equal their definitions recomputed in SQL from the per-bar returns', async () => {
    const rows = await query(`
      WITH s AS (SELECT *, row_number() OVER w - 1 AS i, coalesce(lag(position) OVER w, 0) AS pprev,
                        max(equity / 1000) OVER (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING) AS peak
                 FROM ${sig()} WINDOW w AS (PARTITION BY symbol ORDER BY ts)),
      y AS (SELECT symbol, count(*) AS bars, (epoch(max(ts)) - epoch(min(ts))) / (365.25 * 86400) AS years FROM s GROUP BY symbol),
      k AS (SELECT s.symbol, any_value(y.bars) AS bars, any_value(y.years) AS years,
                   arg_max(equity, ts) / 1000 - 1 AS total,
                   avg(strategy_return) FILTER (i > 0) AS mean, stddev_samp(strategy_return) FILTER (i > 0) AS sd,
                   sqrt(avg(least(strategy_return, 0) ^ 2) FILTER (i > 0)) AS down,
                   max(1 - (equity / 1000) / greatest(peak, 1)) AS mdd,
                   count(*) FILTER (position <> 0 AND position <> pprev) AS trades,
                   avg((position <> 0)::INT) AS exposure, sum(abs(position - pprev)) AS turnover, arg_max(position, ts) AS final
            FROM s JOIN y USING (symbol) GROUP BY s.symbol)
      SELECT k.symbol,
             abs(st.total_return - k.total) AS d_total,
             abs(st.cagr - CASE WHEN k.total <= -1 THEN -1 ELSE power(1 + k.total, 1 / k.years) - 1 END) AS d_cagr,
             abs(st.volatility - k.sd * sqrt(k.bars / k.years)) AS d_vol,
             abs(st.sharpe - k.mean / k.sd * sqrt(k.bars / k.years)) AS d_sharpe,
             abs(st.sortino - k.mean / k.down * sqrt(k.bars / k.years)) AS d_sortino,
             abs(st.max_drawdown - k.mdd) AS d_mdd,
             abs(st.calmar - CASE WHEN k.total <= -1 THEN -1 ELSE power(1 + k.total, 1 / k.years) - 1 END / k.mdd) AS d_calmar,
             st.trades = k.trades AND st.bars = k.bars AND st.final_position = k.final AND st.turnover = k.turnover AS same_counts,
             abs(st.exposure - k.exposure) AS d_exp
      FROM k JOIN ${pq(out, 'stats')} st USING (symbol)`);
    expect(rows).toHaveLength(29);
    for (const r of rows) {
      expect(r.same_counts, String(r.symbol)).toBe(true);
      for (const k of ['d_total', 'd_cagr', 'd_vol', 'd_sharpe', 'd_sortino', 'd_mdd', 'd_calmar', 'd_exp']) expect(Number(r[k]), `${String(r.symbol)} ${k}`).toBeLessThan(1e-9);
    }
  });

  it('trades match the position changes; win rate and average return match the closed trades', async () => {
    const t = await query(`
      WITH tr AS (SELECT symbol, count(*) AS n, count(*) FILTER (exit_ts IS NOT NULL) AS closed,
                         avg((return > 0)::INT) FILTER (exit_ts IS NOT NULL) AS wr, avg(return) FILTER (exit_ts IS NOT NULL) AS avg_ret
                  FROM ${pq(out, 'trades')} GROUP BY symbol)
      SELECT count(*) FILTER (st.trades <> coalesce(tr.n, 0)) AS bad_n,
             count(*) FILTER (abs(coalesce(st.win_rate, -1) - coalesce(tr.wr, -1)) > 1e-12 OR abs(coalesce(st.avg_trade_return, -1) - coalesce(tr.avg_ret, -1)) > 1e-12) AS bad_rate
      FROM ${pq(out, 'stats')} st LEFT JOIN tr USING (symbol)`);
    expect(t[0]).toMatchObject({ bad_n: 0n, bad_rate: 0n });
    // every entry is a bar where the position changes to its side; every exit the next change
    const e = await query(`
      WITH s AS (SELECT symbol, ts, close, position, coalesce(lag(position) OVER (PARTITION BY symbol ORDER BY ts), 0) AS pprev FROM read_parquet('${out}/signals/*.parquet'))
      SELECT count(*) AS n FROM ${pq(out, 'trades')} tr LEFT JOIN s ON s.symbol = tr.symbol AND s.ts = tr.entry_ts
      WHERE s.position IS DISTINCT FROM (CASE tr.side WHEN 'long' THEN 1 ELSE -1 END) OR s.pprev = s.position OR s.close <> tr.entry_price`);
    expect(e[0]?.n).toBe(0n);
  });

  it('the portfolio is the mean return of the symbols trading at each timestamp, compounded', async () => {
    const r = await query(`
      WITH s AS (SELECT ts, strategy_return AS r, row_number() OVER (PARTITION BY symbol ORDER BY ts) - 1 AS i FROM read_parquet('${out}/signals/*.parquet')),
      m AS (SELECT ts, avg(r) AS ret, count(*) AS n FROM s WHERE i > 0 GROUP BY ts)
      SELECT count(*) AS rows, max(abs(p.return - m.ret)) AS worst, count(*) FILTER (p.symbols <> m.n) AS bad_n
      FROM m JOIN ${pq(out, 'portfolio')} p USING (ts)`);
    expect(Number(r[0]?.worst)).toBeLessThan(1e-15);
    expect(r[0]?.bad_n).toBe(0n);
    const n = await query(`SELECT count(*) AS n, max(abs(equity / (1000 * c) - 1)) AS worst FROM (SELECT equity, product(1 + return) OVER (ORDER BY ts) AS c FROM ${pq(out, 'portfolio')})`);
    expect(n[0]?.n).toBe(r[0]?.rows);
    expect(Number(n[0]?.worst)).toBeLessThan(1e-9);
    const st = await query(`SELECT * FROM ${pq(out, 'portfolio_stats')}`);
    expect(st).toHaveLength(1);
    const curve = await query(`SELECT arg_max(equity, ts) / 1000 - 1 AS total FROM ${pq(out, 'portfolio')}`);
    expect(Math.abs(Number(st[0]?.total_return) - Number(curve[0]?.total))).toBeLessThan(1e-12);
  });
});

/** Stats, summary, trades and portfolio of a run, one param_id's rows, as comparable relations. */
const tables = ['stats', 'summary', 'trades', 'portfolio', 'portfolio_stats'] as const;

const grid = { lambda: '0.01,0.05', decay: '0.03,0.2', cutout: '0,30', 'fee-bps': '0,4', mode: 'long-short,long-only' } as const;
const sets = expandGrid(grid).filter((_, i) => i % 5 === 0); // 7 sets
const base = (out: string, extra: Partial<RunJobOptions> = {}): RunJobOptions => ({
  data: sampleDataset(),
  out,
  sets,
  engine: 'auto',
  outputs: ['summary', 'stats', 'trades', 'portfolio'],
  workers: 2,
  chunkBars: 524_288,
  badRows: 'error',
  minSignal: 0.01,
  capital: 1,
  equity: false,
  checkpointSecs: 0,
  overwrite: true,
  cache: undefined,
  log: () => undefined,
  ...extra,
});

describe('a sweep gives every set what it gets alone', () => {
  const dirs: Record<string, string> = {};
  beforeAll(async () => {
    dirs.sweep = tempDir();
    await runJob(base(dirs.sweep));
    // three passes, small chunks cutting symbols into blocks, one worker
    dirs.passes = tempDir();
    const r = await runJob(base(dirs.passes, { groupSize: 3, chunkBars: 700, workers: 1 }));
    expect(r.passes).toBe(3);
  });

  it('in any number of passes, chunk size and worker count (bit for bit)', async () => {
    for (const t of tables) expect(await differ(pq(dirs.sweep!, t), pq(dirs.passes!, t)), t).toBe(0);
  });

  it('equal to single-set runs of each set (bit for bit)', async () => {
    for (const s of [sets[0]!, sets[3]!, sets[6]!]) {
      const one = tempDir();
      await runJob(base(one, { sets: [s] }));
      for (const t of tables) {
        const mine = `(SELECT * FROM ${pq(dirs.sweep!, t)} WHERE param_id = '${s.id}')`;
        expect(await differ(mine, pq(one, t)), `${s.id} ${t}`).toBe(0);
      }
    }
  });

  it('params maps every id to its values; the best set by median Sharpe is one query', async () => {
    const p = await query(`SELECT count(*) AS n, count(DISTINCT param_id) AS d FROM ${pq(dirs.sweep!, 'params')}`);
    expect(p[0]).toMatchObject({ n: 7n, d: 7n });
    const r = await atc(['sql', 'SELECT param_id, la, decay, median(sharpe) AS med FROM stats JOIN params USING (param_id) GROUP BY ALL ORDER BY med DESC LIMIT 1', '--out', dirs.sweep!, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const best = JSON.parse(r.stdout)[0];
    const check = await query(`SELECT param_id FROM ${pq(dirs.sweep!, 'stats')} GROUP BY 1 ORDER BY median(sharpe) DESC LIMIT 1`);
    expect(best.param_id).toBe(check[0]?.param_id);
  });
});

// Runs under `npm run test:cuda` (the host build) and where a GPU is usable.
describe.skipIf(!CUDA_OK)('the CUDA engine', () => {
  it("gives the Rust engine's tables, with symbols cut into blocks (bit for bit)", async () => {
    const [r, c] = [tempDir(), tempDir()];
    await runJob(base(r, { engine: 'rust' }));
    expect((await runJob(base(c, { engine: 'cuda', chunkBars: 700 }))).engine.engine).toBe('cuda');
    for (const t of tables) expect(await differ(pq(r, t), pq(c, t)), t).toBe(0);
  });
});

describe('a sweep killed with SIGKILL resumes to identical results', () => {
  let data: string;
  const args = ['--lambda', '0.01,0.03', '--cutout', '0,20', '--outputs', 'summary,stats,trades,portfolio', '--chunk-bars', '20000', '--workers', '2', '--checkpoint', '0', '--quiet'];
  let reference: string;
  beforeAll(async () => {
    data = await generated(tempDir(), 300, 2000, 23);
    reference = tempDir();
    const r = await atc(['run', '--data', data, '--out', reference, ...args]);
    if (r.code !== 0) throw new Error(r.stderr);
  });

  it('finished commits are kept, the rest recomputed, the tables identical', async () => {
    const out = tempDir();
    const killed = await runAndKill(out, 3, ['--data', data, ...args]);
    expect(killed).toBe(true);
    const r = await atc(['run', '--data', data, '--out', out, ...args.filter((a) => a !== '--quiet'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).resumedSymbols).toBeGreaterThan(0);
    for (const t of tables) expect(await differ(pq(reference, t), pq(out, t)), t).toBe(0);
  });
});
