// The TypeScript reference kernel: the readable oracle, written straight from
// ../shared/spec/atc.md section 1, one symbol and one bar at a time, in the spec's evaluation
// order (it is part of the contract: closes on a tick grid often equal an MA to the last bit):
//   * window sums oldest -> newest, starting from 0 (SMA, LSMA sums, KAMA noise, EMA seeds);
//   * WMA as sum over j = 0..l-1 of (l - j) * x[i - j], newest first, / (l(l+1)/2);
//   * EMA as a*x + (1 - a)*prev; sums over the nine MAs and six types left to right.
// Layout: state payload as documented in plan.ts; outputs per batch.ts. NaN is Pine's na.
// It recomputes every window from the history each bar (O(sum of lengths)); the Rust kernel
// gets the same bits faster with running prefix chains and SIMD lanes across symbols.

import { EQUITY_PLANE, type Outputs, SIGNAL_PLANE } from './batch.js';
import { detExp } from './exp.js';
import { N_LEN, type Plan } from './plan.js';

const KAMA_FAST = 0.666;
const KAMA_SLOW = 0.064;
const CUT = 0.49;
const EMA = 0;
const HMA = 1;
const WMA = 2;
const DEMA = 3;
const LSMA = 4;
const KAMA = 5;

/** Process closes[from, to) of one series whose state is `s` (bars already seen: `bars`). */
export function referenceSeries(plan: Plan, s: Float64Array, bars: number, closes: Float64Array, from: number, to: number, out: Outputs): void {
  for (let j = from; j < to; j++) referenceBar(plan, s, bars + (j - from), closes[j] as number, out, j);
}

function referenceBar(plan: Plan, s: Float64Array, i: number, x: number, out: Outputs, at: number): void {
  const L = plan.layout;
  const sw = plan.switches;
  const H = plan.histLen;
  const cutout = plan.params.cutout;

  // 1.3 rate of change, then push the close into the history (hist[H-1] = x[i]).
  const xp = s[L.hist + H - 1] as number;
  const R = i === 0 ? NaN : sw.roc === 'diff' ? (x - xp) / xp : x / xp - 1;
  s.copyWithin(L.hist, L.hist + 1, L.hist + H);
  s[L.hist + H - 1] = x;
  const back = (k: number): number => s[L.hist + H - 1 - k] as number; // x[i - k]

  // 1.7 growth factor and the return the equities use.
  const g = i >= cutout ? detExp(plan.la * (i - cutout)) : 1;
  const r = R * g;

  const sumOldestFirst = (l: number, weight: (p: number) => number = () => 1): number => {
    let acc = 0;
    for (let p = 0; p < l; p++) acc += weight(p) * back(l - 1 - p);
    return acc;
  };
  const sma = (l: number): number => (i >= l - 1 ? sumOldestFirst(l) / l : NaN);
  const wmaOf = (l: number, at: (k: number) => number): number => {
    let acc = 0;
    for (let k = 0; k < l; k++) acc += (l - k) * at(k);
    return acc / ((l * (l + 1)) / 2);
  };
  const wma = (l: number): number => (i >= l - 1 ? wmaOf(l, back) : NaN);
  const ema = (slot: number, l: number, input: number, seed: () => number, base: number): number => {
    // Pine ta.ema: seeded with the mean of the first l inputs at input bar l-1, then a*x + (1-a)*prev.
    const a = 2 / (l + 1);
    const prev = s[base + slot] as number;
    const v = i === l - 1 ? seed() : a * input + (1 - a) * prev;
    s[base + slot] = v;
    return v;
  };

  const ma = new Float64Array(6 * N_LEN);
  for (let k = 0; k < N_LEN; k++) {
    // EMA
    {
      const l = plan.lens[EMA]![k]!;
      ma[EMA * N_LEN + k] = ema(k, l, x, () => sumOldestFirst(l) / l, L.ema);
    }
    // "HMA": Pine's script uses ta.sma; the seed a true Hull MA.
    {
      const l = plan.lens[HMA]![k]!;
      if (sw.hma === 'sma') {
        ma[HMA * N_LEN + k] = sma(l);
      } else {
        const q = plan.hullQ[k]!;
        let o = L.hull;
        for (let t = 0; t < k; t++) o += plan.hullQ[t]!;
        const raw = i >= l - 1 ? 2 * wma(Math.floor(l / 2)) - wma(l) : NaN;
        s.copyWithin(o, o + 1, o + q);
        s[o + q - 1] = raw;
        ma[HMA * N_LEN + k] = wmaOf(q, (kk) => s[o + q - 1 - kk] as number);
      }
    }
    // WMA
    ma[WMA * N_LEN + k] = wma(plan.lens[WMA]![k]!);
    // DEMA = 2*e1 - e2, e1 = ema(close), e2 = ema(e1)
    {
      const l = plan.lens[DEMA]![k]!;
      const e1 = ema(k, l, x, () => sumOldestFirst(l) / l, L.demaE1);
      let e2: number;
      const a = 2 / (l + 1);
      const prev = s[L.demaE2 + k] as number;
      if (sw.demaSeed === 'mean') {
        // the inner ema skips e1's leading na: its l inputs are e1[l-1 .. 2l-2]
        if (i >= l - 1 && i <= 2 * l - 2) s[L.demaAcc + k] = (s[L.demaAcc + k] as number) + e1;
        e2 = i < 2 * l - 2 ? NaN : i === 2 * l - 2 ? (s[L.demaAcc + k] as number) / l : a * e1 + (1 - a) * prev;
      } else {
        e2 = i < l - 1 ? NaN : i === l - 1 ? e1 : a * e1 + (1 - a) * prev;
      }
      s[L.demaE2 + k] = e2;
      ma[DEMA * N_LEN + k] = 2 * e1 - e2;
    }
    // LSMA: least squares line over the last l closes, x = 0 (oldest) .. l-1 (newest)
    {
      const l = plan.lens[LSMA]![k]!;
      let v = NaN;
      if (i >= l - 1) {
        if (sw.lsmaPoint === 'newest') {
          const Y = sumOldestFirst(l);
          const XY = sumOldestFirst(l, (p) => p);
          const X = (l * (l - 1)) / 2;
          const X2 = ((l - 1) * l * (2 * l - 1)) / 6;
          const m = (l * XY - X * Y) / (l * X2 - X * X);
          const b = (Y - m * X) / l;
          v = b + m * (l - 1);
        } else {
          // pandas_ta 0.3.14b linreg: x = 1..l, returns m*(l-1) + b (the second-newest bar)
          const ySum = sumOldestFirst(l);
          const xySum = sumOldestFirst(l, (p) => p + 1);
          const xSum = 0.5 * l * (l + 1);
          const x2Sum = (xSum * (2 * l + 1)) / 3;
          const div = l * x2Sum - xSum * xSum;
          const m = (l * xySum - xSum * ySum) / div;
          const b = (ySum * x2Sum - xSum * xySum) / div;
          v = m * (l - 1) + b;
        }
      }
      ma[LSMA * N_LEN + k] = v;
    }
    // KAMA
    {
      const l = plan.lens[KAMA]![k]!;
      let ratio = 0;
      if (i >= l) {
        let noise = 0;
        for (let p = 0; p < l; p++) noise += Math.abs(back(l - 1 - p) - back(l - p));
        const signal = Math.abs(x - back(l));
        ratio = noise !== 0 ? signal / noise : 0;
      }
      const t = ratio * (KAMA_FAST - KAMA_SLOW) + KAMA_SLOW;
      const smooth = t * t;
      const prev = s[L.kama + k] as number;
      let v: number;
      if (sw.kamaStart === 'zero') v = prev + smooth * (x - prev);
      else v = i === 0 ? x : i < l ? prev : prev + smooth * (x - prev);
      s[L.kama + k] = v;
      ma[KAMA * N_LEN + k] = v;
    }
  }

  // 1.6 crossovers and 1.8 Layer-1 equities, per MA; 1.9 Layer-1 signal per type.
  const d = plan.d;
  const xsig = new Float64Array(6);
  for (let t = 0; t < 6; t++) {
    let num = 0;
    let den = 0;
    for (let k = 0; k < N_LEN; k++) {
      const m = t * N_LEN + k;
      const v = ma[m] as number;
      const vPrev = s[L.maPrev + m] as number;
      const sigOld = s[L.sig + m] as number;
      let sig = sigOld;
      if (x > v && xp <= vPrev) sig = 1;
      if (x < v && xp >= vPrev) sig = -1;
      let e = NaN;
      if (i >= cutout) {
        // Layer 1's `var a` only keeps a value while sig[i-1] is 0, i.e. before the first
        // crossover, when it is still 0: so a = sign(sig[i-1]) * r.
        const a = sigOld > 0 ? r : sigOld < 0 ? -r : 0;
        const ePrev = s[L.eq1 + m] as number;
        e = Number.isNaN(ePrev) ? 1 : ePrev * d * (1 + a);
        if (e < 0.25) e = 0.25;
      }
      s[L.maPrev + m] = v;
      s[L.sig + m] = sig;
      s[L.eq1 + m] = e;
      num += sig * e;
      den += e;
    }
    const u = (num / den) * 100;
    xsig[t] = (sw.rounding === 'half-up' ? Math.floor(u + 0.5) : roundHalfEven(u)) / 100;
  }

  // 1.10 Layer 2 and 1.11 Average_Signal.
  let num = 0;
  let den = 0;
  for (let t = 0; t < 6; t++) {
    const sigOld = s[L.xsigPrev + t] as number;
    let e = NaN;
    if (i >= cutout) {
      let a = s[L.a2 + t] as number;
      if (sigOld > 0) a = r;
      else if (sigOld < 0) a = -r;
      else if (sw.layer2A === 'reset') a = 0;
      s[L.a2 + t] = a;
      const ePrev = s[L.eq2 + t] as number;
      e = Number.isNaN(ePrev) ? plan.params.weights[t]! : ePrev * d * (1 + a);
      if (e < 0.25) e = 0.25;
    }
    s[L.eq2 + t] = e;
    const xs = xsig[t] as number;
    s[L.xsigPrev + t] = xs;
    const hi = sw.cut === 'thresholds' ? plan.params.longThreshold : CUT;
    const lo = sw.cut === 'thresholds' ? plan.params.shortThreshold : -CUT;
    const cut = xs > hi ? 1 : xs < lo ? -1 : 0;
    num += cut * e;
    den += e;
    out.values[(SIGNAL_PLANE + t) * out.stride + at] = xs;
    out.values[(EQUITY_PLANE + t) * out.stride + at] = e;
  }
  let avg = num / den;
  if (sw.averageNa === 'zero' && !Number.isFinite(avg)) avg = 0;
  out.values[at] = avg;

  // 1.12 direction and alerts.
  const avgPrev = s[L.avgPrev] as number;
  const dirOld = s[L.direction] as number;
  const up = avg > plan.params.longThreshold && avgPrev <= plan.params.longThreshold;
  const dn = avg < plan.params.shortThreshold && avgPrev >= plan.params.shortThreshold;
  let dir = dirOld;
  if (up) dir = 1;
  if (dn) dir = -1;
  s[L.avgPrev] = avg;
  s[L.direction] = dir;
  out.direction[at] = Number.isNaN(dir) ? 0 : dir;
  out.alerts[at] = up && dirOld === -1 ? 1 : dn && dirOld === 1 ? -1 : 0;
}

/** numpy rint: round half to even; a zero result keeps the sign of u (the seed can emit -0.0). */
function roundHalfEven(u: number): number {
  const f = Math.floor(u);
  const diff = u - f;
  const r = diff < 0.5 ? f : diff > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && (u < 0 || Object.is(u, -0)) ? -0 : r;
}
