// The report's pure parts: min/max downsampling keeps every bucket's extremes in order, and the
// drawn symbols are the top and bottom by the rank column plus the named ones.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../datasets/index.js';
import { minMaxBuckets } from '../../src/report/downsample.js';
import { chooseSymbols } from '../../src/report/gather.js';
import type { Universe } from '../../src/report/model.js';

describe('minMaxBuckets', () => {
  const rng = new Rng(3);
  const n = 10_007;
  const x = Float64Array.from({ length: n }, (_, i) => 1e6 * i);
  const y = Float64Array.from({ length: n }, () => (rng.unit() < 0.02 ? NaN : rng.unit() * 100 - 50));
  const flat = new Float64Array(n).fill(NaN);

  it('keeps each bucket’s first and last x, and its min and max in the order they occur', () => {
    const buckets = 97;
    const d = minMaxBuckets(x, [y, flat], buckets);
    expect(d.x).toHaveLength(2 * buckets);
    for (let b = 0; b < buckets; b++) {
      const from = Math.floor((b * n) / buckets);
      const to = Math.floor(((b + 1) * n) / buckets);
      expect([d.x[2 * b], d.x[2 * b + 1]]).toEqual([x[from], x[to - 1]]);
      const seg = Array.from(y.subarray(from, to)).map((v, i) => [v, i] as const).filter(([v]) => !Number.isNaN(v));
      const lo = seg.reduce((a, c) => (c[0] < a[0] ? c : a));
      const hi = seg.reduce((a, c) => (c[0] > a[0] ? c : a));
      const pair = lo[1] <= hi[1] ? [lo[0], hi[0]] : [hi[0], lo[0]];
      expect([d.ys[0]?.[2 * b], d.ys[0]?.[2 * b + 1]]).toEqual(pair);
      expect(Number.isNaN(d.ys[1]?.[2 * b] as number)).toBe(true);
    }
  });

  it('passes a short series through untouched', () => {
    const xs = x.subarray(0, 200);
    const ys = y.subarray(0, 200);
    const d = minMaxBuckets(xs, [ys], 100);
    expect(d.x).toBe(xs);
    expect(d.ys[0]).toBe(ys);
  });
});

describe('chooseSymbols', () => {
  const u: Universe = {
    columns: [
      { key: 'symbol', label: 'symbol', fmt: 'text' },
      { key: 'sharpe', label: 'Sharpe', fmt: 'num' },
    ],
    data: [
      ['A', 'B', 'C', 'D', 'E', 'F'],
      [0.5, null, -1, 2, 0.1, -0.3],
    ],
    rankBy: 'sharpe',
  };

  it('takes the named symbols first, then the top and bottom by rank (NULL ranks left out)', () => {
    expect(chooseSymbols(u, 2, ['B'])).toEqual(['B', 'D', 'A', 'C', 'F']);
    expect(chooseSymbols(u, 10, [])).toEqual(['D', 'A', 'E', 'F', 'C']);
    expect(chooseSymbols(u, 0, [])).toEqual([]);
  });

  it('refuses a symbol the run does not have', () => {
    expect(() => chooseSymbols(u, 1, ['Z'])).toThrow(expect.objectContaining({ code: 'ATC_ERR_USAGE' }));
  });
});
