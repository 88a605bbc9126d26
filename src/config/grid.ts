// Parameter sets and grids. A run computes one or many parameter sets; each set has a stable
// id (the hash of its canonical parameters), so the same set gets the same id in every run,
// sweep and cache. A grid gives each dimension a list of values; the sets are their Cartesian
// product, in GRID_KEYS order (the last key varies fastest), duplicates removed.
//
// Values (CLI flags and pipeline files alike):
//   lists   `0.01,0.02,0.03`         ranges  `0.01:0.05:0.01` (inclusive, step > 0)
//   lengths / weights: alternatives separated by `;`, each one number (all six types) or six
//            comma-separated (EMA,HMA,WMA,DEMA,LSMA,KAMA); a range gives uniform alternatives:
//            `--lengths "20;28;36"`, `--lengths 20:40:4`, `--lengths "28;20,28,28,28,28,28"`
//   per type: `--ema-len 20,28`, `--kama-weight 0.5:2:0.5`

import { createHash } from 'node:crypto';
import { type BacktestParams, DEFAULT_BACKTEST, type Mode, MODES } from '../backtest/accounting.js';
import { AtcError, ParamError, UsageError } from '../errors.js';
import { type AtcParams, DEFAULT_PARAMS, MA_TYPES, type ParamsInput, resolveParams, type Robustness, ROBUSTNESS } from './params.js';
import { type Profile, PROFILES } from './profiles.js';
import { snake } from '../strategies/tables.js';
import type { Strategy } from '../strategies/types.js';

export interface ParamSet {
  /** 12 hex digits of sha256(canonical JSON of the parameters) */
  id: string;
  /** the ATC's parameters (for another strategy its defaults, unused) */
  params: AtcParams;
  trade: BacktestParams;
  /** absent: the ATC; else the strategy and its parameter values */
  strategy?: { name: string; values: Readonly<Record<string, number>> };
}

const TYPE_KEYS = MA_TYPES.map((t) => t.toLowerCase());
export const LEN_KEYS = TYPE_KEYS.map((t) => `${t}-len`);
export const WEIGHT_KEYS = TYPE_KEYS.map((t) => `${t}-weight`);

/** Grid dimensions, in expansion order. */
export const GRID_KEYS = [
  'robustness',
  'lambda',
  'decay',
  'cutout',
  'lengths',
  ...LEN_KEYS,
  'weights',
  ...WEIGHT_KEYS,
  'long-threshold',
  'short-threshold',
  'mode',
  'fee-bps',
  'slippage-bps',
] as const;
export type GridKey = (typeof GRID_KEYS)[number];

/** One dimension's values as given: a string (CLI) or a JSON value (pipeline file). */
export type GridValue = string | number | readonly (string | number | readonly number[])[];
export type GridSpec = Partial<Record<GridKey, GridValue>>;

/** More sets than this is almost surely a typo in a range. */
export const MAX_SETS = 1_000_000;

function bad(key: string, msg: string): never {
  throw new UsageError(`--${key}: ${msg}`);
}

function number(key: string, raw: string | number): number {
  const v = typeof raw === 'number' ? raw : Number(raw.trim());
  if ((typeof raw === 'string' && raw.trim() === '') || !Number.isFinite(v)) bad(key, `not a number: "${raw}"`);
  return v;
}

/** Digits after the decimal point of a number's shortest form (1e-7 has 7). */
function decimalsOf(x: number): number {
  const [mant = '', exp] = x.toString().split('e');
  const frac = (mant.split('.')[1] ?? '').length;
  return exp !== undefined && Number(exp) < 0 ? frac - Number(exp) : frac;
}

/** `a:b:step` inclusive, with values rounded to the step's decimals (0.1 + 0.2 is 0.3 here). */
function range(key: string, text: string): number[] {
  const [a, b, st] = text.split(':').map((t) => number(key, t)) as [number, number, number];
  if (!(st > 0)) bad(key, `range step must be > 0 in "${text}"`);
  if (b < a) bad(key, `range end is below its start in "${text}"`);
  const decimals = Math.min(15, Math.max(decimalsOf(a), decimalsOf(st)));
  const n = Math.floor((b - a) / st + 1e-9) + 1;
  if (n > MAX_SETS) bad(key, `range "${text}" has ${n} values`);
  return Array.from({ length: n }, (_, i) => Number((a + i * st).toFixed(decimals)));
}

/** Numbers of a list/range value. */
function numbers(key: string, v: GridValue): number[] {
  const items: (string | number)[] = typeof v === 'number' ? [v] : typeof v === 'string' ? v.split(',') : (v as (string | number)[]);
  const out: number[] = [];
  for (const it of items) {
    if (typeof it === 'string' && it.includes(':')) out.push(...range(key, it.trim()));
    else if (Array.isArray(it)) bad(key, 'takes numbers, not lists');
    else out.push(number(key, it));
  }
  if (out.length === 0) bad(key, 'no values');
  return out;
}

function choices<T extends string>(key: string, v: GridValue, allowed: readonly T[]): T[] {
  const items = (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [v]).map((x) => String(x).trim());
  for (const x of items) if (!allowed.includes(x as T)) bad(key, `"${x}" is not one of ${allowed.join('|')}`);
  return items as T[];
}

/** Alternatives of a six-valued parameter (lengths, weights): each is 1 or 6 numbers. */
function sixes(key: string, v: GridValue): number[][] {
  const alts: (string | number | readonly number[])[] = typeof v === 'number' ? [v] : typeof v === 'string' ? v.split(';') : [...(v as (string | number | readonly number[])[])];
  const out: number[][] = [];
  for (const alt of alts) {
    if (Array.isArray(alt)) out.push(alt.map((x) => number(key, x)));
    else if (typeof alt === 'number') out.push([alt]);
    else if ((alt as string).includes(':')) out.push(...range(key, (alt as string).trim()).map((x) => [x]));
    else out.push((alt as string).split(',').map((x) => number(key, x)));
  }
  for (const a of out) if (a.length !== 1 && a.length !== 6) bad(key, `each alternative takes one or six values (EMA,HMA,WMA,DEMA,LSMA,KAMA), got ${a.length}`);
  return out;
}

function six(a: readonly number[]): number[] {
  return a.length === 1 ? [a[0]!, a[0]!, a[0]!, a[0]!, a[0]!, a[0]!] : [...a];
}

/** Validate the trading rule of a set. */
export function resolveTrade(input: Partial<BacktestParams> = {}): BacktestParams {
  const t = { ...DEFAULT_BACKTEST, ...input };
  if (!MODES.includes(t.mode)) throw new ParamError('mode', `mode must be one of ${MODES.join('|')}, got ${String(t.mode)}`);
  for (const k of ['feeBps', 'slippageBps'] as const) {
    if (!(Number.isFinite(t[k]) && t[k] >= 0 && t[k] <= 10000)) throw new ParamError(k, `${k} must be in [0, 10000] basis points, got ${t[k]}`);
  }
  return t;
}

/** The canonical form of a set: fixed key order, profile included. */
export function canonicalSet(params: AtcParams, trade: BacktestParams): string {
  return JSON.stringify({
    profile: params.profile,
    robustness: params.robustness,
    lambda: params.lambda,
    decay: params.decay,
    cutout: params.cutout,
    lengths: params.lengths,
    weights: params.weights,
    longThreshold: params.longThreshold,
    shortThreshold: params.shortThreshold,
    mode: trade.mode,
    feeBps: trade.feeBps,
    slippageBps: trade.slippageBps,
  });
}

export function paramSetId(params: AtcParams, trade: BacktestParams): string {
  return createHash('sha256').update(canonicalSet(params, trade)).digest('hex').slice(0, 12);
}

export function makeSet(params: AtcParams, trade: BacktestParams = DEFAULT_BACKTEST): ParamSet {
  return { id: paramSetId(params, trade), params, trade };
}

/**
 * The parameter sets of a grid. Dimensions not in `spec` keep their defaults. Throws
 * UsageError for malformed values and ParamError (naming the parameter) for invalid sets.
 */
export function expandGrid(spec: GridSpec, profile: Profile = DEFAULT_PARAMS.profile): ParamSet[] {
  if (!PROFILES.includes(profile)) throw new ParamError('profile', `profile must be one of ${PROFILES.join('|')}, got ${String(profile)}`);
  for (const k of Object.keys(spec)) if (!(GRID_KEYS as readonly string[]).includes(k)) throw new UsageError(`unknown grid parameter "${k}" (use ${GRID_KEYS.join(', ')})`);
  const dims: { key: GridKey; values: unknown[] }[] = [];
  for (const key of GRID_KEYS) {
    const v = spec[key];
    if (v === undefined) continue;
    let values: unknown[];
    if (key === 'robustness') values = choices<Robustness>(key, v, ROBUSTNESS);
    else if (key === 'mode') values = choices<Mode>(key, v, MODES);
    else if (key === 'lengths' || key === 'weights') values = sixes(key, v).map(six);
    else values = numbers(key, v);
    dims.push({ key, values: [...new Map(values.map((x) => [JSON.stringify(x), x])).values()] });
  }
  const total = dims.reduce((n, d) => n * d.values.length, 1);
  if (total > MAX_SETS) throw new AtcError('ATC_ERR_USAGE', `the grid has ${total} parameter sets; at most ${MAX_SETS} are allowed`);
  const sets = new Map<string, ParamSet>();
  const pick = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < total; i++) {
    let r = i;
    for (let d = dims.length - 1; d >= 0; d--) {
      const n = dims[d]!.values.length;
      pick[d] = r % n;
      r = Math.floor(r / n);
    }
    const input: Record<string, unknown> = { profile };
    const trade: Partial<BacktestParams> = {};
    let lengths = [...DEFAULT_PARAMS.lengths];
    let weights = [...DEFAULT_PARAMS.weights];
    dims.forEach((d, k) => {
      const v = d.values[pick[k]!];
      const li = (LEN_KEYS as readonly string[]).indexOf(d.key);
      const wi = (WEIGHT_KEYS as readonly string[]).indexOf(d.key);
      if (d.key === 'lengths') lengths = [...(v as number[])];
      else if (d.key === 'weights') weights = [...(v as number[])];
      else if (li >= 0) lengths[li] = v as number;
      else if (wi >= 0) weights[wi] = v as number;
      else if (d.key === 'mode') trade.mode = v as Mode;
      else if (d.key === 'fee-bps') trade.feeBps = v as number;
      else if (d.key === 'slippage-bps') trade.slippageBps = v as number;
      else if (d.key === 'long-threshold') input.longThreshold = v;
      else if (d.key === 'short-threshold') input.shortThreshold = v;
      else input[d.key] = v;
    });
    input.lengths = lengths;
    input.weights = weights;
    const set = makeSet(resolveParams(input as ParamsInput), resolveTrade(trade));
    if (!sets.has(set.id)) sets.set(set.id, set);
  }
  return [...sets.values()];
}

/**
 * The parameter sets of a strategy other than the ATC: its parameters (camelCase keys, values
 * as for any parameter) and the trading rule (mode, feeBps, slippageBps), their Cartesian
 * product in that order (the last varies fastest), duplicates removed. `flag` names a key in
 * errors. The id hashes the strategy's name, its source (a user module's file) and the values.
 */
export function expandStrategyGrid(strategy: Strategy, spec: Readonly<Record<string, GridValue>>, flag: (key: string) => string = (k) => k): ParamSet[] {
  const trading = ['mode', 'feeBps', 'slippageBps'];
  const names = [...strategy.params.map((p) => p.name), ...trading];
  for (const k of Object.keys(spec)) if (!names.includes(k)) throw new UsageError(`${flag(k)} is not a parameter of strategy ${strategy.name} (parameters: ${names.join(', ')})`);
  const dims = names.map((name) => {
    const v = spec[name];
    const p = strategy.params.find((x) => x.name === name);
    let values: unknown[];
    if (v === undefined) values = [p ? p.default : (DEFAULT_BACKTEST as unknown as Record<string, unknown>)[name]];
    else if (name === 'mode') values = choices<Mode>(flag(name), v, MODES);
    else values = numbers(flag(name), v);
    return { name, values: [...new Set(values)] };
  });
  const total = dims.reduce((n, d) => n * d.values.length, 1);
  if (total > MAX_SETS) throw new AtcError('ATC_ERR_USAGE', `the grid has ${total} parameter sets; at most ${MAX_SETS} are allowed`);
  const sets = new Map<string, ParamSet>();
  for (let i = 0; i < total; i++) {
    let r = i;
    const pick: Record<string, unknown> = {};
    for (let d = dims.length - 1; d >= 0; d--) {
      const dim = dims[d] as { name: string; values: unknown[] };
      pick[dim.name] = dim.values[r % dim.values.length];
      r = Math.floor(r / dim.values.length);
    }
    const values: Record<string, number> = {};
    for (const p of strategy.params) {
      const x = pick[p.name] as number;
      if (!(Number.isFinite(x) && x >= p.min && x <= p.max && (!p.integer || Number.isInteger(x)))) {
        throw new ParamError(p.name, `${strategy.name}: ${p.name} must be ${p.integer ? 'an integer' : 'a number'} in [${p.min}, ${p.max}], got ${x}`);
      }
      values[p.name] = x;
    }
    const trade = resolveTrade({ mode: pick.mode as Mode, feeBps: pick.feeBps as number, slippageBps: pick.slippageBps as number });
    const canon = JSON.stringify({ strategy: strategy.name, ...(strategy.sourceHash ? { source: strategy.sourceHash } : {}), values, mode: trade.mode, feeBps: trade.feeBps, slippageBps: trade.slippageBps });
    const id = createHash('sha256').update(canon).digest('hex').slice(0, 12);
    if (!sets.has(id)) sets.set(id, { id, params: { ...DEFAULT_PARAMS }, trade, strategy: { name: strategy.name, values } });
  }
  return [...sets.values()];
}

/** The row of a set in params.parquet (results/schema.ts PARAMS, or strategies/tables.ts). */
export function paramRow(s: ParamSet): Record<string, unknown> {
  if (s.strategy) {
    const row: Record<string, unknown> = { param_id: s.id, strategy: s.strategy.name, mode: s.trade.mode, fee_bps: s.trade.feeBps, slippage_bps: s.trade.slippageBps };
    for (const [k, v] of Object.entries(s.strategy.values)) row[snake(k)] = v;
    return row;
  }
  const p = s.params;
  const row: Record<string, unknown> = {
    param_id: s.id,
    profile: p.profile,
    robustness: p.robustness,
    la: p.lambda,
    decay: p.decay,
    cutout: p.cutout,
    long_threshold: p.longThreshold,
    short_threshold: p.shortThreshold,
    mode: s.trade.mode,
    fee_bps: s.trade.feeBps,
    slippage_bps: s.trade.slippageBps,
  };
  TYPE_KEYS.forEach((t, i) => {
    row[`${t}_len`] = p.lengths[i];
    row[`${t}_weight`] = p.weights[i];
  });
  return row;
}
