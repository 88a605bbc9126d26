// The options of a backtest job, declared once: the library's BacktestOptions, the CLI's job
// flags (`atc run`, `atc warm`) and pipeline files (pipelines/*.json) are the same keys. An
// option given directly wins over the pipeline file, the file over the default. Any parameter
// takes a list or a range, which makes the run a parameter sweep.

import { readFileSync } from 'node:fs';
import { MODES } from '../backtest/accounting.js';
import { defaultCacheDir } from '../cache/store.js';
import { type EngineRequest, ENGINE_REQUESTS } from '../engine/select.js';
import { AtcError, UsageError } from '../errors.js';
import { defaultWorkers } from '../pool/pool.js';
import { DEFAULT_OUTPUTS, OUTPUTS, type OutputKind } from '../results/outputs.js';
import { BAD_ROW_POLICIES, type BadRowPolicy } from '../stages/load/index.js';
import { expandGrid, expandStrategyGrid, GRID_KEYS, type GridKey, type GridSpec, type GridValue, type ParamSet } from './grid.js';
import { DEFAULT_PARAMS, MA_TYPES, ROBUSTNESS } from './params.js';
import { type Profile, PROFILES } from './profiles.js';
import { type StrategySpec, specOf, STRATEGIES, strategyOf } from '../strategies/registry.js';
import { isModulePath } from '../strategies/user/index.js';
import { DEFAULT_SIGNAL_COL } from '../strategies/signal/index.js';
import { SUPERTREND } from '../strategies/supertrend/index.js';
import type { Strategy } from '../strategies/types.js';
import { camel, kebab } from '../util/case.js';

type Kind = 'string' | 'boolean' | 'int' | 'number' | 'choice' | 'outputs' | 'cache' | 'strategy';
interface OptionSpec {
  kind: Kind;
  describe: string;
  /** the default (a function: computed when needed) */
  default?: unknown;
  /** int: minimum; number: [min, max] */
  min?: number;
  max?: number;
  choices?: readonly string[];
}

/** The job options besides the parameters, keyed by option name (flags are their kebab-case). */
export const JOB_OPTIONS = {
  strategy: { kind: 'strategy', default: 'atc', describe: `what computes the trading direction: ${STRATEGIES.join('|')}, or a strategy module file (./my-strategy.js) [atc]` },
  signalCol: { kind: 'string', default: DEFAULT_SIGNAL_COL, describe: `--strategy signal: the column of precomputed directions (+1/-1/0; NULL holds) [${DEFAULT_SIGNAL_COL}]` },
  data: { kind: 'string', describe: 'Parquet file, directory or glob with symbol, ts, close (sorted by symbol, ts) [the embedded sample]' },
  out: { kind: 'string', default: 'atc-out', describe: 'output directory [atc-out]' },
  outputs: { kind: 'outputs', default: DEFAULT_OUTPUTS, describe: `what to write, comma-separated: ${OUTPUTS.join(',')} [${DEFAULT_OUTPUTS.join(',')}]` },
  capital: { kind: 'number', default: 1, min: Number.MIN_VALUE, max: 1e15, describe: 'starting capital: scales equity columns; returns and statistics are fractions [1]' },
  equity: { kind: 'boolean', default: false, describe: 'add position, strategy_return, equity columns to signals' },
  engine: { kind: 'choice', default: 'auto', choices: ENGINE_REQUESTS, describe: 'kernel engine; auto picks the native one and says why if it cannot [auto]' },
  workers: { kind: 'int', default: defaultWorkers, min: 1, describe: `kernel worker threads [the cores: ${defaultWorkers()}]` },
  chunkBars: { kind: 'int', default: 524_288, min: 1, describe: 'bars per chunk: one kernel task [524288]' },
  badRows: { kind: 'choice', default: 'error', choices: BAD_ROW_POLICIES, describe: 'bad bars: stop, drop the row, or skip the symbol (recorded in rejects.parquet) [error]' },
  minSignal: { kind: 'number', default: 0.01, min: 0, max: 1, describe: 'trend is NEUTRAL when |last Average_Signal| is below this (the scanner rule) [0.01]' },
  checkpoint: { kind: 'number', default: 20, min: 0, max: 86400, describe: 'with a portfolio output, commit every this many seconds: a kill loses at most that much work [20]' },
  cache: { kind: 'cache', describe: 'result cache directory; false (--no-cache) bypasses it [$ATC_CACHE_DIR or ~/.cache/atc-backtest]' },
} as const satisfies Record<string, OptionSpec>;
export type JobOptionKey = keyof typeof JOB_OPTIONS;

/** A parameter's value: one value, a list (a sweep), or a range string `a:b:step`. */
export type ParamValue = GridValue;
/** Parameters by name (camelCase of the CLI's flags: lambda, decay, cutout, lengths, emaLen, ..., longThreshold, mode, feeBps, slippageBps). */
export type ParamValues = Partial<Record<CamelGridKey, ParamValue>>;
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;
export type CamelGridKey = Camel<GridKey>;

const PARAM_KEYS = new Map<string, GridKey>(GRID_KEYS.map((k) => [camel(k), k]));

/** Descriptions of the parameter flags (the CLI's help). */
export const PARAM_DOCS: Record<GridKey | 'profile', string> = {
  profile: 'semantics: pine (TradingView script) or seed (Python port) [pine]',
  robustness: `spread of the nine lengths around each base length: ${ROBUSTNESS.join('|')} [Medium]`,
  lambda: `growth La (used as /1000) [${DEFAULT_PARAMS.lambda}]`,
  decay: `decay De in % (used as /100) [${DEFAULT_PARAMS.decay}]`,
  cutout: 'bars before the equity curves start [0]',
  lengths: 'base length, one or six comma-separated (EMA,HMA,WMA,DEMA,LSMA,KAMA); alternatives separated by ";" [28]',
  weights: 'Layer-2 start equity, one or six comma-separated; alternatives separated by ";" [1]',
  ...(Object.fromEntries(MA_TYPES.flatMap((t) => [[`${t.toLowerCase()}-len`, `base length of ${t} only`], [`${t.toLowerCase()}-weight`, `Layer-2 weight of ${t} only`]])) as Record<string, string>),
  'long-threshold': 'Average_Signal crossover for direction +1 [0.1]',
  'short-threshold': 'Average_Signal crossunder for direction -1 [-0.1]',
  mode: `positions from direction: ${MODES.join('|')} [long-short]`,
  'fee-bps': 'fee per unit of position change, basis points [0]',
  'slippage-bps': 'slippage per unit of position change, basis points [0]',
};

/** Parameter flags of the built-in strategies other than the ATC (kebab-case), with their docs. */
export const STRATEGY_PARAM_DOCS: Record<string, string> = Object.fromEntries(SUPERTREND.params.map((p) => [kebab(p.name), `--strategy supertrend: ${p.doc}`]));

/** The options of `backtest()`: the same concepts and defaults as `atc run`. */
export interface JobOptions {
  /** Parquet file, directory or glob of bars (symbol, ts, close), sorted by symbol, ts; default: the embedded sample */
  data?: string;
  /** a pipeline file (pipelines/*.json): the same keys as the CLI's flags; options given here win */
  pipeline?: string;
  /** pine (default) or seed */
  profile?: Profile;
  /** parameters; a list or a range string `a:b:step` in any of them makes a sweep (their Cartesian product) */
  params?: ParamValues;
  /** the engine: auto (default), rust, ts, cuda */
  engine?: EngineRequest;
  /** kernel worker threads (default: the cores) */
  workers?: number;
  /** bars per chunk, one kernel task (default 524288) */
  chunkBars?: number;
  /** bad rows: stop with a coded error (default), drop the row, or skip the symbol */
  badRows?: BadRowPolicy;
  /** trend is NEUTRAL when |last Average_Signal| is below this (default 0.01) */
  minSignal?: number;
  /** starting capital; scales the equity columns (default 1) */
  capital?: number;
  /** the result cache directory, or false for none (default $ATC_CACHE_DIR or ~/.cache/atc-backtest) */
  cache?: string | false;
  /** what computes the trading direction: 'atc' (default), 'supertrend', 'signal', or a strategy module file (see README, Writing a strategy) */
  strategy?: string | Strategy;
  /** strategy 'signal': the column of precomputed directions (default 'signal') */
  signalCol?: string;
}

/** How option names appear in error messages: `options.chunkBars` or `--chunk-bars`. */
export type Style = 'options' | 'flags';
const label = (key: string, style: Style, within = ''): string => (style === 'flags' ? `--${kebab(key)}` : `options.${within}${key}`);

/** A pipeline file: one JSON object of flag names (grid values may be lists or range strings; a
 *  "grid" object may group the swept ones; "description" is free text), as options. */
export function readPipeline(path: string): { options: Record<string, unknown>; params: Record<string, unknown> } {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--pipeline ${path}: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new UsageError(`--pipeline ${path}: must be a JSON object`);
  const { grid, description: _d, ...top } = j as Record<string, unknown>;
  const flat: Record<string, unknown> = { ...top, ...(typeof grid === 'object' && grid !== null ? grid : {}) };
  const options: Record<string, unknown> = {};
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const key = camel(k);
    if (k === 'profile') options.profile = v;
    else if ((GRID_KEYS as readonly string[]).includes(k) || k in STRATEGY_PARAM_DOCS) params[key] = v;
    else if (key in JOB_OPTIONS && key !== 'pipeline') options[key] = k === 'outputs' && Array.isArray(v) ? v.join(',') : v;
    else throw new UsageError(`--pipeline ${path}: unknown key "${k}" (keys are the flag names of \`atc run --help\`)`);
  }
  return { options, params };
}

/** A job's options resolved: defaults applied, values checked, the grid expanded. */
export interface ResolvedJob {
  data: string | undefined;
  /** the strategy (absent: the ATC) and how a worker rebuilds it */
  strategy?: Strategy | undefined;
  strategySpec?: StrategySpec | undefined;
  sets: ParamSet[];
  engine: EngineRequest;
  workers: number;
  chunkBars: number;
  badRows: BadRowPolicy;
  minSignal: number;
  capital: number;
  /** undefined: no cache */
  cache: string | undefined;
  out: string;
  outputs: readonly OutputKind[];
  equity: boolean;
  checkpointSecs: number;
  overwrite: boolean;
}

function optionValue(key: JobOptionKey, raw: unknown, style: Style): unknown {
  const spec: OptionSpec = JOB_OPTIONS[key];
  const name = label(key, style);
  const v = raw !== undefined ? raw : typeof spec.default === 'function' ? (spec.default as () => unknown)() : spec.default;
  switch (spec.kind) {
    case 'string':
      if (v !== undefined && (typeof v !== 'string' || v === '')) throw new UsageError(`${name} must be a non-empty string, got ${String(v)}`);
      return v;
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false' || v === undefined) return false;
      throw new UsageError(`${name} must be true or false, got ${String(v)}`);
    case 'int': {
      const n = Number(v);
      if (typeof v === 'boolean' || !Number.isInteger(n) || n < (spec.min ?? -Infinity)) throw new UsageError(`${name} must be an integer >= ${spec.min}, got ${String(v)}`);
      return n;
    }
    case 'number': {
      const n = typeof v === 'boolean' || v === '' ? NaN : Number(v);
      if (!(Number.isFinite(n) && n >= (spec.min ?? -Infinity) && n <= (spec.max ?? Infinity))) throw new UsageError(`${name} must be a number in [${spec.min}, ${spec.max}], got ${String(v)}`);
      return n;
    }
    case 'choice':
      if (!spec.choices?.includes(String(v))) throw new UsageError(`${name} must be one of ${spec.choices?.join('|')}, got ${String(v)}`);
      return String(v);
    case 'outputs': {
      const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
      const outputs = list.map((s) => s.trim()).filter(Boolean);
      for (const o of outputs) if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`${name}: unknown output "${o}" (use ${OUTPUTS.join(',')})`);
      if (outputs.length === 0) throw new UsageError(`${name}: name at least one output`);
      return [...new Set(outputs)];
    }
    case 'strategy':
      // a module path is loaded before (registry.ts loadStrategyOption): here a name or a Strategy
      if (typeof v === 'object' && v !== null && 'kernel' in v) return v;
      if (typeof v !== 'string' || isModulePath(v)) throw new UsageError(`${name} must be one of ${STRATEGIES.join('|')} or a module file, got ${String(v)}`);
      if (!(STRATEGIES as readonly string[]).includes(v)) throw new UsageError(`${name} must be one of ${STRATEGIES.join('|')} or a module file (a path: ./${v}.js), got ${v}`);
      return v;
    case 'cache':
      if (v === false || v === 'false') return undefined;
      if (v === undefined || v === true || v === '') return defaultCacheDir();
      if (typeof v !== 'string') throw new UsageError(`${name} must be a directory or false, got ${String(v)}`);
      return v;
  }
}

/**
 * Resolve a job's options (the library's, or the CLI's flags as options) into what the
 * pipeline runs. Malformed values are ATC_ERR_USAGE and invalid parameters ATC_ERR_INVALID_PARAM,
 * naming the option the way `style` does.
 */
export function resolveJob(input: Record<string, unknown>, style: Style): ResolvedJob {
  const known = new Set<string>([...Object.keys(JOB_OPTIONS), 'pipeline', 'profile', 'params', 'overwrite']);
  for (const k of Object.keys(input)) if (input[k] !== undefined && !known.has(k)) throw new UsageError(`${label(k, style)} is not an option (options: ${[...known].join(', ')})`);
  const file = typeof input.pipeline === 'string' ? readPipeline(input.pipeline) : { options: {}, params: {} };
  const get = (k: string): unknown => input[k] ?? file.options[k];
  const params = input.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new UsageError(`${label('params', style)} must be an object of parameter values`);
  const o = Object.fromEntries((Object.keys(JOB_OPTIONS) as JobOptionKey[]).map((k) => [k, optionValue(k, get(k), style)])) as Record<JobOptionKey, unknown>;
  const strategy = typeof o.strategy === 'string' ? strategyOf({ name: o.strategy, signalCol: o.signalCol as string }) : (o.strategy as Strategy);
  const strategySpec = specOf(strategy, o.signalCol as string);
  const given = Object.entries({ ...file.params, ...(params as Record<string, unknown>) }).filter(([, v]) => v !== undefined) as [string, GridValue][];
  const paramLabel = (k: string): string => (style === 'flags' ? `--${kebab(k)}` : `options.params.${k}`);
  let sets: ParamSet[];
  if (strategy) {
    if (get('profile') !== undefined) throw new UsageError(`${label('profile', style)} is an ATC option; strategy ${strategy.name} has none`);
    sets = expandStrategyGrid(strategy, Object.fromEntries(given), paramLabel);
  } else {
    const spec: GridSpec = {};
    for (const [k, v] of given) {
      const key = PARAM_KEYS.get(k);
      if (!key) throw new UsageError(`${paramLabel(k)} is not a parameter of the ATC (parameters: ${[...PARAM_KEYS.keys()].join(', ')})`);
      spec[key] = v;
    }
    const profile = (get('profile') ?? DEFAULT_PARAMS.profile) as Profile;
    if (!PROFILES.includes(profile)) throw new UsageError(`${label('profile', style)} must be one of ${PROFILES.join('|')}, got ${String(profile)}`);
    sets = expandGrid(spec, profile);
  }
  const outputs = o.outputs as OutputKind[];
  if (o.equity && !outputs.includes('signals')) throw new UsageError(`${label('equity', style)} adds columns to signals: add signals to ${label('outputs', style)}`);
  if (sets.length === 0) throw new AtcError('ATC_ERR_USAGE', 'no parameter sets to run');
  return {
    data: o.data as string | undefined,
    strategy,
    strategySpec,
    sets,
    engine: o.engine as EngineRequest,
    workers: o.workers as number,
    chunkBars: o.chunkBars as number,
    badRows: o.badRows as BadRowPolicy,
    minSignal: o.minSignal as number,
    capital: o.capital as number,
    cache: o.cache as string | undefined,
    out: o.out as string,
    outputs,
    equity: o.equity as boolean,
    checkpointSecs: o.checkpoint as number,
    overwrite: input.overwrite === true || input.overwrite === 'true',
  };
}
