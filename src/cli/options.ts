// Declarative option tables for the jobs (`atc run`, `atc warm`) and the one place flags,
// pipeline files and defaults meet: a pipeline file (pipelines/*.json) holds the same keys as
// the flags; a flag given on the command line wins over the file, the file over the default.
// Any parameter flag takes a list or a range, which makes the run a parameter sweep.

import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { MODES } from '../backtest/accounting.js';
import { expandGrid, GRID_KEYS, type GridSpec, type GridValue, LEN_KEYS, type ParamSet, WEIGHT_KEYS } from '../config/grid.js';
import { DEFAULT_PARAMS, MA_TYPES, ROBUSTNESS } from '../config/params.js';
import { type Profile, PROFILES } from '../config/profiles.js';
import { ENGINE_REQUESTS } from '../engine/select.js';
import { UsageError } from '../errors.js';
import { defaultWorkers } from '../pool/pool.js';
import { BAD_ROW_POLICIES } from '../stages/load/index.js';
import { DEFAULT_OUTPUTS, OUTPUTS } from '../pipeline/run.js';

const LIST = 'a list a,b,c or a range a:b:step sweeps it';

/** The parameter flags: every key of GRID_KEYS, plus the profile (one per run). */
export const PARAM_FLAGS: Record<string, Options> = {
  profile: { type: 'string', choices: PROFILES, describe: 'semantics: pine (TradingView script) or seed (Python port) [pine]' },
  robustness: { type: 'string', describe: `spread of the nine lengths around each base length: ${ROBUSTNESS.join('|')} [Medium]` },
  lambda: { type: 'string', describe: `growth La (used as /1000) [${DEFAULT_PARAMS.lambda}]` },
  decay: { type: 'string', describe: `decay De in % (used as /100) [${DEFAULT_PARAMS.decay}]` },
  cutout: { type: 'string', describe: 'bars before the equity curves start [0]' },
  lengths: { type: 'string', describe: 'base length, one or six comma-separated (EMA,HMA,WMA,DEMA,LSMA,KAMA); alternatives separated by ";" [28]' },
  ...Object.fromEntries(LEN_KEYS.map((k, i) => [k, { type: 'string', describe: `base length of ${MA_TYPES[i]} only` } satisfies Options])),
  weights: { type: 'string', describe: 'Layer-2 start equity, one or six comma-separated; alternatives separated by ";" [1]' },
  ...Object.fromEntries(WEIGHT_KEYS.map((k, i) => [k, { type: 'string', describe: `Layer-2 weight of ${MA_TYPES[i]} only` } satisfies Options])),
  'long-threshold': { type: 'string', describe: 'Average_Signal crossover for direction +1 [0.1]' },
  'short-threshold': { type: 'string', describe: 'Average_Signal crossunder for direction -1 [-0.1]' },
  mode: { type: 'string', describe: `positions from direction: ${MODES.join('|')} [long-short]` },
  'fee-bps': { type: 'string', describe: 'fee per unit of position change, basis points [0]' },
  'slippage-bps': { type: 'string', describe: 'slippage per unit of position change, basis points [0]' },
};

/** The job flags besides the parameters (defaults applied after the pipeline file). */
export const JOB_FLAGS: Record<string, Options & { default?: never }> = {
  pipeline: { type: 'string', describe: 'a pipeline file (pipelines/*.json): the same keys as these flags; flags win' },
  data: { type: 'string', describe: 'Parquet file, directory or glob with symbol, ts, close (sorted by symbol, ts) [the embedded sample]' },
  out: { type: 'string', describe: 'output directory [atc-out]' },
  outputs: { type: 'string', describe: `what to write, comma-separated: ${OUTPUTS.join(',')} [${DEFAULT_OUTPUTS.join(',')}]` },
  capital: { type: 'string', describe: 'starting capital: scales equity columns; returns and statistics are fractions [1]' },
  equity: { type: 'boolean', describe: 'add position, strategy_return, equity columns to signals' },
  engine: { type: 'string', choices: ENGINE_REQUESTS, describe: 'kernel engine; auto picks the native one and says why if it cannot [auto]' },
  workers: { type: 'string', describe: `kernel worker threads [${defaultWorkers()}: the cores]` },
  'chunk-bars': { type: 'string', describe: 'bars per chunk: one kernel task [524288]' },
  'bad-rows': { type: 'string', choices: BAD_ROW_POLICIES, describe: 'bad bars: stop, drop the row, or skip the symbol (recorded in rejects.parquet) [error]' },
  'min-signal': { type: 'string', describe: 'trend is NEUTRAL when |last Average_Signal| is below this (the scanner rule) [0.01]' },
  checkpoint: { type: 'string', describe: 'with a portfolio output, commit every this many seconds: a kill loses at most that much work [20]' },
  cache: { type: 'string', describe: 'result cache directory; --no-cache bypasses it [$ATC_CACHE_DIR or ~/.cache/atc-backtest]' },
};

const JOB_DEFAULTS: Record<string, unknown> = {
  out: 'atc-out',
  outputs: DEFAULT_OUTPUTS.join(','),
  capital: 1,
  equity: false,
  engine: 'auto',
  'chunk-bars': 524_288,
  'bad-rows': 'error',
  'min-signal': 0.01,
  checkpoint: 20,
};

export function paramOptions(): Record<string, Options> {
  return Object.fromEntries(Object.entries(PARAM_FLAGS).map(([k, v]) => [k, { ...v, group: `ATC parameters (${LIST}):` }]));
}

export function jobOptions(): Record<string, Options> {
  return Object.fromEntries(Object.entries(JOB_FLAGS).map(([k, v]) => [k, { ...v, group: 'Job:' }]));
}

/** Flag values: the command line, then the pipeline file, then the defaults. */
export type FlagValues = (flag: string) => unknown;

export function flagValues(argv: Record<string, unknown>): FlagValues {
  const file = argv.pipeline === undefined ? {} : readPipeline(String(argv.pipeline));
  return (flag) => argv[flag] ?? file[flag] ?? JOB_DEFAULTS[flag];
}

/** A pipeline file: one JSON object of flag names (grid values may be lists or range strings;
 *  a "grid" object may group the swept ones; "description" is free text). */
export function readPipeline(path: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--pipeline ${path}: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new UsageError(`--pipeline ${path}: must be a JSON object`);
  const { grid, description: _d, ...top } = j as Record<string, unknown>;
  const flat: Record<string, unknown> = { ...top, ...(typeof grid === 'object' && grid !== null ? grid : {}) };
  const known = new Set([...Object.keys(PARAM_FLAGS), ...Object.keys(JOB_FLAGS)]);
  for (const k of Object.keys(flat)) {
    if (!known.has(k) || k === 'pipeline') throw new UsageError(`--pipeline ${path}: unknown key "${k}" (keys are the flag names of \`atc run --help\`)`);
  }
  if (Array.isArray(flat.outputs)) flat.outputs = flat.outputs.join(',');
  return flat;
}

/** The parameter sets the flags ask for (one unless some flag holds a list or a range). */
export function setsFromFlags(get: FlagValues): ParamSet[] {
  const profile = (get('profile') ?? DEFAULT_PARAMS.profile) as Profile;
  const spec: GridSpec = {};
  for (const k of GRID_KEYS) {
    const v = get(k);
    if (v !== undefined) spec[k] = v as GridValue;
  }
  return expandGrid(spec, profile);
}

export function intFlag(get: FlagValues, name: string, min: number, dflt?: number): number {
  const v = get(name) ?? dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(v)}`);
  return n;
}

export function numFlag(get: FlagValues, name: string, lo: number, hi: number): number {
  const v = get(name);
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= lo && n <= hi)) throw new UsageError(`--${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  return n;
}
