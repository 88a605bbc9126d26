// Golden parity: every golden file (both profiles, every parameter set) reproduced by every
// engine within the manifest's tolerances. Pine: every row, order-sensitive ones included
// (the engines keep the spec's evaluation order). Seed: every row not listed as
// order-sensitive (the seed files come from pandas' own summation order).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/config/params.js';
import { FLOAT_COLUMNS } from '../../src/engine/batch.js';
import { computeSeries, createKernel } from '../../src/engine/kernel.js';
import { ENGINES } from '../helpers/engines.js';
import { GOLDEN_DIR, goldenInput, goldenRows, manifest, orderSensitive, paramsOf } from '../helpers/golden.js';

const M = manifest();
const input = await goldenInput();
const SIGNALS = new Set(FLOAT_COLUMNS.filter((c) => c.endsWith('_Signal') && c !== 'Average_Signal'));
const report: Record<string, Record<string, number>> = {};

describe('golden files are the files of the manifest', () => {
  it.each(M.files.map((f) => [f.file, f.sha256]))('%s has its recorded sha256', (file, sha) => {
    expect(createHash('sha256').update(readFileSync(join(GOLDEN_DIR, file))).digest('hex')).toBe(sha);
  });
});

describe.each(ENGINES)('engine %s', (engine) => {
  it.each(M.files.map((f) => [f.file, f]))('reproduces %s', async (file, f) => {
    const params = resolveParams(paramsOf(f));
    const kernel = createKernel(params, engine);
    const skipped = new Set(f.skipped_symbols.map((s) => s.symbol));
    const idx = input.symbols.map((_, i) => i).filter((i) => !skipped.has(input.symbols[i] as string));
    const lens = idx.map((i) => (input.closes[i] as Float64Array).length);
    const offsets = new Uint32Array(idx.length + 1);
    lens.forEach((n, k) => (offsets[k + 1] = (offsets[k] as number) + n));
    const closes = new Float64Array(offsets[idx.length] as number);
    idx.forEach((i, k) => closes.set(input.closes[i] as Float64Array, offsets[k] as number));
    const out = computeSeries(kernel, { closes, offsets, symbols: idx.map((i) => input.symbols[i] as string), shortSeries: 'allow' });

    const gold = await goldenRows(file);
    const sensitive = await orderSensitive(file);
    const maxDiff: Record<string, number> = {};
    let checked = 0;
    const bad: string[] = [];
    let badSensitive = 0;
    idx.forEach((i, k) => {
      const sym = input.symbols[i] as string;
      (input.ts[i] as string[]).forEach((ts, j) => {
        const key = `${sym}|${ts}`;
        const g = gold.get(key);
        if (!g) throw new Error(`golden row missing: ${key}`);
        const at = (offsets[k] as number) + j;
        let rowOk = true;
        const cols: [string, number, number][] = FLOAT_COLUMNS.map((c, p) => [c, out.values[p * out.stride + at] as number, g[c] as number]);
        if (f.profile === 'pine') {
          const d = out.direction[at] as number;
          cols.push(['direction', d === 0 ? NaN : d, g.direction as number]);
          cols.push(['long', out.alerts[at] === 1 ? 1 : 0, g.long as number]);
          cols.push(['short', out.alerts[at] === -1 ? 1 : 0, g.short as number]);
        }
        for (const [c, mine, want] of cols) {
          const bothNull = Number.isNaN(mine) && Number.isNaN(want);
          const diff = bothNull ? 0 : Math.abs(mine - want);
          const tol = SIGNALS.has(c as never) ? 1e-12 : c === 'direction' || c === 'long' || c === 'short' ? 0 : 1e-9;
          const ok = diff <= tol; // NaN (null pattern mismatch) fails
          if (!ok) rowOk = false;
          if (!sensitive.has(key) || f.profile === 'pine') maxDiff[c] = Math.max(maxDiff[c] ?? 0, Number.isNaN(diff) ? Infinity : diff);
        }
        checked++;
        if (!rowOk) {
          if (f.profile === 'seed' && sensitive.has(key)) badSensitive++;
          else bad.push(key);
        }
      });
    });
    report[`${engine} ${file}`] = { rows: checked, orderSensitiveDiffering: badSensitive, ...maxDiff };
    expect(checked).toBe(f.rows);
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it.each(M.files.filter((f) => f.skipped_symbols.length > 0).map((f) => [f.file, f]))(
    '%s: symbols the seed port refused are ATC_ERR_TOO_FEW_BARS',
    (_file, f) => {
      const kernel = createKernel(resolveParams(paramsOf(f)), engine);
      for (const { symbol } of f.skipped_symbols) {
        const i = input.symbols.indexOf(symbol);
        const closes = input.closes[i] as Float64Array;
        expect(() => computeSeries(kernel, { closes, offsets: Uint32Array.of(0, closes.length), symbols: [symbol] })).toThrowError(
          expect.objectContaining({ code: 'ATC_ERR_TOO_FEW_BARS', symbol }),
        );
      }
    },
  );
});

afterAll(() => {
  const cols = ['rows', 'orderSensitiveDiffering', ...FLOAT_COLUMNS, 'direction'];
  const lines = Object.entries(report).map(([k, v]) => [k, ...cols.map((c) => (v[c] === undefined ? '-' : c === 'rows' || c === 'orderSensitiveDiffering' ? String(v[c]) : (v[c] as number).toExponential(1)))].join(' | '));
  console.log(['golden max |diff| per column (seed: rows not listed as order-sensitive)', ['file', ...cols].join(' | '), ...lines].join('\n'));
});
