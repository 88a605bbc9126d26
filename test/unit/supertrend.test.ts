// Supertrend (src/strategies/supertrend/kernel.ts, kernels/core/src/supertrend.rs): every golden
// row of test/golden/supertrend by both engines, Rust == TS bit for bit, any block split == one
// call (across engines too), state records, coded errors, and the native boundary.
//
// Tolerance: none. supertrend and atr must have the golden doubles' exact bits (NULL = NaN),
// direction and the NULL pattern must be equal. The contract fixes the evaluation order and the
// golden doubles are exactly the reference's (README "How the files were produced"), so a
// kernel that keeps the order has no rounding to forgive; the manifest's 1e-9 * max(1, |x|) is
// the bound for kernels that use another order, and 0 difference implies it.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ohlcWalks, Rng } from '../../datasets/index.js';
import { resolveParams } from '../../src/config/params.js';
import { createKernel } from '../../src/engine/kernel.js';
import { loadNative } from '../../src/engine/native.js';
import {
  freshStates,
  readState,
  STATE_BYTES,
  type SupertrendBlock,
  supertrendEngine,
  type SupertrendParams,
  supertrendParams,
  writeState,
} from '../../src/strategies/supertrend/kernel.js';
import { ENGINES, NATIVE_OK } from '../helpers/engines.js';
import { GOLDEN_DIR, query } from '../helpers/golden.js';

const DIR = join(GOLDEN_DIR, 'supertrend');

interface StManifest {
  input: { file: string; rows: number; sha256: string };
  files: {
    file: string;
    rows: number;
    sha256: string;
    parameters: { factor: number; atr_period: number };
    null_counts: { supertrend: number; direction: number; atr: number };
    flips: { total: number; per_symbol: Record<string, number> };
  }[];
}
const M = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as StManifest;

interface Series {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  offsets: Uint32Array;
}

interface Out {
  supertrend: Float64Array;
  atr: Float64Array;
  direction: Int8Array;
  trade: Int8Array;
  states: Uint8Array;
}

const inputRows = await query(`SELECT symbol, ts::VARCHAR AS ts, high, low, close FROM '${join(DIR, M.input.file)}' ORDER BY symbol, ts`);
const keys = inputRows.map((r) => `${String(r.symbol)}|${String(r.ts)}`);
const symbols = [...new Set(inputRows.map((r) => String(r.symbol)))];
const golden: Series = {
  high: Float64Array.from(inputRows, (r) => Number(r.high)),
  low: Float64Array.from(inputRows, (r) => Number(r.low)),
  close: Float64Array.from(inputRows, (r) => Number(r.close)),
  offsets: Uint32Array.from([0, ...symbols.map((s) => inputRows.findLastIndex((r) => r.symbol === s) + 1)]),
};

function paramsOf(f: StManifest['files'][number]): SupertrendParams {
  return supertrendParams({ factor: f.parameters.factor, atrPeriod: f.parameters.atr_period });
}

function alloc(rows: number, series: number): Out {
  return {
    supertrend: new Float64Array(rows).fill(7),
    atr: new Float64Array(rows).fill(7),
    direction: new Int8Array(rows).fill(7),
    trade: new Int8Array(rows).fill(7),
    states: new Uint8Array(series * STATE_BYTES),
  };
}

/** One call over `x`, every output plane asked for, states out (from `stateIn` when given). */
function run(engine: (typeof ENGINES)[number], p: SupertrendParams, x: Series, stateIn?: Uint8Array): Out {
  const o = alloc(x.close.length, x.offsets.length - 1);
  supertrendEngine(engine)(p, { ...x, ...o, stateIn, stateOut: o.states });
  return o;
}

const bits = (a: Float64Array): BigUint64Array => new BigUint64Array(a.buffer, a.byteOffset, a.length);

/** Indices where two outputs differ in any bit (NaN payloads are compared too). */
function differences(a: Out, b: Out): number[] {
  const bad: number[] = [];
  for (let j = 0; j < a.atr.length; j++) {
    if (bits(a.supertrend)[j] !== bits(b.supertrend)[j] || bits(a.atr)[j] !== bits(b.atr)[j] || a.direction[j] !== b.direction[j] || a.trade[j] !== b.trade[j]) bad.push(j);
  }
  return bad;
}

function expectSame(a: Out, b: Out): void {
  expect(differences(a, b).slice(0, 5)).toEqual([]);
  expect(Buffer.compare(Buffer.from(a.states), Buffer.from(b.states))).toBe(0);
}

/** Seeded OHLC series (datasets/generators) plus hand-made odd ones: flat bars long enough for
 *  an ATR of 0 (equal bands), high < low, zero and negative prices, closes outside [low, high]. */
function randomSeries(seed: number, symbols: number, bars: number): Series {
  const w = ohlcWalks(symbols, bars, seed);
  const flat = [...Array<number>(50).fill(5), 6, 6, 6, 5, 5];
  const odd = [
    [flat, flat, flat],
    [
      [1, 2, 0, -1, -3, 2, 4, 4, 0],
      [2, 1, 0, -2, -2, 1, 5, 3, 0],
      [1.5, 2.5, 0, -1, -2.5, 3, 4, 3.5, 7],
    ],
  ];
  const col = (k: number, base: Float64Array): Float64Array => Float64Array.from([...base, ...odd.flatMap((o) => o[k] as number[])]);
  const offsets = [...w.offsets];
  for (const o of odd) offsets.push((offsets.at(-1) as number) + (o[0] as number[]).length);
  return { high: col(0, w.high), low: col(1, w.low), close: col(2, w.close), offsets: Uint32Array.from(offsets) };
}

describe('golden files are the files of the manifest', () => {
  it.each([M.input, ...M.files].map((f) => [f.file, f.sha256]))('%s has its recorded sha256', (file, sha) => {
    expect(createHash('sha256').update(readFileSync(join(DIR, file))).digest('hex')).toBe(sha);
  });
  it('the input has the recorded rows', () => expect(inputRows.length).toBe(M.input.rows));
});

describe.each(ENGINES)('engine %s', (engine) => {
  it.each(M.files.map((f) => [f.file, f]))('reproduces every row of %s bit for bit', async (file, f) => {
    const o = run(engine, paramsOf(f), golden);
    const g = await query(`SELECT symbol, ts::VARCHAR AS ts, supertrend, direction, atr FROM '${join(DIR, file)}' ORDER BY symbol, ts`);
    expect(g.length).toBe(f.rows);
    const bad: string[] = [];
    const nulls = { supertrend: 0, atr: 0 };
    g.forEach((r, j) => {
      const key = `${String(r.symbol)}|${String(r.ts)}`;
      if (key !== keys[j]) throw new Error(`row ${j}: golden key ${key}, input key ${keys[j]}`);
      const want = { supertrend: r.supertrend === null ? NaN : Number(r.supertrend), atr: r.atr === null ? NaN : Number(r.atr) };
      for (const c of ['supertrend', 'atr'] as const) {
        const mine = o[c][j] as number;
        if (Number.isNaN(mine)) nulls[c]++;
        if (!(Object.is(mine, want[c]) || (Number.isNaN(mine) && Number.isNaN(want[c])))) bad.push(`${key} ${c}: ${mine} != ${want[c]}`);
      }
      if (o.direction[j] !== Number(r.direction)) bad.push(`${key} direction: ${o.direction[j]} != ${String(r.direction)}`);
    });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(nulls).toEqual({ supertrend: f.null_counts.supertrend, atr: f.null_counts.atr });
  });

  it.each(M.files.map((f) => [f.file, f]))('trades the golden Pine direction of %s by the rule of contract section 6', async (file, f) => {
    const o = run(engine, paramsOf(f), golden);
    const g = await query(`SELECT symbol, direction FROM '${join(DIR, file)}' ORDER BY symbol, ts`);
    const flips: Record<string, number> = {};
    symbols.forEach((sym, s) => {
      flips[sym] = 0;
      for (let j = golden.offsets[s] as number; j < (golden.offsets[s + 1] as number); j++) {
        const d = Number(g[j]?.direction);
        if (j > (golden.offsets[s] as number) && d !== Number(g[j - 1]?.direction)) flips[sym]++;
        // NULL (0) until Pine's direction first changes, then long while it is -1, short while 1
        expect(o.trade[j], `${sym} row ${j}`).toBe((flips[sym] as number) > 0 ? -d : 0);
      }
    });
    expect(flips).toEqual(f.flips.per_symbol);
  });

  it('computes the worked examples of the golden README', () => {
    const one = (h: number[], l: number[], c: number[]): Series => ({ high: Float64Array.from(h), low: Float64Array.from(l), close: Float64Array.from(c), offsets: Uint32Array.of(0, c.length) });
    const a = run(
      engine,
      supertrendParams({ factor: 1, atrPeriod: 4 }),
      one(
        [10, 11, 12, 13, 16, 17, 16.5, 16, 17.5, 18, 16, 15],
        [8, 9, 10, 11, 14, 15, 12.5, 12, 12.5, 17, 14.5, 13],
        [9, 10, 11, 12, 15.5, 16, 13, 15, 17.0859375, 17.75, 14.57666015625, 13.5],
      ),
    );
    const line = [0, NaN, NaN, 14, 12.5, 13.625, 17.28125, 17.0859375, 17.0859375, 14.57666015625, 14.57666015625, 16.753753662109375];
    const atr = [NaN, NaN, NaN, 2, 2.5, 2.375, 2.78125, 3.0859375, 3.564453125, 2.92333984375, 3.0050048828125, 2.753753662109375];
    expect([...a.supertrend]).toEqual(line);
    expect([...a.atr]).toEqual(atr);
    expect([...a.direction]).toEqual([1, 1, 1, 1, -1, -1, 1, 1, 1, -1, -1, 1]);
    expect([...a.trade]).toEqual([0, 0, 0, 0, 1, 1, -1, -1, -1, 1, 1, -1]);
    // equal bands: the previous line is the lower band and equals the upper band, so bar 4 takes the first branch
    const flat = [5, 5, 5, 6, 6];
    const b = run(engine, supertrendParams({ factor: 3, atrPeriod: 2 }), one(flat, flat, flat));
    expect([...b.atr]).toEqual([NaN, 0, 0, 0.5, 0.25]);
    expect([...b.supertrend]).toEqual([0, 5, 5, 5, 6.75]);
    expect([...b.direction]).toEqual([1, 1, 1, -1, 1]);
  });

  it('any block split gives the bits of one call', () => {
    const rng = new Rng(engine === 'ts' ? 21 : 22);
    const x = randomSeries(5, 12, 700);
    for (let round = 0; round < 6; round++) {
      const p = supertrendParams({ factor: [1, 2.5, 3, 0.7][rng.below(4)], atrPeriod: [1, 2, 10, 33][rng.below(4)] });
      const whole = run(engine, p, x);
      const cuts = [0, ...Array.from({ length: 1 + rng.below(5) }, () => rng.unit()).sort((a, b) => a - b), 1];
      const got = alloc(x.close.length, 0);
      let states: Uint8Array | undefined;
      for (let k = 0; k + 1 < cuts.length; k++) {
        const spans = Array.from({ length: x.offsets.length - 1 }, (_, s) => {
          const a = x.offsets[s] as number;
          const n = (x.offsets[s + 1] as number) - a;
          return [a + Math.floor(n * (cuts[k] as number)), a + Math.floor(n * (cuts[k + 1] as number))] as const;
        });
        const pick = (c: Float64Array): Float64Array => Float64Array.from(spans.flatMap(([a, b]) => [...c.subarray(a, b)]));
        const offsets = new Uint32Array(spans.length + 1);
        spans.forEach(([a, b], s) => (offsets[s + 1] = (offsets[s] as number) + b - a));
        // alternate engines block by block: a state written by one continues in the other
        const e = ENGINES[(k + round) % ENGINES.length] as (typeof ENGINES)[number];
        const r = run(e, p, { high: pick(x.high), low: pick(x.low), close: pick(x.close), offsets }, states);
        spans.forEach(([a, b], s) => {
          const o = offsets[s] as number;
          got.supertrend.set(r.supertrend.subarray(o, o + b - a), a);
          got.atr.set(r.atr.subarray(o, o + b - a), a);
          got.direction.set(r.direction.subarray(o, o + b - a), a);
          got.trade.set(r.trade.subarray(o, o + b - a), a);
        });
        states = r.states;
      }
      got.states = states ?? new Uint8Array();
      expectSame(got, whole);
    }
  });

  it('state records round-trip and a fresh record is the same in both engines', () => {
    const p = supertrendParams({ factor: 2, atrPeriod: 7 });
    const x = randomSeries(9, 4, 300);
    const o = run(engine, p, x);
    for (let s = 0; s < 4; s++) {
      const st = readState(p, o.states, s);
      expect(st.bars).toBe((x.offsets[s + 1] as number) - (x.offsets[s] as number));
      const again = new Uint8Array(STATE_BYTES);
      writeState(p, st, again, 0);
      expect(Buffer.compare(Buffer.from(again), Buffer.from(o.states.subarray(s * STATE_BYTES, (s + 1) * STATE_BYTES)))).toBe(0);
    }
    // an empty series writes its state through: fresh in, fresh out
    const empty = { high: new Float64Array(), low: new Float64Array(), close: new Float64Array(), offsets: Uint32Array.of(0, 0) };
    expect(Buffer.compare(Buffer.from(run(engine, p, empty).states), Buffer.from(freshStates(p, 1)))).toBe(0);
    // continuing in place equals continuing into another buffer
    const st = Uint8Array.from(o.states);
    const more = randomSeries(10, 4, 50);
    const into = run(engine, p, more, o.states);
    supertrendEngine(engine)(p, { ...more, stateIn: st, stateOut: st });
    expect(Buffer.compare(Buffer.from(st), Buffer.from(into.states))).toBe(0);
  });

  it.each([
    [{ factor: 0 }, 'factor'],
    [{ factor: -1 }, 'factor'],
    [{ factor: NaN }, 'factor'],
    [{ factor: Infinity }, 'factor'],
    [{ atrPeriod: 0 }, 'atrPeriod'],
    [{ atrPeriod: 2.5 }, 'atrPeriod'],
    [{ atrPeriod: 100_001 }, 'atrPeriod'],
    [{ atrPeriod: NaN }, 'atrPeriod'],
  ])('bad parameters %j are ATC_ERR_INVALID_PARAM naming the parameter', (bad, param) => {
    const p = { factor: 3, atrPeriod: 10, ...bad };
    expect(() => supertrendParams(bad)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM', param }));
    expect(() => run(engine, p, golden)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM', param }));
  });

  it.each([
    ['high', NaN],
    ['low', Infinity],
    ['close', -Infinity],
    ['close', NaN],
  ] as const)('a non-finite %s (%s) is ATC_ERR_BAD_VALUE naming series, bar and column; nothing is written', (column, value) => {
    const p = supertrendParams();
    const x = randomSeries(3, 3, 40);
    const bad = { ...x, [column]: Float64Array.from(x[column]) };
    bad[column][40 + 17] = value;
    const st = run(engine, p, x).states;
    expect(() => run(engine, p, bad)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_BAD_VALUE', series: 1, bar: 17, column }));
    expect(() => run(engine, p, bad, st)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_BAD_VALUE', series: 1, bar: 57, column }));
    const out = new Float64Array(bad.close.length).fill(7);
    const states = Uint8Array.from(st);
    expect(() => supertrendEngine(engine)(p, { ...bad, atr: out, stateIn: states, stateOut: states })).toThrow();
    expect(out.every((v) => v === 7)).toBe(true);
    expect(Buffer.compare(Buffer.from(states), Buffer.from(st))).toBe(0);
  });

  it('bad state records are coded errors', () => {
    const p = supertrendParams();
    const x = randomSeries(4, 2, 30);
    const good = run(engine, p, x).states;
    const code = (st: Uint8Array, q = p): unknown => {
      try {
        run(engine, q, x, st);
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(good, supertrendParams({ atrPeriod: 11 }))).toBe('ATC_ERR_STATE_MISMATCH');
    expect(code(good.subarray(0, STATE_BYTES))).toBe('ATC_ERR_INVALID_ARGUMENT');
    expect(code(new Uint8Array(good.length).fill(0xab))).toBe('ATC_ERR_STATE_INVALID');
    for (const [at, byte] of [
      [4, 2], // version
      [8, 9], // payload length
      [31, 0x7f], // bar count
      [32 + 6 * 8 + 7, 0x40], // Pine direction 2
      [32 + 7 * 8 + 7, 0x40], // trading direction 2
    ]) {
      const bad = Uint8Array.from(good);
      bad[STATE_BYTES + (at as number)] = byte as number;
      expect(code(bad), `byte ${at}`).toBe('ATC_ERR_STATE_INVALID');
    }
    // an ATC kernel state is not a Supertrend state
    const atc = createKernel(resolveParams(), 'ts').freshStates(1);
    expect(() => readState(p, atc, 0)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_STATE_INVALID' }));
  });

  it('wrong buffers are ATC_ERR_INVALID_ARGUMENT', () => {
    const p = supertrendParams();
    const x = randomSeries(6, 2, 20);
    const call = (b: Partial<SupertrendBlock>) => () => supertrendEngine(engine)(p, { ...x, ...b } as SupertrendBlock);
    const arg = expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' });
    expect(call({ high: x.high.subarray(1) })).toThrowError(arg);
    expect(call({ offsets: Uint32Array.of(0, 10_000) })).toThrowError(arg);
    expect(call({ offsets: Uint32Array.of(10, 5) })).toThrowError(arg);
    expect(call({ offsets: new Uint32Array() })).toThrowError(arg);
    expect(call({ atr: new Float64Array(3) })).toThrowError(arg);
    expect(call({ direction: new Int8Array(3) })).toThrowError(arg);
    expect(call({ stateOut: new Uint8Array(5) })).toThrowError(arg);
    expect(call({ close: new Float32Array(x.close.length) as never })).toThrowError(arg);
  });
});

describe.skipIf(!NATIVE_OK)('rust and ts agree bit for bit', () => {
  it('on the golden input under every golden parameter set', () => {
    for (const f of M.files) expectSame(run('rust', paramsOf(f), golden), run('ts', paramsOf(f), golden));
  });

  it('on random series and parameters, on every SIMD path', () => {
    const n = loadNative();
    if (!n.ok) return;
    const rng = new Rng(31);
    for (let round = 0; round < 8; round++) {
      const x = randomSeries(100 + round, 1 + rng.below(30), 1 + rng.below(600));
      // factor >= atrPeriod makes the flat series' jump an equal-band event
      const p = supertrendParams({ factor: [3, 0.1 + 5 * rng.unit()][round % 2] as number, atrPeriod: [1, 2, 3, 1 + rng.below(40)][round % 4] as number });
      const want = run('ts', p, x);
      for (const path of n.paths) {
        const o = run('ts', p, x);
        n.addon.supertrend({ ...x, ...o, stateOut: o.states, factor: p.factor, atrPeriod: p.atrPeriod, path });
        expectSame(o, want);
      }
    }
  });
});

describe.skipIf(!NATIVE_OK)('native boundary', () => {
  const n = loadNative();
  if (!n.ok) return;
  const st = n.addon.supertrend;
  const x = randomSeries(7, 2, 10);
  const ok = { ...x, factor: 3, atrPeriod: 10 };

  it('refuses wrong types with TypeErrors', () => {
    for (const bad of [
      undefined,
      42,
      { ...ok, factor: '3' },
      { ...ok, atrPeriod: undefined },
      { ...ok, high: [1, 2, 3] },
      { ...ok, low: new Float32Array(x.low.length) },
      { ...ok, offsets: Int32Array.from(x.offsets) },
      { ...ok, atr: new Int8Array(x.close.length) },
      { ...ok, direction: new Uint8Array(x.close.length) },
      { ...ok, stateIn: 'state' },
      { ...ok, path: 'sse9' },
      { ...ok, path: 7 },
    ]) {
      expect(() => (st as (a: unknown) => void)(bad), JSON.stringify(bad)?.slice(0, 80)).toThrow(TypeError);
    }
    expect(() => (st as () => void)()).toThrow(TypeError);
  });

  it('refuses wrong lengths with RangeErrors', () => {
    for (const bad of [
      { ...ok, close: x.close.subarray(1) },
      { ...ok, offsets: Uint32Array.of(0, 1000) },
      { ...ok, offsets: new Uint32Array() },
      { ...ok, trade: new Int8Array(2) },
      { ...ok, stateIn: new Uint8Array(3) },
      { ...ok, stateOut: new Uint8Array(STATE_BYTES * 3) },
    ]) {
      expect(() => st(bad)).toThrow(RangeError);
      expect(() => st(bad)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    }
  });

  it('refuses overlapping inputs and outputs', () => {
    const buf = new Float64Array(x.close.length * 2);
    buf.set(x.close);
    expect(() => st({ ...ok, close: buf.subarray(0, x.close.length), atr: buf })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    const s = new Uint8Array(STATE_BYTES * 4);
    expect(() => st({ ...ok, stateIn: s.subarray(0, 2 * STATE_BYTES), stateOut: s.subarray(STATE_BYTES, 3 * STATE_BYTES) })).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }),
    );
  });

  it('survives a fuzz of random arguments with coded errors only', () => {
    const rng = new Rng(78);
    const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)] as T;
    let done = 0;
    for (let i = 0; i < 3000; i++) {
      const m = rng.below(40);
      const col = (): Float64Array => Float64Array.from({ length: pick([m, m, m, m + 1, Math.max(0, m - 1)]) }, () => pick([1, 2.5, 100, -1, 0, 1e300, -1e300, Number.MAX_VALUE, NaN, Infinity, 5e-324]));
      const ns = rng.below(4);
      const offsets = Uint32Array.from({ length: ns + 1 }, () => rng.below(m + 2));
      if (rng.below(2)) offsets.sort();
      const len = (): number => pick([m, m + 3, Math.max(0, m - 1), 0]);
      const states = pick([null, freshStates(supertrendParams(), ns), new Uint8Array(rng.below(300)), Uint8Array.from({ length: ns * STATE_BYTES }, () => rng.below(256))]);
      try {
        st({
          factor: pick([3, 0, -1, NaN, 1e308, 5e-324]),
          atrPeriod: pick([10, 1, 0, 2.5, 1e9]),
          high: col(),
          low: col(),
          close: col(),
          offsets,
          stateIn: states,
          stateOut: pick([null, states, new Uint8Array(ns * STATE_BYTES)]),
          supertrend: pick([null, new Float64Array(len())]),
          atr: pick([null, new Float64Array(len())]),
          direction: pick([null, new Int8Array(len())]),
          trade: pick([null, new Int8Array(len())]),
          path: pick([undefined, ...n.paths]),
        });
        done++;
      } catch (e) {
        expect((e as { code?: string }).code, String(e)).toMatch(/^ATC_ERR_(INVALID_PARAM|INVALID_ARGUMENT|BAD_VALUE|STATE_INVALID|STATE_MISMATCH)$/);
      }
    }
    expect(done).toBeGreaterThan(0);
  });
});
