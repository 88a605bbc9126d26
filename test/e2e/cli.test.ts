// The real CLI, spawned: help/version/usage errors, `atc run` on the embedded sample (checked
// value by value against the kernel called in-process), batch-size invariance, bad input files.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import { resolveParams } from '../../src/config/params.js';
import { FLOAT_COLUMNS } from '../../src/engine/batch.js';
import { computeSeries, createKernel } from '../../src/engine/kernel.js';
import { columnNames, SIGNALS } from '../../src/results/schema.js';
import { packageInfo } from '../../src/util/package-root.js';
import { atc, BIN, parquetFrom, tempDir } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { query } from '../helpers/golden.js';

const sample = sampleDataset();

describe('atc basics', () => {
  it('--help lists the commands', async () => {
    const r = await atc(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/atc run/);
    expect(r.stdout).toMatch(/atc info/);
  });

  it('--version prints the package version', async () => {
    const r = await atc(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('the built bin runs by itself (executable, with its shebang), as npx and a PATH run it', async () => {
    const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(BIN, ['--version'], (err, stdout) => resolve({ code: err ? 1 : 0, stdout })),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(packageInfo().version);
  });

  it('--version loads no native module (DuckDB, the kernel); --help does', async () => {
    // a preload that names every native module the process loads, on stderr
    const preload = join(tempDir(), 'dlopen.cjs');
    writeFileSync(preload, 'const o = process.dlopen; process.dlopen = function (m, f, ...r) { process.stderr.write(`dlopen ${f}\\n`); return o.call(this, m, f, ...r); };\n');
    const env = { NODE_OPTIONS: `--require ${preload}` };
    const version = await atc(['--version'], env);
    expect(version.stdout.trim()).toBe(packageInfo().version);
    expect(version.stderr).not.toMatch(/dlopen/);
    const help = await atc(['--help'], env);
    expect(help.stderr).toMatch(/dlopen .*duckdb/);
  });

  it.each([
    [['frobnicate'], /Unknown argument|Unknown command/],
    [['run', '--lambda', 'abc'], /--lambda: not a number/],
    [['run', '--lengths', '1,2'], /one or six values/],
    [['run', '--lambda', '-3'], /lambda must be in/],
    [['run', '--outputs', 'pdf'], /unknown output "pdf"/],
    [['run', '--nope'], /Unknown argument/],
  ])('usage error %j exits 2', async (args, msg) => {
    const r = await atc(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

async function readSignals(dir: string): Promise<Map<string, Record<string, unknown>[]>> {
  const rows = await query(`SELECT * FROM read_parquet('${dir}/signals/*.parquet') ORDER BY symbol, ts`);
  const m = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const k = String(r.symbol);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(r);
  }
  return m;
}

describe('atc run on the embedded sample', () => {
  const out = tempDir();
  let first: Awaited<ReturnType<typeof atc>>;
  beforeAll(async () => {
    first = await atc(['run', '--outputs', 'summary,signals', '--out', out]);
  });

  it('writes signals with the contract columns, one row per input bar', async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/29 symbols, 33,069 bars/);
    const cols = await query(`DESCRIBE SELECT * FROM read_parquet('${out}/signals/*.parquet')`);
    expect(cols.map((c) => c.column_name)).toEqual(columnNames(SIGNALS.columns));
    const n = await query(`SELECT count(*)::INT AS n FROM read_parquet('${out}/signals/*.parquet')`);
    expect(n[0]?.n).toBe(33069);
  });

  it('run.json and the printed report give the time of each stage and the peak RSS', async () => {
    expect(first.code, first.stderr).toBe(0);
    const { timings } = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(Object.keys(timings.stages)).toEqual(['read', 'kernel', 'write', 'cache', 'finalize']);
    for (const v of Object.values(timings.stages)) expect(v).toBeGreaterThanOrEqual(0);
    expect(timings.stages.kernel).toBe(timings.kernelSeconds);
    // every symbol was read, computed, written (signals) and finalized here
    for (const k of ['read', 'kernel', 'write', 'finalize']) expect(timings.stages[k], k).toBeGreaterThan(0);
    expect(timings.stages.read).toBeLessThanOrEqual(timings.seconds);
    expect(timings.peakRssMB).toBeGreaterThan(20);
    expect(first.stdout).toMatch(/^time: read \d+\.\d\d s, kernel \d+\.\d\d s \(summed over the workers\), write \d+\.\d\d s, cache \d+\.\d\d s, finalize \d+\.\d\d s; peak RSS \d+ MB$/m);
  });

  it.each(ENGINES)('matches the %s kernel called in-process, value by value', async (engine) => {
    const bars = await query(`SELECT symbol, close FROM '${sample}' ORDER BY symbol, ts`);
    const symbols = [...new Set(bars.map((b) => String(b.symbol)))];
    const closes = Float64Array.from(bars.map((b) => Number(b.close)));
    const offsets = new Uint32Array(symbols.length + 1);
    let s = 0;
    bars.forEach((b, i) => {
      if (i > 0 && b.symbol !== bars[i - 1]?.symbol) offsets[++s] = i;
    });
    offsets[symbols.length] = bars.length;
    const o = computeSeries(createKernel(resolveParams(), engine), { closes, offsets, symbols });
    const written = await readSignals(out);
    let j = 0;
    for (const sym of symbols) {
      for (const row of written.get(sym) ?? []) {
        FLOAT_COLUMNS.forEach((c, p) => {
          const mine = o.values[p * o.stride + j] as number;
          const got = row[c] === null ? NaN : Number(row[c]);
          expect(Object.is(mine, got) || (Number.isNaN(mine) && Number.isNaN(got)) || (mine === 0 && got === 0)).toBe(true);
        });
        const d = o.direction[j] as number;
        expect(row.direction === null ? 0 : Number(row.direction)).toBe(d);
        j++;
      }
    }
    expect(j).toBe(bars.length);
  });

  it('a rerun of the same job finds it complete; other parameters are refused unless --overwrite', async () => {
    const again = await atc(['run', '--outputs', 'summary,signals', '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already holds the complete results/);
    const other = await atc(['run', '--outputs', 'summary,signals', '--out', out, '--lambda', '0.03']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/ATC_ERR_OUTPUT_EXISTS.*differs in: sets/);
    const forced = await atc(['run', '--outputs', 'summary,signals', '--out', out, '--overwrite']);
    expect(forced.code).toBe(0);
  });

  it.each([[500], [2000], [33069]])('gives identical signals with --chunk-bars %i (symbols cut into blocks or moved)', async (bb) => {
    const o2 = tempDir();
    const r = await atc(['run', '--outputs', 'summary,signals', '--out', o2, '--chunk-bars', String(bb)]);
    expect(r.code, r.stderr).toBe(0);
    const diff = await query(
      `SELECT count(*)::INT AS n FROM (SELECT * FROM read_parquet('${out}/signals/*.parquet') EXCEPT SELECT * FROM read_parquet('${o2}/signals/*.parquet'))`,
    );
    expect(diff[0]?.n).toBe(0);
  });
});

describe('atc run on bad input', () => {
  const dir = tempDir();
  const ok = (sym: string, n: number, close = '100 + i % 7') =>
    `SELECT '${sym}' AS symbol, TIMESTAMP '2020-01-01' + INTERVAL (i) DAY AS ts, (${close})::DOUBLE AS close FROM range(${n}) t(i)`;
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['missing close column', () => parquetFrom(join(dir, 'noclose.parquet'), `SELECT symbol, ts FROM (${ok('A', 50)})`), /ATC_ERR_MISSING_COLUMN.*"close"/],
    ['ts as text', () => parquetFrom(join(dir, 'tstext.parquet'), `SELECT symbol, ts::VARCHAR AS ts, close FROM (${ok('A', 50)})`), /ATC_ERR_COLUMN_TYPE.*"ts"/],
    ['NaN close', () => parquetFrom(join(dir, 'nan.parquet'), ok('A', 50, "CASE WHEN i = 40 THEN 'nan'::DOUBLE ELSE 100 + i % 7 END")), /ATC_ERR_BAD_CLOSE: .*A at 2020-02-10 00:00:00: close must be finite and > 0, got NaN/],
    ['negative close', () => parquetFrom(join(dir, 'neg.parquet'), ok('A', 50, 'CASE WHEN i = 3 THEN -1 ELSE 100 END')), /ATC_ERR_BAD_CLOSE: .*A at 2020-01-04/],
    ['NULL close', () => parquetFrom(join(dir, 'null.parquet'), ok('A', 50, 'CASE WHEN i = 5 THEN NULL ELSE 100 END')), /ATC_ERR_NULL_VALUE: .*A at 2020-01-06 00:00:00: close is NULL/],
    [
      'duplicate ts',
      () => parquetFrom(join(dir, 'dup.parquet'), `SELECT * FROM (${ok('A', 50)}) UNION ALL SELECT 'A', TIMESTAMP '2020-02-19', 1.0 ORDER BY symbol, ts`),
      /ATC_ERR_DUPLICATE_TS: .*A at 2020-02-19/,
    ],
    [
      'unsorted ts',
      () => parquetFrom(join(dir, 'unsorted.parquet'), `SELECT * FROM (SELECT * FROM (${ok('A', 50)}) ORDER BY ts DESC)`),
      /ATC_ERR_UNSORTED_TS: .*A at .*timestamp goes back/,
    ],
    [
      'unsorted symbols',
      () => parquetFrom(join(dir, 'symorder.parquet'), `SELECT * FROM (${ok('B', 50)}) UNION ALL SELECT * FROM (${ok('A', 50)})`),
      /ATC_ERR_UNSORTED_SYMBOLS: .*not sorted by symbol/,
    ],
    ['short symbol', () => parquetFrom(join(dir, 'short.parquet'), `SELECT * FROM (${ok('A', 50)}) UNION ALL SELECT * FROM (${ok('B', 20)})`), /ATC_ERR_TOO_FEW_BARS: .*B: 20 bars; these parameters need at least 34/],
    [
      'not a parquet file',
      async () => {
        const f = join(dir, 'junk.parquet');
        writeFileSync(f, 'this is not parquet');
        return f;
      },
      /ATC_ERR_DATA_READ/,
    ],
    ['no such file', async () => join(dir, 'missing.parquet'), /ATC_ERR_DATA_READ: .*no such file/],
  ];
  it.each(cases)('%s: exit 1 with a coded error naming where', async (_name, make, msg) => {
    const file = await make();
    const out = tempDir();
    const r = await atc(['run', '--outputs', 'summary,signals', '--data', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(msg);
    const parts = existsSync(join(out, 'signals')) ? (await query(`SELECT count(*)::INT AS n FROM glob('${out}/signals/*.parquet')`))[0]?.n : 0;
    expect(parts).toBe(0);
  });
});
