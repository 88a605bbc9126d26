// A fixed ring of chunk buffers in SharedArrayBuffers: the main thread fills closes/ts/offsets,
// a worker writes the kernel outputs next to them, the main thread writes them to Parquet, and
// the slot is reused. Memory is (slots x capacity x ~122 bytes), whatever the dataset size.

import { EXTRA_PLANES, N_FLOAT_COLUMNS, type Outputs } from '../engine/batch.js';


/** What crosses to workers (SharedArrayBuffers are shared, not copied). */
export interface SharedSlot {
  capacity: number;
  ts: SharedArrayBuffer;
  closes: SharedArrayBuffer;
  offsets: SharedArrayBuffer;
  values: SharedArrayBuffer;
  direction: SharedArrayBuffer;
  alerts: SharedArrayBuffer;
  /** position, strategy return, equity per bar (only when signals carry equity columns) */
  extra?: SharedArrayBuffer;
  /** the strategy's input columns besides close, a plane of `capacity` each */
  inputNames: string[];
  inputs: SharedArrayBuffer;
}

export interface Slot {
  index: number;
  capacity: number;
  /** epoch microseconds of each bar (doubles, exact below 2^53) */
  ts: Float64Array;
  closes: Float64Array;
  /** series offsets into closes (a chunk holds at most `capacity` series) */
  offsets: Uint32Array;
  out: Outputs;
  /** EXTRA_PLANES planes of `capacity`, or empty */
  extra: Float64Array;
  /** the strategy's input columns besides close, by name */
  inputs: Record<string, Float64Array>;
}

/** Bytes of one slot of `capacity` bars. */
export function slotBytes(capacity: number, extra = false, inputs = 0): number {
  return capacity * (8 + 8 + 4 + N_FLOAT_COLUMNS * 8 + 1 + 1 + (extra ? EXTRA_PLANES * 8 : 0) + inputs * 8) + 4;
}

export function createSharedSlot(capacity: number, extra = false, inputNames: readonly string[] = []): SharedSlot {
  return {
    inputNames: [...inputNames],
    inputs: new SharedArrayBuffer(inputNames.length * capacity * 8),
    ...(extra ? { extra: new SharedArrayBuffer(EXTRA_PLANES * capacity * 8) } : {}),
    capacity,
    ts: new SharedArrayBuffer(capacity * 8),
    closes: new SharedArrayBuffer(capacity * 8),
    offsets: new SharedArrayBuffer((capacity + 1) * 4),
    values: new SharedArrayBuffer(N_FLOAT_COLUMNS * capacity * 8),
    direction: new SharedArrayBuffer(capacity),
    alerts: new SharedArrayBuffer(capacity),
  };
}

export function attachSlot(s: SharedSlot, index: number): Slot {
  return {
    index,
    capacity: s.capacity,
    ts: new Float64Array(s.ts),
    closes: new Float64Array(s.closes),
    offsets: new Uint32Array(s.offsets),
    out: {
      values: new Float64Array(s.values),
      stride: s.capacity,
      direction: new Int8Array(s.direction),
      alerts: new Int8Array(s.alerts),
    },
    extra: s.extra ? new Float64Array(s.extra) : new Float64Array(0),
    inputs: Object.fromEntries(s.inputNames.map((name, k) => [name, new Float64Array(s.inputs, k * s.capacity * 8, s.capacity)])),
  };
}
