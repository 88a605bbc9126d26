// The strategies a run can name: the ATC (the default; its job is engine/job.ts), Supertrend
// and precomputed signals. A run's strategy travels to the kernel workers as a StrategySpec
// (plain data) and is rebuilt there.

import { UsageError } from '../errors.js';
import { DEFAULT_SIGNAL_COL, signalStrategy } from './signal/index.js';
import { SUPERTREND } from './supertrend/index.js';
import type { Strategy } from './types.js';
import { isModulePath, loadUserStrategy } from './user/index.js';

export const STRATEGIES = ['atc', 'supertrend', 'signal'] as const;

export interface StrategySpec {
  name: string;
  /** the `signal` strategy's column */
  signalCol?: string | undefined;
  /** a user strategy's module file */
  module?: string | undefined;
}

/** How a worker rebuilds `strategy` (absent: the ATC). */
export function specOf(strategy: Strategy | undefined, signalCol?: string): StrategySpec {
  if (!strategy) return { name: 'atc' };
  if (strategy.module) return { name: strategy.name, module: strategy.module };
  return { name: strategy.name, ...(strategy.name === 'signal' ? { signalCol } : {}) };
}

/** The strategy of a spec, user modules included (imported); undefined is the ATC. */
export async function resolveStrategy(spec: StrategySpec): Promise<Strategy | undefined> {
  return spec.module ? loadUserStrategy(spec.module) : strategyOf(spec);
}

/** A job's `strategy` option with a module path replaced by the loaded module (other values as they are). */
export async function loadStrategyOption<T extends Record<string, unknown>>(input: T): Promise<T> {
  const s = input.strategy;
  return typeof s === 'string' && isModulePath(s) ? { ...input, strategy: await loadUserStrategy(s) } : input;
}

/** The built-in strategy of a spec; undefined is the ATC. */
export function strategyOf(spec: StrategySpec): Strategy | undefined {
  switch (spec.name) {
    case 'atc':
      return undefined;
    case 'supertrend':
      return SUPERTREND;
    case 'signal':
      return signalStrategy(spec.signalCol ?? DEFAULT_SIGNAL_COL);
    default:
      throw new UsageError(`unknown strategy "${spec.name}" (use ${STRATEGIES.join('|')} or a module file: ./my-strategy.js)`);
  }
}
