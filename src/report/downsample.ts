// Downsampling for drawing only: a long series is cut into `buckets` consecutive buckets (about
// one per pixel column) and each keeps its min and its max, in the order they occur, so that
// every spike and the envelope of the curve survive. Series drawn on one chart share x: a
// bucket gives two x values (its first and last bar) and each series its two extremes there.
// Every number the report prints is computed from the full data, never from these.

import type { Plot } from './model.js';

/** Buckets per chart: wider than the charts are drawn, in device pixels, on most screens. */
const BUCKETS = 1500;

export interface Drawn {
  x: Float64Array;
  ys: Float64Array[];
}

export function minMaxBuckets(x: Float64Array, ys: readonly Float64Array[], buckets = BUCKETS): Drawn {
  const n = x.length;
  if (n <= 2 * buckets) return { x, ys: [...ys] };
  const ox = new Float64Array(2 * buckets);
  const oys = ys.map(() => new Float64Array(2 * buckets));
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * n) / buckets);
    const to = Math.floor(((b + 1) * n) / buckets);
    ox[2 * b] = x[from] as number;
    ox[2 * b + 1] = x[to - 1] as number;
    ys.forEach((y, k) => {
      let lo = -1;
      let hi = -1;
      for (let i = from; i < to; i++) {
        const v = y[i] as number;
        if (Number.isNaN(v)) continue;
        if (lo < 0 || v < (y[lo] as number)) lo = i;
        if (hi < 0 || v > (y[hi] as number)) hi = i;
      }
      const o = oys[k] as Float64Array;
      o[2 * b] = lo < 0 ? NaN : (y[Math.min(lo, hi)] as number);
      o[2 * b + 1] = lo < 0 ? NaN : (y[Math.max(lo, hi)] as number);
    });
  }
  return { x: ox, ys: oys };
}

function base64(a: Float64Array | Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A plot of named series over x (epoch µs), downsampled, x in seconds. */
export function plotOf(tsUs: Float64Array, series: Record<string, Float64Array>, buckets = BUCKETS): Plot {
  const names = Object.keys(series);
  const d = minMaxBuckets(tsUs, names.map((k) => series[k] as Float64Array), buckets);
  const y: Record<string, string> = {};
  names.forEach((k, i) => (y[k] = base64(Float32Array.from(d.ys[i] as Float64Array))));
  return { x: base64(d.x.map((us) => us / 1e6)), y };
}
