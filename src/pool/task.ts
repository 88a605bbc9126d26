// The message types between the main thread and the kernel workers.

import type { AtcParams } from '../config/params.js';
import type { EngineName } from '../engine/select.js';
import type { SharedSlot } from './slots.js';

export interface WorkerInit {
  params: AtcParams;
  engine: EngineName;
  simdPath?: string | undefined;
  slots: SharedSlot[];
}

export interface KernelTask {
  slot: number;
  /** series in the slot: offsets[0..nSeries] */
  nSeries: number;
  /** symbols, only to name series in errors */
  symbols: string[];
  /** one state record per series when some series continues a long symbol; else absent */
  stateIn?: Uint8Array;
  /** return the state after the last bar of every series */
  wantStates: boolean;
}

/** Per series: the last bar's outputs and alert counts (what the summary needs). */
export interface KernelResult {
  /** nSeries x LAST_FIELDS: Average_Signal, 6 X_Signal, 6 X_S, direction (0 = na) */
  last: Float64Array;
  /** nSeries x 2: long and short alerts */
  alerts: Uint32Array;
  states?: Uint8Array;
  /** seconds inside the kernel */
  kernelSeconds: number;
  error?: { code: string; message: string; series: number; bar: number };
}

export const LAST_FIELDS = 14;
