// The job flags of `atc run` and `atc warm`, derived from the job options (config/options.ts):
// a flag is its option's name in kebab-case. Values stay strings here; the library checks them
// (naming the flag) exactly as it checks the options of backtest().

import type { Flag } from './args.js';
import { JOB_OPTIONS, PARAM_DOCS, STRATEGY_PARAM_DOCS } from '../config/options.js';
import { camel, kebab } from '../util/case.js';
import { PROFILES } from '../config/profiles.js';
import { UsageError } from '../errors.js';
import type { ProgressMode } from '../pipeline/progress.js';

const LIST = 'a list a,b,c or a range a:b:step sweeps it';

export function paramOptions(): Record<string, Flag> {
  return {
    ...Object.fromEntries(
      Object.entries(PARAM_DOCS).map(([k, describe]) => [k, { type: 'string', describe, group: `ATC parameters (${LIST})`, ...(k === 'profile' ? { choices: PROFILES } : {}) } satisfies Flag]),
    ),
    ...Object.fromEntries(Object.entries(STRATEGY_PARAM_DOCS).map(([k, describe]) => [k, { type: 'string', describe, group: `Supertrend parameters (${LIST})` } satisfies Flag])),
    param: { type: 'string', array: true, describe: `a parameter of a strategy module: name=values (${LIST})`, group: 'Strategy module parameters' },
  };
}

export function jobOptions(): Record<string, Flag> {
  const flags: Record<string, Flag> = {
    pipeline: { type: 'string', group: 'Job', describe: 'a pipeline file (pipelines/*.json): the same keys as these flags; flags win' },
  };
  for (const [key, spec] of Object.entries(JOB_OPTIONS)) {
    const o: Flag = { group: 'Job', describe: spec.describe, type: spec.kind === 'boolean' ? 'boolean' : 'string' };
    if ('choices' in spec) o.choices = spec.choices;
    flags[kebab(key)] = o;
  }
  return flags;
}

/** The command line as backtest() options: job flags by option name, parameter flags under `params`. */
export function optionsFromArgv(argv: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = { params: {} };
  const params = o.params as Record<string, unknown>;
  for (const flag of Object.keys(jobOptions())) if (argv[flag] !== undefined) o[camel(flag)] = argv[flag];
  for (const flag of [...Object.keys(PARAM_DOCS), ...Object.keys(STRATEGY_PARAM_DOCS)]) {
    if (argv[flag] === undefined) continue;
    if (flag === 'profile') o.profile = argv[flag];
    else params[camel(flag)] = argv[flag];
  }
  for (const kv of (argv.param as string[] | undefined) ?? []) {
    const eq = String(kv).indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes name=values, got "${kv}"`);
    params[String(kv).slice(0, eq).trim()] = String(kv).slice(eq + 1);
  }
  if (argv.overwrite) o.overwrite = true;
  return o;
}

export function progressMode(argv: Record<string, unknown>): ProgressMode {
  return argv.quiet ? 'quiet' : argv.json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
}
