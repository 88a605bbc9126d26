// Bad input gets a coded error naming where it is, never a crash or a silent number; a failed
// call leaves the caller's outputs and states as they were.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../datasets/index.js';
import { encodeParams, type ParamsInput, resolveParams } from '../../src/config/params.js';
import { allocOutputs } from '../../src/engine/batch.js';
import { computeSeries, createKernel } from '../../src/engine/kernel.js';
import { loadNative } from '../../src/engine/native.js';
import { ENGINES, NATIVE_OK } from '../helpers/engines.js';

const P = resolveParams();

describe.each(ENGINES)('engine %s', (engine) => {
  const kernel = createKernel(P, engine);
  const good = Float64Array.from({ length: 60 }, (_, i) => 100 + Math.sin(i));

  it.each([NaN, Infinity, -Infinity, 0, -0, -5])('close %s is ATC_ERR_BAD_CLOSE naming series and bar', (bad) => {
    const closes = Float64Array.from([...good, ...good]);
    closes[60 + 17] = bad;
    const out = allocOutputs(closes.length);
    out.values.fill(7);
    expect(() => kernel.step({ closes, offsets: Uint32Array.of(0, 60, 120), out }, ['AAA', 'BBB'])).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_BAD_CLOSE', series: 1, bar: 17, symbol: 'BBB' }),
    );
    expect(out.values.every((v) => v === 7)).toBe(true);
  });

  it('names the absolute bar when continuing from a state', () => {
    const states = kernel.freshStates(1);
    kernel.step({ closes: good, offsets: Uint32Array.of(0, 60), out: allocOutputs(60), stateIn: states, stateOut: states });
    const before = Uint8Array.from(states);
    const next = Float64Array.of(101, NaN);
    expect(() => kernel.step({ closes: next, offsets: Uint32Array.of(0, 2), out: allocOutputs(2), stateIn: states, stateOut: states })).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_BAD_CLOSE', bar: 61 }),
    );
    expect(Buffer.compare(Buffer.from(states), Buffer.from(before))).toBe(0);
  });

  it('an empty series is ATC_ERR_EMPTY_SERIES', () => {
    expect(() => computeSeries(kernel, { closes: good, offsets: Uint32Array.of(0, 60, 60), symbols: ['A', 'B'] })).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_EMPTY_SERIES', symbol: 'B' }),
    );
  });

  it('fewer bars than the longest MA is ATC_ERR_TOO_FEW_BARS', () => {
    expect(() => computeSeries(kernel, { closes: good.subarray(0, 33), offsets: Uint32Array.of(0, 33) })).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_TOO_FEW_BARS' }),
    );
    // 34 bars (the longest MA for the defaults) is enough
    expect(() => computeSeries(kernel, { closes: good.subarray(0, 34), offsets: Uint32Array.of(0, 34) })).not.toThrow();
  });

  it('a state of other parameters is ATC_ERR_STATE_MISMATCH, garbage is ATC_ERR_STATE_INVALID', () => {
    const other = createKernel(resolveParams({ lambda: 0.03 }), engine);
    const st = other.freshStates(1);
    const run = (s: Uint8Array) => kernel.step({ closes: good, offsets: Uint32Array.of(0, 60), out: allocOutputs(60), stateIn: s });
    expect(() => run(st)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_STATE_MISMATCH' }));
    const junk = new Uint8Array(kernel.stateBytes).fill(0xab);
    expect(() => run(junk)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_STATE_INVALID' }));
  });

  it('wrong buffers are ATC_ERR_INVALID_ARGUMENT', () => {
    const out = allocOutputs(10);
    const call = (req: object) => () => kernel.step({ closes: good, offsets: Uint32Array.of(0, 60), out: allocOutputs(60), ...req } as never);
    expect(call({ offsets: Uint32Array.of(0, 61) })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    expect(call({ offsets: Uint32Array.of(30, 10) })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    expect(call({ out })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    expect(call({ stateIn: new Uint8Array(3) })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
    expect(call({ closes: new Float32Array(60) })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
  });
});

describe('invalid parameters are ATC_ERR_INVALID_PARAM naming the parameter', () => {
  const cases: [ParamsInput, string][] = [
    [{ lambda: NaN }, 'lambda'],
    [{ lambda: -0.01 }, 'lambda'],
    [{ lambda: 2 }, 'lambda'],
    [{ decay: -1 }, 'decay'],
    [{ decay: 101 }, 'decay'],
    [{ decay: Infinity }, 'decay'],
    [{ cutout: 1.5 }, 'cutout'],
    [{ cutout: -1 }, 'cutout'],
    [{ lengths: 0 }, 'lengths[EMA]'],
    [{ lengths: 6 }, 'lengths[EMA]'], // Medium: 6 - 6 = 0
    [{ lengths: [28, 28, 28, 28, 7, 28] }, 'lengths[LSMA]'], // 7 - 6 = 1: a line through one point
    [{ lengths: 2001 }, 'lengths[EMA]'],
    [{ lengths: 2.5 }, 'lengths[EMA]'],
    [{ lengths: [1, 2, 3] }, 'lengths'],
    [{ weights: 0 }, 'weights[EMA]'],
    [{ weights: [1, 1, 1, 1, 1, -1] }, 'weights[KAMA]'],
    [{ longThreshold: 2 }, 'longThreshold'],
    [{ shortThreshold: NaN }, 'shortThreshold'],
    [{ profile: 'tv' as never }, 'profile'],
    [{ robustness: 'Huge' as never }, 'robustness'],
    [{ profile: 'seed', lengths: [28, 8, 28, 28, 28, 28], robustness: 'Wide' }, 'lengths[HMA]'], // Hull needs l >= 2: 8 - 7 = 1
  ];
  it.each(cases)('%j', (input, param) => {
    expect(() => resolveParams(input)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM', param }));
  });

  it.skipIf(!NATIVE_OK)('the native layer validates the same domains on its own', () => {
    const n = loadNative();
    if (!n.ok) return;
    const w = encodeParams(P);
    const bad = Float64Array.from(w);
    bad[2] = -1; // lambda
    expect(() => n.addon.plan(bad)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM', param: 'lambda' }));
    bad[2] = 0.02;
    bad[5] = 3; // EMA length 3 - 6 < 1
    expect(() => n.addon.plan(bad)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM' }));
    expect(() => n.addon.plan(new Float64Array(3))).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }));
  });
});

describe.skipIf(!NATIVE_OK)('native boundary', () => {
  const n = loadNative();
  if (!n.ok) return;
  const a = n.addon;
  const w = encodeParams(P);

  it('rejects wrong argument types with TypeErrors', () => {
    const out = allocOutputs(4);
    expect(() => a.step(w, [1, 2, 3, 4] as never, Uint32Array.of(0, 4), out.values, 4, out.direction, out.alerts, null, null)).toThrow(TypeError);
    expect(() => (a.step as (...x: unknown[]) => void)()).toThrow(TypeError);
    expect(() => a.step(w, new Float64Array(4), Uint32Array.of(0, 4), out.values, '4' as never, out.direction, out.alerts, null, null)).toThrow(TypeError);
    expect(() => a.step(w, new Float64Array(4), Uint32Array.of(0, 4), out.values, 4, out.direction, out.alerts, null, null, 'sse9')).toThrow(TypeError);
  });

  it('refuses overlapping input and output buffers', () => {
    const buf = new Float64Array(13 * 4 + 4);
    const dir = new Int8Array(4);
    const al = new Int8Array(4);
    expect(() => a.step(w, buf.subarray(13 * 4), Uint32Array.of(0, 4), buf, 4, dir, al, null, null)).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }),
    );
    expect(() => a.step(w, new Float64Array(4).fill(1), Uint32Array.of(0, 4), new Float64Array(52), 4, dir, dir, null, null)).toThrowError(
      expect.objectContaining({ code: 'ATC_ERR_INVALID_ARGUMENT' }),
    );
  });

  it('survives a fuzz of random arguments with coded errors only', () => {
    const rng = new Rng(77);
    const pick = <T>(xs: T[]): T => xs[rng.below(xs.length)] as T;
    const states = createKernel(P, 'rust').freshStates(3);
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const n = rng.below(50);
      const closes = Float64Array.from({ length: n }, () => pick([1, 2.5, 100, NaN, 0, -1, Infinity, 1e-300, 1e300, Number.MAX_VALUE]));
      const ns = rng.below(4);
      const offsets = Uint32Array.from({ length: ns + 1 }, () => rng.below(n + 2));
      if (rng.below(2)) offsets.sort();
      const stride = pick([n, n + 3, Math.max(0, n - 1), 0]);
      const values = new Float64Array(pick([13 * stride, 13 * stride + 1, Math.max(0, 13 * stride - 1), 0]));
      const dir = new Int8Array(pick([n, Math.max(0, n - 1)]));
      const al = new Int8Array(pick([n, 0]));
      const st = pick([null, states.subarray(0, ns * (states.length / 3)), new Uint8Array(rng.below(200)), Uint8Array.from({ length: ns * (states.length / 3) }, () => rng.below(256))]);
      const params = Float64Array.from(w);
      if (rng.below(4) === 0) params[rng.below(params.length)] = pick([NaN, -1, 1e9, 0.5, 2001, 3]);
      try {
        a.step(params, closes, offsets, values, stride, dir, al, st, pick([null, st]), pick([undefined, 'scalar', 'portable', ...n !== 3 ? [] : ['avx512']]));
        ok++;
      } catch (e) {
        expect((e as { code?: string }).code, String(e)).toMatch(/^ATC_ERR_(BAD_CLOSE|INVALID_PARAM|INVALID_ARGUMENT|STATE_INVALID|STATE_MISMATCH)$/);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});
