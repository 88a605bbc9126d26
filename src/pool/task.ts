// The message types between the main thread and the kernel workers.

import type { JobSet } from '../engine/job.js';
import type { EngineName } from '../engine/select.js';
import type { StrategySpec } from '../strategies/registry.js';
import type { SharedSlot } from './slots.js';

export interface WorkerInit {
  engine: EngineName;
  /** the run's strategy (absent: the ATC) */
  strategy?: StrategySpec | undefined;
  simdPath?: string | undefined;
  slots: SharedSlot[];
}

/** What a task asks for besides the per-series results. */
export interface TaskWants {
  /** closed trades */
  trades: boolean;
  /** portfolio partial sums */
  portfolio: boolean;
  /** per-bar outputs in the slot (single-set groups only) */
  planes: boolean;
  /** per-bar position, return and equity in the slot (with planes) */
  extra: boolean;
}

export interface KernelTask {
  slot: number;
  /** names the parameter sets below; a worker keeps one kernel per group */
  group: number;
  sets: JobSet[];
  /** series in the slot: offsets[0..nSeries] */
  nSeries: number;
  /** symbols, only to name series in errors */
  symbols: string[];
  /** per series, the state records (all sets) to continue from when some series continues a
   *  long symbol (all zero for the others: they start fresh); else absent */
  stateIn?: Uint8Array;
  /** per series and set, the accounts to continue from (fresh ones where stateIn is zero) */
  accountsIn?: Float64Array;
  /** return the states after the last bar of every series */
  wantStates: boolean;
  wants: TaskWants;
}

/** Per series and set (series-major): what the summary, stats, trades and portfolio need. */
export interface KernelResult {
  /** nSeries x nSets x LAST_FIELDS: Average_Signal, 6 X_Signal, 6 X_S, direction (0 = na) */
  last: Float64Array;
  /** nSeries x nSets x 2: long and short alerts */
  alerts: Uint32Array;
  /** nSeries x nSets accounts after the last bar */
  accounts: Float64Array;
  /** TRADE_FIELDS per closed trade (series, set, ...) */
  trades?: Float64Array;
  portfolio?: { ts: Float64Array; sums: Float64Array; counts: Float64Array };
  states?: Uint8Array;
  /** seconds inside the kernel */
  kernelSeconds: number;
  error?: { code: string; message: string; series: number; bar: number };
}
