// Seeded synthetic prices, shared by tests and benchmarks (same seed, same bars on every
// machine and Node version: only +, *, Math.log/sqrt/exp of V8, which are fdlibm's in every
// version, fdlibm's cos (cos.ts: V8's Math.cos changed), no platform RNG).
//
// Each symbol is a geometric random walk with volatility regimes (calm / normal / stressed,
// switching at random) and slow drifting trends, rounded to a tick grid like real prices; so
// closes often equal a moving average exactly, the case where evaluation order matters.

import { cos } from './cos.js';

/** xoshiro128** (32-bit state words; exact in JS integer arithmetic). The state is kept as
 *  int32 bit patterns (no unsigned values above 2^31 to box): the same words as unsigned
 *  arithmetic in about half the time per u32() and unit(). */
export class Rng {
  private s: Int32Array;
  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = new Int32Array([next(), next(), next(), next()]);
  }

  /** the next output as an int32 bit pattern */
  private i32(): number {
    const s = this.s;
    const s0 = s[0] as number;
    const s1 = s[1] as number;
    const x = Math.imul(s1, 5);
    const r = Math.imul((x << 7) | (x >>> 25), 9);
    const s2 = (s[2] as number) ^ s0;
    const s3 = (s[3] as number) ^ s1;
    s[0] = s0 ^ s3;
    s[1] = s1 ^ s2;
    s[2] = s2 ^ (s1 << 9);
    s[3] = (s3 << 11) | (s3 >>> 21);
    return r;
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  /** uniform in [0, 1) with 53 random bits */
  unit(): number {
    return ((this.i32() >>> 5) * 67108864 + (this.i32() >>> 6)) / 9007199254740992;
  }

  /** integer in [0, n) */
  below(n: number): number {
    return Math.floor(this.unit() * n);
  }

  normal(): number {
    const u = Math.max(this.unit(), 1e-300);
    const v = this.unit();
    return Math.sqrt(-2 * Math.log(u)) * cos(2 * Math.PI * v);
  }
}

export interface WalkOptions {
  /** daily-ish volatility of the normal regime (default 0.02) */
  vol?: number;
}

const TICKS = [0.01, 0.01, 0.01, 0.001, 0.0001, 1e-6];
const REGIMES = [0.4, 1, 2.5];

/** One symbol's price process, bar by bar: regime-switching geometric walk on a tick grid. */
export class Walk {
  private p: number;
  /** 1 / tick size, an exact integer (100, 1000, ...): k / inv is the double nearest k ticks */
  readonly inv: number;
  private regime = 1;
  private drift = 0;
  private readonly vol: number;
  /** the close before the latest one (the latest bar's open) */
  prev: number;

  constructor(
    private readonly rng: Rng,
    opts: WalkOptions = {},
  ) {
    this.vol = opts.vol ?? 0.02;
    this.p = Math.exp(Math.log(5) + rng.unit() * Math.log(100)); // 5 .. 500
    this.inv = Math.round(1 / ((TICKS[rng.below(TICKS.length)] as number) * (this.p < 1 ? 0.01 : 1)));
    this.prev = this.round(this.p);
  }

  /** to the tick grid (never below one tick) */
  round(p: number): number {
    return Math.max(1, Math.round(p * this.inv)) / this.inv;
  }

  /** the next close */
  next(): number {
    const rng = this.rng;
    if (rng.unit() < 0.002) this.regime = rng.below(3);
    if (rng.unit() < 0.01) this.drift = (rng.unit() - 0.5) * 0.2 * this.vol;
    const flat = rng.unit() < 0.05; // untraded bar: same close
    if (!flat) this.p *= Math.exp(this.drift + this.vol * (REGIMES[this.regime] as number) * rng.normal());
    return this.round(this.p);
  }

  /** the current volatility scale (for OHLC ranges and volume) */
  get sigma(): number {
    return this.vol * (REGIMES[this.regime] as number);
  }

  /** The next bar into out = [open, high, low, close]: open is the previous close, high and
   *  low lie around open and close on the tick grid (`atc data generate`'s bars). */
  nextBar(out: Float64Array): void {
    const open = this.prev;
    const close = this.next();
    this.prev = close;
    const spread = this.sigma * 0.4;
    out[0] = open;
    out[1] = Math.ceil(Math.max(open, close) * (1 + Math.abs(this.rng.normal()) * spread) * this.inv) / this.inv;
    out[2] = Math.max(1, Math.floor(Math.min(open, close) * (1 - Math.min(0.5, Math.abs(this.rng.normal()) * spread)) * this.inv)) / this.inv;
    out[3] = close;
  }
}

/** One symbol's closes. */
export function walk(rng: Rng, bars: number, opts: WalkOptions = {}): Float64Array {
  const w = new Walk(rng, opts);
  const out = new Float64Array(bars);
  for (let i = 0; i < bars; i++) out[i] = w.next();
  return out;
}

/** `symbols` walks of `bars` closes each, concatenated with offsets (the kernel batch layout). */
export function randomWalks(symbols: number, bars: number, seed: number, opts: WalkOptions = {}): { closes: Float64Array; offsets: Uint32Array } {
  const rng = new Rng(seed);
  const closes = new Float64Array(symbols * bars);
  const offsets = new Uint32Array(symbols + 1);
  for (let s = 0; s < symbols; s++) {
    closes.set(walk(rng, bars, opts), s * bars);
    offsets[s + 1] = (s + 1) * bars;
  }
  return { closes, offsets };
}

/** `symbols` OHLC walks of `bars` bars each, one column per field, concatenated with offsets. */
export function ohlcWalks(
  symbols: number,
  bars: number,
  seed: number,
  opts: WalkOptions = {},
): { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; offsets: Uint32Array } {
  const rng = new Rng(seed);
  const cols = Array.from({ length: 4 }, () => new Float64Array(symbols * bars));
  const offsets = new Uint32Array(symbols + 1);
  const bar = new Float64Array(4);
  for (let s = 0; s < symbols; s++) {
    const w = new Walk(rng, opts);
    for (let i = 0; i < bars; i++) {
      w.nextBar(bar);
      for (let k = 0; k < 4; k++) (cols[k] as Float64Array)[s * bars + i] = bar[k] as number;
    }
    offsets[s + 1] = (s + 1) * bars;
  }
  const [open, high, low, close] = cols as [Float64Array, Float64Array, Float64Array, Float64Array];
  return { open, high, low, close, offsets };
}
