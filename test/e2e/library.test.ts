// The library API: backtest() with an AbortSignal, openResults() readers and Arrow queries,
// streamSignals() against the signals Parquet, `atc sql --format arrow`, the layout check of
// the native kernel, and a consumer project that imports the package by its name.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RecordBatch, Table, tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortError, backtest, openResults, type Results, streamSignals } from '../../src/index.js';
import { expectedLayouts } from '../../src/engine/native.js';
import { openDb } from '../../src/data/duckdb.js';
import { queryArrow } from '../../src/results/arrow.js';
import { columnNames, SIGNALS } from '../../src/results/schema.js';
import { atc, ROOT, tempDir } from '../helpers/cli.js';
import { generated } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

const quiet = { logger: () => undefined, cache: false as const };

/** Rows in one side but not the other, both ways (0 = identical multisets). */
async function differ(a: string, b: string): Promise<number> {
  const r = await query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})) + (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a})) AS n`);
  return Number(r[0]?.n);
}

/** Value of row i of column `name` in the form both sides compare in (NaN never appears: NULL is null). */
function cell(t: Table | RecordBatch, name: string, i: number): unknown {
  const v = t.getChild(name)?.get(i);
  return typeof v === 'bigint' ? Number(v) : v;
}

describe('backtest() and openResults()', () => {
  const dir = tempDir();
  let res: Results;
  beforeAll(async () => {
    const r = await backtest({ ...quiet, out: join(dir, 'run'), outputs: ['summary', 'stats', 'trades', 'signals'], params: { lambda: 0.02, feeBps: 1 } });
    expect(r.symbols).toBe(29);
    expect(r.files.map((f) => f.slice(join(dir, 'run').length + 1))).toEqual(expect.arrayContaining(['summary.parquet', 'stats.parquet', 'trades.parquet', 'run.json']));
    res = await openResults(join(dir, 'run'));
  });

  it('typed readers equal the Parquet, with where/orderBy/limit', async () => {
    const stats = await res.stats({ where: 'sharpe IS NOT NULL', orderBy: 'sharpe DESC', limit: 5 });
    const sql = await query(`SELECT symbol, sharpe, trades FROM '${join(dir, 'run', 'stats.parquet')}' WHERE sharpe IS NOT NULL ORDER BY sharpe DESC LIMIT 5`);
    expect(stats.map((s) => [s.symbol, s.sharpe, s.trades])).toEqual(sql.map((s) => [s.symbol, s.sharpe, Number(s.trades)]));
    const summary = await res.summary();
    expect(summary).toHaveLength(29);
    expect(summary[0]?.first_ts).toBeInstanceOf(Date);
    expect(Object.keys(summary[0] ?? {})).toEqual(columnNames((await import('../../src/results/schema.js')).SUMMARY.columns));
    const trades = await res.trades({ where: "side = 'long'", limit: 3 });
    expect(trades.every((t) => t.side === 'long')).toBe(true);
    expect((await res.params())[0]?.fee_bps).toBe(1);
    expect(await res.portfolio()).toEqual([]); // not written: an empty view
    await expect(res.stats({ where: 'nope > 1' })).rejects.toMatchObject({ code: 'ATC_ERR_SQL' });
  });

  it('query() returns an Arrow table equal to DuckDB', async () => {
    const t = await res.query('SELECT symbol, count(*) AS n, sum(close) AS s, min(ts) AS first, any_value(direction) IS NULL AS nd FROM signals GROUP BY symbol ORDER BY symbol');
    const ref = await query(`SELECT symbol, count(*) AS n, sum(close) AS s, epoch_us(min(ts)) AS first FROM read_parquet('${join(dir, 'run', 'signals')}/*.parquet') GROUP BY symbol ORDER BY symbol`);
    expect(t.numRows).toBe(29);
    for (let i = 0; i < ref.length; i++) {
      expect(cell(t, 'symbol', i)).toBe(ref[i]?.symbol);
      expect(cell(t, 'n', i)).toBe(Number(ref[i]?.n));
      expect(cell(t, 's', i)).toBe(ref[i]?.s);
    }
    // timestamps keep microseconds: Arrow's Timestamp<MICROSECOND> of the first bar
    expect(t.schema.fields.find((f) => f.name === 'first')?.type.toString()).toMatch(/Timestamp<MICROSECOND>/);
  });

  it('`atc sql --format arrow` writes an Arrow IPC file', async () => {
    const f = join(dir, 'stats.arrow');
    const r = await atc(['sql', 'SELECT * FROM stats ORDER BY symbol', '--out', join(dir, 'run'), '--format', 'arrow', '--to', f]);
    expect(r.code, r.stderr).toBe(0);
    const t = tableFromIPC(readFileSync(f));
    const ref = await res.stats({ orderBy: 'symbol' });
    expect(t.numRows).toBe(ref.length);
    expect(t.schema.fields.map((x) => x.name)).toEqual(Object.keys(ref[0] ?? {}));
    ref.forEach((row, i) => expect([cell(t, 'symbol', i), cell(t, 'sharpe', i), cell(t, 'trades', i)]).toEqual([row.symbol, row.sharpe, row.trades]));
    expect((await atc(['sql', 'SELECT 1', '--out', join(dir, 'run'), '--format', 'arrow'])).code).toBe(2);
  });

  it('invalid options are the coded errors of the CLI', async () => {
    await expect(backtest({ ...quiet, out: join(dir, 'x'), chunkBars: 0 })).rejects.toMatchObject({ code: 'ATC_ERR_USAGE', message: expect.stringMatching(/options\.chunkBars/) });
    await expect(backtest({ ...quiet, out: join(dir, 'x'), params: { lambda: 5 } })).rejects.toMatchObject({ code: 'ATC_ERR_INVALID_PARAM' });
    await expect(backtest({ ...quiet, out: join(dir, 'x'), params: { lamda: 1 } as never })).rejects.toMatchObject({ code: 'ATC_ERR_USAGE' });
    await expect(backtest({ ...quiet, out: join(dir, 'x'), data: join(dir, 'missing.parquet') })).rejects.toMatchObject({ code: 'ATC_ERR_DATA_READ' });
  });
});

describe('an abort through AbortSignal', () => {
  it('stops cleanly; a rerun resumes and equals an uninterrupted run', async () => {
    const dir = tempDir();
    const data = await generated(dir, 60, 2_000, 11);
    const opts = { ...quiet, data, outputs: ['summary', 'stats', 'trades'] as const, chunkBars: 4_000, workers: 2 };
    await backtest({ ...opts, out: join(dir, 'whole') });
    const ac = new AbortController();
    const aborted = backtest({ ...opts, out: join(dir, 'cut'), signal: ac.signal, onProgress: (p) => p.symbols >= 4 && ac.abort() });
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await expect(aborted).rejects.toMatchObject({ code: 'ATC_ERR_ABORTED' });
    const manifest = readFileSync(join(dir, 'cut', 'manifest.jsonl'), 'utf8').trim().split('\n');
    expect(manifest.length).toBeGreaterThan(0); // finished chunks are committed
    const rerun = await backtest({ ...opts, out: join(dir, 'cut') });
    expect(rerun.resumedSymbols).toBeGreaterThan(0);
    expect(rerun.resumedSymbols).toBeLessThan(60);
    for (const t of ['summary', 'stats', 'trades']) expect(await differ(`'${join(dir, 'whole', `${t}.parquet`)}'`, `'${join(dir, 'cut', `${t}.parquet`)}'`), t).toBe(0);
  });
});

describe('streamSignals()', () => {
  const dir = tempDir();
  /** Stream `opts` (one parameter set) and compare with the signals Parquet of the same backtest: value for value, `names` in order. */
  async function expectStreamEqualsParquet(out: string, opts: Parameters<typeof streamSignals>[0] & object, names: string[]): Promise<void> {
    await backtest({ ...opts, out, outputs: ['signals'] });
    const db = await openDb();
    const parquet = await queryArrow(db.conn, `SELECT * FROM read_parquet('${out}/signals/*.parquet') ORDER BY symbol, ts`);
    db.close();
    const batches: RecordBatch[] = [];
    let prev = '';
    for await (const b of streamSignals({ ...opts, retain: true })) {
      // whole symbols or whole blocks, in symbol order
      const first = String(cell(b, 'symbol', 0));
      expect(first >= prev).toBe(true);
      prev = String(cell(b, 'symbol', b.numRows - 1));
      batches.push(b);
    }
    const streamed = new Table(batches);
    expect(streamed.numRows).toBe(parquet.numRows);
    expect(streamed.numRows).toBeGreaterThan(0);
    expect(streamed.schema.fields.map((f) => f.name)).toEqual(names);
    expect(parquet.schema.fields.map((f) => f.name)).toEqual(names);
    let diffs = 0;
    for (const name of names) {
      const a = streamed.getChild(name);
      const b = parquet.getChild(name);
      for (let i = 0; i < streamed.numRows; i++) {
        const x = a?.get(i);
        const y = b?.get(i);
        if (!Object.is(typeof x === 'bigint' ? Number(x) : x, typeof y === 'bigint' ? Number(y) : y)) diffs++;
      }
    }
    // timestamps to the microsecond (get() gives milliseconds)
    const us = (t: Table): bigint[] => t.getChild('ts')?.data.flatMap((d) => Array.from(d.values as BigInt64Array)) ?? [];
    expect(us(streamed)).toEqual(us(parquet));
    expect(diffs).toBe(0);
  }

  it.each([1_000, 7_919, 524_288])('batches equal the signals Parquet bit for bit (2 workers, %i bars a chunk)', async (chunkBars) => {
    const common = { ...quiet, workers: 2, chunkBars, equity: true, params: { mode: 'long-only' as const, feeBps: 2 }, capital: 1000 };
    await expectStreamEqualsParquet(join(dir, `run-${chunkBars}`), common, [...columnNames(SIGNALS.columns), 'position', 'strategy_return', 'equity']);
  });

  it.each([
    ['supertrend', { strategy: 'supertrend', params: { factor: 2.5 } }, ['supertrend', 'atr']],
    ['a user module', { strategy: join(ROOT, 'examples', 'strategies', 'sma-cross.js'), params: { fast: 5, slow: 20 } }, ['fast_ma', 'slow_ma']],
  ] as const)('%s: batches equal its signals Parquet bit for bit', async (name, o, outputs) => {
    const opts = { ...quiet, workers: 2, chunkBars: 3_001, equity: true, badRows: 'skip-symbol' as const, strategy: o.strategy, params: o.params };
    await expectStreamEqualsParquet(join(dir, `run-${name.replace(/ /g, '-')}`), opts, ['symbol', 'ts', 'close', ...outputs, 'direction', 'param_id', 'position', 'strategy_return', 'equity']);
  });

  it('views the worker buffers unless retained; breaking out stops the run', async () => {
    let n = 0;
    for await (const b of streamSignals({ ...quiet, workers: 2, chunkBars: 2_000 })) {
      n += b.numRows;
      expect(b.getChild('close')?.data[0]?.values.buffer).toBeInstanceOf(SharedArrayBuffer);
      if (n > 5_000) break;
    }
    expect(n).toBeGreaterThan(5_000);
  });
});

describe('the native kernel layout check', () => {
  it('a kernel whose record layouts differ is refused at load with ATC_ERR_KERNEL_LAYOUT naming the field', async () => {
    const fake = new URL('../fixtures/fake-addon.cjs', import.meta.url).pathname;
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const layouts = { ...expectedLayouts(), 'account.fields': expectedLayouts()['account.fields']! + 1 };
    const env = { ATC_NATIVE_PATH: fake, FAKE_ADDON_VERSION: version, FAKE_KERNEL_VERSION: (await import('../../src/engine/native.js')).KERNEL_VERSION, FAKE_LAYOUTS: JSON.stringify(layouts) };
    const info = await atc(['info', '--json'], env);
    expect(JSON.parse(info.stdout).engine.reason).toMatch(/ATC_ERR_KERNEL_LAYOUT: .*account\.fields = 28, this code has 27/);
    const run = await atc(['run', '--engine', 'rust', '--out', join(tempDir(), 'o')], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ATC_ERR_KERNEL_LAYOUT/);
    // the same layouts are accepted
    const ok = await atc(['info', '--json'], { ...env, FAKE_LAYOUTS: JSON.stringify(expectedLayouts()) });
    expect(JSON.parse(ok.stdout).engine.engine).toBe('rust');
  });
});

describe('a consumer project', () => {
  it('imports the package by its name, runs backtest, reads stats() and query(), and type-checks against the shipped .d.ts', () => {
    const dir = tempDir('atc-consumer-');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'atc-backtest'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, include: ['main.ts'] }),
    );
    const main = `import { backtest, openResults, type StatsRow, type RunReport, AtcError } from 'atc-backtest';
const report: RunReport = await backtest({ out: 'out', cache: false, params: { lambda: [0.01, 0.02] }, logger: () => undefined });
const results = await openResults(report.out);
const stats: StatsRow[] = await results.stats({ where: 'sharpe IS NOT NULL', limit: 5 });
const best: number | null = stats[0]?.sharpe ?? null;
const t = await results.query('SELECT param_id, median(sharpe) AS s FROM stats GROUP BY 1 ORDER BY 1');
results.close();
const err: AtcError | undefined = undefined;
console.log(JSON.stringify({ sets: report.sets, symbols: report.symbols, rows: stats.length, best: typeof best, groups: t.numRows, err: err === undefined }));
`;
    writeFileSync(join(dir, 'main.ts'), main);
    writeFileSync(join(dir, 'main.mjs'), main.replace(/, type \w+/g, '').replace(/: RunReport|: StatsRow\[\]|: number \| null|: AtcError \| undefined/g, ''));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'pipe' });
    const out = execFileSync(process.execPath, [join(dir, 'main.mjs')], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual({ sets: 2, symbols: 29, rows: 5, best: 'number', groups: 2, err: true });
  });
});
