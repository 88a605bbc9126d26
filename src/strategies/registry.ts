// The strategies a run can name: the ATC (the default; its job is engine/job.ts), Supertrend
// and precomputed signals. A run's strategy travels to the kernel workers as a StrategySpec
// (plain data) and is rebuilt there.

import { UsageError } from '../errors.js';
import { DEFAULT_SIGNAL_COL, signalStrategy } from './signal/index.js';
import { SUPERTREND } from './supertrend/index.js';
import type { Strategy } from './types.js';

export const STRATEGIES = ['atc', 'supertrend', 'signal'] as const;

export interface StrategySpec {
  name: string;
  /** the `signal` strategy's column */
  signalCol?: string | undefined;
}

/** The strategy of a spec; undefined is the ATC. */
export function strategyOf(spec: StrategySpec): Strategy | undefined {
  switch (spec.name) {
    case 'atc':
      return undefined;
    case 'supertrend':
      return SUPERTREND;
    case 'signal':
      return signalStrategy(spec.signalCol ?? DEFAULT_SIGNAL_COL);
    default:
      throw new UsageError(`unknown strategy "${spec.name}" (use ${STRATEGIES.join('|')})`);
  }
}
