// Declarative option tables. The parameter flags are typed against AtcParams (`param`), so a
// flag cannot drift from the config it sets; one function turns parsed flags into params.

import type { Options } from 'yargs';
import { type AtcParams, DEFAULT_PARAMS, type ParamsInput, resolveParams, ROBUSTNESS } from '../config/params.js';
import { PROFILES } from '../config/profiles.js';
import { ENGINE_REQUESTS } from '../engine/select.js';
import { UsageError } from '../errors.js';

type ParamKey = keyof AtcParams;

interface ParamFlag {
  param: ParamKey;
  kind: 'choice' | 'number' | 'integer' | 'six';
  option: Options;
}

export const PARAM_FLAGS: Record<string, ParamFlag> = {
  profile: { param: 'profile', kind: 'choice', option: { type: 'string', choices: PROFILES, describe: 'semantics: pine (TradingView script) or seed (Python port)' } },
  robustness: { param: 'robustness', kind: 'choice', option: { type: 'string', choices: ROBUSTNESS, describe: 'spread of the nine lengths around each base length' } },
  lambda: { param: 'lambda', kind: 'number', option: { type: 'string', describe: `growth La (used as /1000) [${DEFAULT_PARAMS.lambda}]` } },
  decay: { param: 'decay', kind: 'number', option: { type: 'string', describe: `decay De in % (used as /100) [${DEFAULT_PARAMS.decay}]` } },
  cutout: { param: 'cutout', kind: 'integer', option: { type: 'string', describe: 'bars before the equity curves start [0]' } },
  lengths: { param: 'lengths', kind: 'six', option: { type: 'string', describe: 'base length, one or six comma-separated (EMA,HMA,WMA,DEMA,LSMA,KAMA) [28]' } },
  weights: { param: 'weights', kind: 'six', option: { type: 'string', describe: 'Layer-2 start equity, one or six comma-separated [1]' } },
  'long-threshold': { param: 'longThreshold', kind: 'number', option: { type: 'string', describe: 'Average_Signal crossover for direction +1 [0.1]' } },
  'short-threshold': { param: 'shortThreshold', kind: 'number', option: { type: 'string', describe: 'Average_Signal crossunder for direction -1 [-0.1]' } },
};

export const ENGINE_OPTION: Options = {
  type: 'string',
  choices: ENGINE_REQUESTS,
  default: 'auto',
  describe: 'kernel engine; auto picks the native one and says why if it cannot',
};

function num(flag: string, raw: string): number {
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
  return v;
}

/** Parameters from parsed flags (absent flags keep their defaults). Throws ParamError/UsageError. */
export function paramsFromFlags(argv: Record<string, unknown>): AtcParams {
  const input: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(PARAM_FLAGS)) {
    const raw = argv[flag];
    if (raw === undefined) continue;
    const text = String(raw);
    switch (spec.kind) {
      case 'choice':
        input[spec.param] = text;
        break;
      case 'number':
      case 'integer':
        input[spec.param] = num(flag, text);
        break;
      case 'six':
        input[spec.param] = text.split(',').map((t) => num(flag, t));
        break;
    }
  }
  return resolveParams(input as ParamsInput);
}

export function paramOptions(): Record<string, Options> {
  return Object.fromEntries(Object.entries(PARAM_FLAGS).map(([k, v]) => [k, { ...v.option, group: 'ATC parameters:' }]));
}
