// Parameter grids: lists, ranges, alternatives, per-type dimensions, stable ids, errors; the
// pipeline file and flag precedence.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGrid, makeSet, paramSetId } from '../../src/config/grid.js';
import { resolveParams } from '../../src/config/params.js';
import { resolveJob } from '../../src/config/options.js';
import { tempDir } from '../helpers/cli.js';

describe('expandGrid', () => {
  it('is the Cartesian product, last dimension fastest, with inclusive decimal ranges', () => {
    const sets = expandGrid({ lambda: '0.01:0.03:0.01', cutout: '0,10' });
    expect(sets.map((s) => [s.params.lambda, s.params.cutout])).toEqual([
      [0.01, 0],
      [0.01, 10],
      [0.02, 0],
      [0.02, 10],
      [0.03, 0],
      [0.03, 10],
    ]);
    expect(expandGrid({ decay: '1e-3:3e-3:1e-3' }).map((s) => s.params.decay)).toEqual([0.001, 0.002, 0.003]);
  });

  it('sweeps lengths and weights as alternatives and per type', () => {
    const sets = expandGrid({ lengths: '20;28,28,28,28,28,14', 'kama-len': [10, 12], 'ema-weight': '0.5' });
    expect(sets.map((s) => s.params.lengths)).toEqual([
      [20, 20, 20, 20, 20, 10],
      [20, 20, 20, 20, 20, 12],
      [28, 28, 28, 28, 28, 10],
      [28, 28, 28, 28, 28, 12],
    ]);
    expect(sets.every((s) => s.params.weights[0] === 0.5 && s.params.weights[5] === 1)).toBe(true);
    expect(expandGrid({ lengths: '20:28:4' }).map((s) => s.params.lengths[3])).toEqual([20, 24, 28]);
  });

  it('sweeps the trading rule and costs', () => {
    const sets = expandGrid({ mode: 'long-only,short-only', 'fee-bps': [0, 2.5] });
    expect(sets.map((s) => `${s.trade.mode}/${s.trade.feeBps}`)).toEqual(['long-only/0', 'long-only/2.5', 'short-only/0', 'short-only/2.5']);
  });

  it('gives each set a stable id from its canonical parameters, and drops duplicates', () => {
    const a = expandGrid({ lambda: '0.02' })[0]!;
    const b = makeSet(resolveParams({ lambda: 0.02 }));
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{12}$/);
    expect(paramSetId(resolveParams({ lambda: 0.03 }), a.trade)).not.toBe(a.id);
    expect(paramSetId(a.params, { ...a.trade, feeBps: 1 })).not.toBe(a.id);
    expect(paramSetId(resolveParams({ profile: 'seed' }), a.trade)).not.toBe(a.id);
    // 28 per type and 28 for all are the same set
    expect(expandGrid({ lengths: '28;28,28,28,28,28,28', 'ema-len': 28 })).toHaveLength(1);
  });

  it.each([
    [{ lambda: 'x' }, /--lambda: not a number/],
    [{ lambda: '0.05:0.01:0.01' }, /range end is below its start/],
    [{ cutout: '0:10:0' }, /step must be > 0/],
    [{ lengths: '1,2' }, /one or six values/],
    [{ mode: 'both' }, /"both" is not one of/],
    [{ nope: 1 } as never, /unknown grid parameter "nope"/],
    [{ lambda: '0:1:0.000001' }, /at most 1000000 are allowed|has 1000001 values/],
  ])('refuses %j', (spec, msg) => {
    expect(() => expandGrid(spec)).toThrow(msg);
  });

  it('validates every set (a length too short for the robustness names the parameter)', () => {
    expect(() => expandGrid({ 'wma-len': '5,28' })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM', message: expect.stringMatching(/lengths\[WMA\]/) }));
    expect(() => expandGrid({ 'fee-bps': -1 })).toThrowError(expect.objectContaining({ code: 'ATC_ERR_INVALID_PARAM' }));
  });
});

describe('pipeline files', () => {
  it('hold flag names; a grid object groups the swept ones; flags win', () => {
    const f = join(tempDir(), 'p.json');
    writeFileSync(f, JSON.stringify({ description: 'x', profile: 'seed', grid: { lambda: [0.01, 0.02], decay: '0.01:0.02:0.01' }, 'fee-bps': 2, outputs: ['stats', 'trades'] }));
    const job = resolveJob({ pipeline: f, params: { decay: '0.05' } }, 'flags');
    expect(job.outputs.join(',')).toBe('stats,trades');
    expect(job.out).toBe('atc-out'); // default
    const sets = job.sets;
    expect(sets.map((s) => [s.params.profile, s.params.lambda, s.params.decay, s.trade.feeBps])).toEqual([
      ['seed', 0.01, 0.05, 2],
      ['seed', 0.02, 0.05, 2],
    ]);
  });

  it('refuses unknown keys and bad JSON', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.json'), JSON.stringify({ lamda: 0.01 }));
    expect(() => resolveJob({ pipeline: join(d, 'a.json') }, 'flags')).toThrow(/unknown key "lamda"/);
    writeFileSync(join(d, 'b.json'), '{');
    expect(() => resolveJob({ pipeline: join(d, 'b.json') }, 'flags')).toThrow(/--pipeline/);
  });
});
