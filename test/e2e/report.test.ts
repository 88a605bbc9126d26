// `atc report` end to end:
//  * per-bar series recomputed for the symbol view equal the run's signals bit for bit (sweeps
//    with costs, modes and capital, on the sample and on a generated universe of many row
//    groups; a run that dropped bad rows);
//  * reports of a sweep and of a single set, on the embedded sample and on a generated universe,
//    opened in headless Chromium as a person would: no console error, no request but the file,
//    every canvas drawn, a click on a symbol row draws that symbol, changing the sweep
//    heatmap's axes redraws it, and numbers on the page equal the run's Parquet. A screenshot
//    of each goes to test-artifacts/ (git-ignored).
// The browser part skips, saying why, only where no Chromium can be found (.ci/run installs it).

import { mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/data/duckdb.js';
import { type Browser, findChromium, launchChromium, openReport, type OpenedReport } from '../../src/report/browser.js';
import { readSets } from '../../src/report/gather.js';
import { buildReport } from '../../src/report/index.js';
import { outputNames, type RunSource, type SymbolSeries, symbolSeries } from '../../src/report/series.js';
import { resolveStrategy } from '../../src/strategies/registry.js';
import type { Strategy } from '../../src/strategies/types.js';
import { createViews } from '../../src/results/views.js';
import { atc, ROOT, tempDir } from '../helpers/cli.js';
import { faultyFile, generated } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

async function run(out: string, args: string[]): Promise<void> {
  const r = await atc(['run', '--out', out, '--quiet', '--no-cache', ...args]);
  if (r.code !== 0) throw new Error(r.stderr);
}

/** Same bits: equal element by element, NaN equal to NaN, 0 not equal to -0. */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

// The runs, shared by both parts. The single set on the sample and the generated sweep write
// signals (with equity); the others' reports recompute their symbols' series. (At most four
// sets with signals: with --workers 2, a fifth pass waits forever for a pool slot today.)
const dir = tempDir();
const runs = {
  sampleSingle: join(dir, 'sample-single'),
  sampleSweep: join(dir, 'sample-sweep'),
  genSingle: join(dir, 'gen-single'),
  genSweep: join(dir, 'gen-sweep'),
  dropped: join(dir, 'dropped'),
  supertrend: join(dir, 'supertrend'),
  user: join(dir, 'user'),
};
const SMA_CROSS = join(ROOT, 'examples', 'strategies', 'sma-cross.js');
beforeAll(async () => {
  // 150 symbols x 1,200 daily bars: several row groups
  const gen = await generated(dir, 150, 1200, 11, '1d');
  await Promise.all([
    run(runs.sampleSingle, ['--outputs', 'summary,stats,trades,portfolio,signals', '--equity', '--capital', '100', '--fee-bps', '3', '--slippage-bps', '2']),
    run(runs.sampleSweep, ['--outputs', 'summary,stats,portfolio', '--decay', '0.03,0.1', '--mode', 'long-short,long-only', '--fee-bps', '0,7']),
  ]);
  await Promise.all([
    run(runs.genSingle, ['--data', gen, '--outputs', 'summary,stats,portfolio']),
    run(runs.genSweep, ['--data', gen, '--outputs', 'stats,portfolio,signals', '--equity', '--capital', '1000', '--cutout', '20', '--mode', 'long-short,short-only', '--fee-bps', '5']),
    run(runs.dropped, ['--data', await faultyFile(dir), '--bad-rows', 'drop', '--outputs', 'stats,signals', '--equity', '--slippage-bps', '3']),
  ]);
  // strategies: Supertrend (OHLC; the sample's NULL highs skip their symbols) and a user module
  await Promise.all([
    run(runs.supertrend, ['--strategy', 'supertrend', '--factor', '2,3', '--atr-period', '7', '--bad-rows', 'skip-symbol', '--outputs', 'summary,stats,portfolio,signals', '--equity', '--fee-bps', '4']),
    run(runs.user, ['--strategy', SMA_CROSS, '--param', 'fast=5', '--param', 'slow=20', '--outputs', 'summary,stats,trades,signals', '--equity', '--mode', 'long-only']),
  ]);
});

describe('symbolSeries: recomputed per-bar series equal the run’s signals', () => {
  async function both(out: string, symbols: string[]): Promise<{ set: string; signals: SymbolSeries[]; recomputed: SymbolSeries[]; strategy: Strategy | undefined }[]> {
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    const strategy = await resolveStrategy(runJson.strategy);
    const src: RunSource = { dir: out, data: runJson.data, fingerprint: runJson.keyParts.data, badRows: runJson.badRows, capital: runJson.capital, signalsWithEquity: true, strategy };
    const db = await openDb();
    try {
      await createViews(db.conn, out);
      const { sets } = await readSets(db.conn, strategy);
      const res = [];
      for (const set of sets) {
        const signals = await symbolSeries(src, db, db.conn, set, symbols, { from: 'signals' });
        const recomputed = await symbolSeries(src, db, db.conn, set, symbols, { from: 'recompute' });
        res.push({ set: set.id, signals, recomputed, strategy });
      }
      return res;
    } finally {
      db.close();
    }
  }

  function expectSame(a: SymbolSeries, b: SymbolSeries, strategy?: Strategy): void {
    expect(a.symbol).toBe(b.symbol);
    expect([a.source, b.source]).toEqual(['signals', 'recomputed']);
    for (const k of ['ts', 'close', 'position', 'ret', 'equity'] as const) expect(sameBits(a[k], b[k]), `${a.symbol} ${k}`).toBe(true);
    const names = outputNames(strategy);
    expect(Object.keys(a.outputs).sort()).toEqual([...names].sort());
    for (const k of names) expect(sameBits(a.outputs[k] as Float64Array, b.outputs[k] as Float64Array), `${a.symbol} ${k}`).toBe(true);
  }

  it('strategies: Supertrend (OHLC, symbols skipped by the policy) on every set, and a user module', async () => {
    const st = await both(runs.supertrend, ['KO', 'AAPL', 'MSFT']);
    expect(st).toHaveLength(2);
    for (const r of st) {
      expect(r.strategy?.name).toBe('supertrend');
      expect(r.signals[0]?.outputs.supertrend?.some((v) => !Number.isNaN(v))).toBe(true);
      r.signals.forEach((s, i) => expectSame(s, r.recomputed[i] as SymbolSeries, r.strategy));
    }
    const [u] = await both(runs.user, ['UA', 'LNT']);
    expect(u?.strategy?.name).toBe('sma-cross');
    u?.signals.forEach((s, i) => expectSame(s, u.recomputed[i] as SymbolSeries, u.strategy));
  });

  it('on the sample, under a set with costs and capital', async () => {
    const [r] = await both(runs.sampleSingle, ['UA', 'AAPL', 'LNT']);
    expect(r?.signals.map((s) => s.ts.length)).toEqual([464, 1259, 1259]);
    r?.signals.forEach((s, i) => expectSame(s, r.recomputed[i] as SymbolSeries));
  });

  it('on every set of a sweep (modes, cutout, costs, capital) over many row groups of a generated universe', async () => {
    const picks = ['S00149', 'S00003', 'S00077', 'S00011', 'S00120', 'S00040'];
    const res = await both(runs.genSweep, picks);
    expect(res).toHaveLength(2);
    for (const r of res) {
      expect(r.recomputed.map((s) => s.symbol)).toEqual(picks);
      r.signals.forEach((s, i) => expectSame(s, r.recomputed[i] as SymbolSeries));
    }
    // the sets differ, so the comparison tells them apart
    expect(sameBits(res[0]?.signals[0]?.equity as Float64Array, res[1]?.signals[0]?.equity as Float64Array)).toBe(false);
  });

  it('on a run that dropped bad rows (the recomputation applies the run’s loader rules)', async () => {
    const [r] = await both(runs.dropped, ['LNT', 'NVDA', 'KO']);
    const kept = await query(`SELECT symbol, count(*) AS n FROM read_parquet('${runs.dropped}/signals/*.parquet') GROUP BY 1 ORDER BY 1`);
    expect(r?.recomputed.map((s) => s.ts.length)).toEqual(['LNT', 'NVDA', 'KO'].map((s) => Number(kept.find((k) => k.symbol === s)?.n)));
    r?.signals.forEach((s, i) => expectSame(s, r.recomputed[i] as SymbolSeries));
  });
});

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn('report browser tests skipped: no Chromium found (apt-get install chromium, or set ATC_CHROMIUM)');

/** Per canvas: the id of its nearest host with an id, and how many pixels are drawn (alpha > 0). */
const CANVAS_PIXELS = `Array.from(document.querySelectorAll('canvas')).map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
  return { host: c.closest('[id]') ? c.closest('[id]').id : '', n };
})`;

const canvasUrl = (o: OpenedReport, host: string): Promise<string> => o.page.evaluate(`document.querySelector('#${host} canvas').toDataURL()`) as Promise<string>;

describe.skipIf(!CHROMIUM)('reports in headless Chromium', () => {
  const artifacts = join(ROOT, 'test-artifacts');
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium(CHROMIUM as string);
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** What every report must pass; returns the opened page. The report is built in process,
   *  or by the CLI when flags are given. */
  async function open(out: string, name: string, flags?: string[]): Promise<OpenedReport> {
    const file = join(out, 'report.html');
    if (flags) {
      const r = await atc(['report', '--out', out, ...flags]);
      if (r.code !== 0) throw new Error(r.stderr);
    } else await buildReport({ dir: out });
    const o = await openReport(browser, file);
    // the whole page of one report, the first screen of the others (a full page takes seconds)
    await o.page.screenshot({ path: join(artifacts, `report-${name}.png`), fullPage: name === 'sample-sweep' });
    expect(o.errors).toEqual([]);
    expect(o.requests).toEqual([]);
    const canvases = (await o.page.evaluate(CANVAS_PIXELS)) as { host: string; n: number }[];
    expect(canvases.filter((c) => c.n === 0)).toEqual([]);
    return o;
  }

  /** The universe row of `symbol` (filtered to it), as column key -> exact value (cell titles). */
  async function universeRow(o: OpenedReport, symbol: string): Promise<Record<string, string>> {
    await o.page.fill('#universe input', symbol);
    const keys = await o.page.locator('#universe .vt-head span').evaluateAll((els) => els.map((e) => e.getAttribute('data-col') ?? ''));
    const row = o.page.locator(`#universe .vt-row[data-symbol="${symbol}"]`);
    const titles = await row.locator('span').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
    return Object.fromEntries(keys.map((k, i) => [k, titles[i] as string]));
  }

  /** Click `symbol`'s universe row: its charts replace the previous symbol's. */
  async function clickSymbol(o: OpenedReport, symbol: string): Promise<void> {
    const before = await canvasUrl(o, 'sym-price');
    await o.page.fill('#universe input', symbol);
    await o.page.click(`#universe .vt-row[data-symbol="${symbol}"]`);
    expect(await o.page.textContent('#sym-title')).toBe(symbol);
    expect(await o.page.getAttribute(`#universe .vt-row[data-symbol="${symbol}"]`, 'class')).toContain('sel');
    const pixels = (await o.page.evaluate(CANVAS_PIXELS)) as { host: string; n: number }[];
    for (const host of ['sym-price', 'sym-overlay', 'sym-equity', 'sym-drawdown']) expect(pixels.find((p) => p.host === host)?.n, host).toBeGreaterThan(0);
    expect(await canvasUrl(o, 'sym-price')).not.toBe(before);
  }

  async function one(sql: string): Promise<Record<string, unknown>> {
    return (await query(sql))[0] as Record<string, unknown>;
  }

  it('a single set on the sample (per-bar data from the signals; numbers equal the Parquet)', async () => {
    const out = runs.sampleSingle;
    const o = await open(out, 'sample-single');
    expect(await o.page.textContent('#sym-info')).toContain('from the run’s signals');
    // header and portfolio statistics
    expect(await o.page.textContent('#run')).toContain('33,069');
    // where the run's time went: run.json's stages and peak RSS
    const { timings } = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { timings: { stages: Record<string, number>; peakRssMB: number } };
    const stagesRow = await o.page.locator('#run dt:text-is("stages") + dd').textContent();
    const { read, kernel, write, cache, finalize } = timings.stages;
    const f = (v: number | undefined) => (v as number).toFixed(2);
    expect(stagesRow).toBe(`read ${f(read)} s, kernel ${f(kernel)} s (summed over the workers), write ${f(write)} s, cache ${f(cache)} s, finalize ${f(finalize)} s; peak RSS ${timings.peakRssMB} MB`);
    expect(Object.keys(timings.stages)).toEqual(['read', 'kernel', 'write', 'cache', 'finalize']);
    const ps = await one(`SELECT sharpe, total_return, max_drawdown FROM '${out}/portfolio_stats.parquet'`);
    for (const k of ['sharpe', 'total_return', 'max_drawdown']) expect(Number(await o.page.getAttribute(`#portfolio td[data-key=${k}]`, 'title')), k).toBe(ps[k]);
    // a month of the heatmap against the equity curve (an independent computation)
    const m = await one(
      `WITH e AS (SELECT year(ts) AS y, month(ts) AS m, last(equity ORDER BY ts) AS e FROM '${out}/portfolio.parquet' GROUP BY ALL)
       SELECT e / lag(e) OVER (ORDER BY y, m) - 1 AS r FROM e WHERE y = 2016 AND m IN (2, 3) ORDER BY m DESC LIMIT 1`,
    );
    const cell = await o.page.getAttribute('#pf-monthly td >> nth=38', 'data-v'); // 2016 (4th year, from 2013) x March
    expect(Number(cell)).toBeCloseTo(m.r as number, 12);
    // universe cells
    const st = await one(`SELECT sharpe, total_return, trades FROM '${out}/stats.parquet' WHERE symbol = 'KO'`);
    const row = await universeRow(o, 'KO');
    expect([Number(row.sharpe), Number(row.total_return), Number(row.trades)]).toEqual([st.sharpe, st.total_return, Number(st.trades)]);
    // the worst symbol by Sharpe is drawn too; its row draws it
    const worst = await one(`SELECT symbol FROM '${out}/stats.parquet' ORDER BY sharpe ASC NULLS LAST LIMIT 1`);
    await clickSymbol(o, worst.symbol as string);
    await o.page.close();
  });

  it('a sweep on the sample (the heatmap follows its axes and aggregates the other parameters)', async () => {
    const out = runs.sampleSweep;
    const o = await open(out, 'sample-sweep');
    expect(await o.page.textContent('#sym-info')).toContain('recomputed with the run’s parameters');
    // the shown set is the best by median Sharpe
    const best = await one(`SELECT param_id FROM '${out}/stats.parquet' GROUP BY 1 ORDER BY median(sharpe) DESC, param_id LIMIT 1`);
    expect(await o.page.textContent('#run h3')).toContain(best.param_id as string);
    // default axes: decay x mode (the first two varied); fee_bps aggregated by the median
    const cells = async () => (await o.page.locator('#sweep-heat td').evaluateAll((els) => els.map((e) => e.getAttribute('data-v')))).map(Number);
    const heads = async () => o.page.locator('#sweep-heat th').evaluateAll((els) => els.map((e) => e.textContent));
    expect(await heads()).toEqual(['mode \\ decay', '0.03', '0.1', 'long-only', 'long-short']);
    const expected = await query(
      `WITH s AS (SELECT param_id, median(sharpe) AS m FROM '${out}/stats.parquet' GROUP BY 1)
       SELECT mode, decay, median(m) AS v FROM s JOIN '${out}/params.parquet' USING (param_id) GROUP BY ALL ORDER BY mode, decay`,
    );
    const got = await cells();
    expect(got).toHaveLength(4);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]?.v as number, 12));
    const before = await canvasUrl(o, 'sweep-heat');
    await o.page.selectOption('#sweep select >> nth=1', { label: 'fee_bps' });
    expect(await heads()).toEqual(['mode \\ fee_bps', '0', '7', 'long-only', 'long-short']);
    expect(await canvasUrl(o, 'sweep-heat')).not.toBe(before);
    const pixels = (await o.page.evaluate(CANVAS_PIXELS)) as { host: string; n: number }[];
    expect(pixels.find((p) => p.host === 'sweep-heat')?.n).toBeGreaterThan(0);
    // the max over the other parameters
    await o.page.selectOption('#sweep select >> nth=3', 'max');
    const mx = await one(
      `WITH s AS (SELECT param_id, median(sharpe) AS m FROM '${out}/stats.parquet' GROUP BY 1)
       SELECT max(m) AS v FROM s JOIN '${out}/params.parquet' USING (param_id) WHERE fee_bps = 0 AND mode = 'long-only'`,
    );
    expect((await cells())[0]).toBe(mx.v);
    await o.page.close();
  });

  it('a single set on a generated universe, with a named symbol (built by the CLI; per-bar data recomputed)', async () => {
    const out = runs.genSingle;
    const pick = (await one(`SELECT symbol FROM '${out}/stats.parquet' ORDER BY sharpe LIMIT 1 OFFSET 70`)).symbol as string;
    const o = await open(out, 'generated-single', ['--symbol', pick, '--top', '3']);
    expect(await o.page.textContent('#sym-info')).toContain('recomputed with the run’s parameters');
    expect(await o.page.textContent('#universe .controls .note')).toBe('150 of 150 symbols');
    expect(await o.page.locator('#symbol select option').count()).toBe(1 + 7);
    expect(await o.page.textContent('#sym-title')).toBe(pick);
    const st = await one(`SELECT max_drawdown, cagr FROM '${out}/stats.parquet' WHERE symbol = '${pick}'`);
    const row = await universeRow(o, pick);
    expect([Number(row.max_drawdown), Number(row.cagr)]).toEqual([st.max_drawdown, st.cagr]);
    const top = (await one(`SELECT symbol FROM '${out}/stats.parquet' ORDER BY sharpe DESC LIMIT 1`)).symbol as string;
    await clickSymbol(o, top);
    await o.page.close();
  });

  it('a sweep on a generated universe without a summary', async () => {
    const out = runs.genSweep;
    const o = await open(out, 'generated-sweep');
    expect(await o.page.textContent('#sym-info')).toContain('from the run’s signals');
    expect(await o.page.locator('#sweep-best tr').count()).toBe(1 + 2);
    // one parameter varied: a heatmap of one row
    expect(await o.page.locator('#sweep-heat th').allTextContents()).toEqual(['mode', 'long-short', 'short-only', 'all']);
    expect(await o.page.locator('#universe .vt-head span[data-col=trend]').count()).toBe(0);
    const ps = await one(`SELECT max(sharpe) AS s FROM '${out}/portfolio_stats.parquet'`);
    await o.page.selectOption('#sweep select >> nth=0', { label: 'portfolio Sharpe' });
    const col = (await o.page.locator('#sweep-best th').allTextContents()).indexOf('portfolio Sharpe');
    expect(col).toBeGreaterThan(0);
    expect(Number(await o.page.getAttribute(`#sweep-best tr >> nth=1 >> td >> nth=${col}`, 'title'))).toBe(ps.s);
    await o.page.close();
  });
  it('a Supertrend sweep: its outputs in the universe and the symbol pane, its parameters on the heatmap', async () => {
    const out = runs.supertrend;
    const o = await open(out, 'supertrend-sweep');
    expect(await o.page.textContent('#run')).toContain('supertrend');
    expect(await o.page.textContent('#sym-info')).toContain('from the run’s signals');
    expect(await o.page.locator('#sweep-heat th').allTextContents()).toEqual(['factor', '2', '3', 'all']);
    // the shown set's universe row: the last supertrend line and direction, the stats
    const set = ((await o.page.textContent('#run h3')) ?? '').match(/[0-9a-f]{12}/)?.[0] as string;
    const sm = await one(`SELECT supertrend, direction FROM '${out}/summary.parquet' WHERE symbol = 'KO' AND param_id = '${set}'`);
    const st = await one(`SELECT sharpe FROM '${out}/stats.parquet' WHERE symbol = 'KO' AND param_id = '${set}'`);
    const row = await universeRow(o, 'KO');
    expect([Number(row.supertrend), Number(row.direction), Number(row.sharpe)]).toEqual([sm.supertrend, Number(sm.direction), st.sharpe]);
    await clickSymbol(o, 'KO');
    await o.page.close();
  });

  it('a user module (built by the CLI): its outputs in the symbol pane', async () => {
    const o = await open(runs.user, 'user-module', ['--top', '2']);
    expect(await o.page.textContent('#run')).toContain('sma-cross');
    expect(await o.page.textContent('#symbol')).toContain('sma-cross: fast_ma, slow_ma, direction');
    await clickSymbol(o, (await one(`SELECT symbol FROM '${runs.user}/stats.parquet' ORDER BY sharpe ASC NULLS LAST LIMIT 1`)).symbol as string);
    await o.page.close();
  });
});

describe('report edge cases', () => {
  it('refuses a parameter set the run does not have (usage error)', async () => {
    const r = await atc(['report', '--out', runs.genSingle, '--set', '000000000000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--set 000000000000');
  });

  it('is built without per-bar charts, saying why, when the data changed since the run', async () => {
    const data = (JSON.parse(readFileSync(join(runs.genSingle, 'run.json'), 'utf8')) as { data: { files: string[] } }).data.files[0] as string;
    utimesSync(data, new Date(), new Date(Date.now() + 60_000));
    const logged: string[] = [];
    const r = await buildReport({ dir: runs.genSingle, to: join(dir, 'changed.html'), log: (m) => logged.push(m) });
    expect(r.drawn).toBe(0);
    expect(r.seriesNote).toMatch(/changed since the run/);
    expect(logged.join('\n')).toMatch(/changed since the run/);
  });
});
