// The strategy contract. A strategy is a per-symbol state machine over blocks of its declared
// input columns: it writes its per-bar outputs and a trading direction (+1 long, -1 short,
// 0 flat; decided at the bar's close, filled at the next bar), and keeps a fixed-size state
// record per symbol so that any split of a symbol into blocks gives the same bits. The
// accounting, trades, statistics and portfolio read only the direction (strategies/direct-job.ts,
// kernels/core/src/direct.rs); the ATC fuses them into its own job for speed (engine/job.ts).

import type { EngineName } from '../engine/select.js';

/** One parameter of a strategy: sweepable like any other (lists, ranges). */
export interface StrategyParam {
  /** camelCase name: the library's key; its kebab-case is the CLI flag, its snake_case the params.parquet column */
  name: string;
  default: number;
  min: number;
  max: number;
  integer?: boolean;
  doc: string;
}

/** How the loader checks an input column (bad rows follow the --bad-rows policy). */
export type InputCheck =
  /** finite and > 0 (open, high, low, close) */
  | 'price'
  /** finite and >= 0 (volume) */
  | 'nonnegative'
  /** -1, 0 or 1; NULL allowed (the strategy holds the previous value) */
  | 'direction'
  /** finite (any other column a user strategy reads) */
  | 'finite';

export interface StrategyInput {
  /** the column's name in the source */
  name: string;
  check: InputCheck;
}

/** Per-bar outputs of one set over a block of series (the rows of `offsets`). */
export interface SignalBlock {
  /** the input columns, by name; `close` always */
  inputs: Readonly<Record<string, Float64Array>>;
  offsets: Uint32Array;
  /** one state record per series, read and then overwritten in place */
  states: Uint8Array;
  /** the output planes, in `outputs` order (NaN = NULL), indexed like the inputs */
  planes: readonly Float64Array[];
  /** the trading direction per bar: +1, -1, 0 */
  direction: Int8Array;
}

/** A strategy's computation for one parameter set. */
export interface SignalKernel {
  readonly stateBytes: number;
  /** n fresh state records (each starts with a non-zero byte: the pipeline's "carried" test) */
  freshStates(n: number): Uint8Array;
  /** bars seen by record r (throws StateError if it is not a state of this set) */
  stateBars(states: Uint8Array, r: number): number;
  /** advances every series of the block; `symbols` only names series in errors */
  run(block: SignalBlock, symbols?: readonly string[]): void;
}

export interface Strategy {
  readonly name: string;
  readonly version: number;
  /** one line for help and params.parquet */
  readonly doc: string;
  readonly params: readonly StrategyParam[];
  /** columns read besides symbol and ts; `close` (the accounting's price) is always among them */
  readonly inputs: readonly StrategyInput[];
  /** per-bar float outputs: signals columns between close and direction */
  readonly outputs: readonly { name: string; doc: string }[];
  /** signals.direction: NULL where the direction is 0 (a warm-up with no position, as ATC's
   *  and Supertrend's), else 0 is written as flat */
  readonly zeroIsNull: boolean;
  readonly directionDoc: string;
  /** bars a symbol needs (fewer is ATC_ERR_TOO_FEW_BARS or the bad-row policy) */
  minimumBars(values: Readonly<Record<string, number>>): number;
  kernel(values: Readonly<Record<string, number>>, engine: EngineName): SignalKernel;
  /** a hash of what defines the computation beyond name and version (a user module's file) */
  readonly sourceHash?: string;
  /** a user strategy's module file (the workers import it) */
  readonly module?: string;
}
