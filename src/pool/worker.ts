// Kernel worker (Piscina): runs the kernel over one slot and returns what the summary needs.
// Buffers are shared with the main thread through workerData; a task carries only indices.

import { workerData } from 'piscina';
import { N_FLOAT_COLUMNS } from '../engine/batch.js';
import { createKernel } from '../engine/kernel.js';
import { isAtcError, SeriesError } from '../errors.js';
import { attachSlot } from './slots.js';
import { type KernelResult, type KernelTask, LAST_FIELDS, type WorkerInit } from './task.js';

const init = workerData as WorkerInit;
const kernel = createKernel(init.params, init.engine, { simdPath: init.simdPath });
const slots = init.slots.map(attachSlot);

export default function run(task: KernelTask): KernelResult {
  const slot = slots[task.slot];
  if (!slot) throw new Error(`no slot ${task.slot}`);
  const n = task.nSeries;
  const offsets = slot.offsets.subarray(0, n + 1);
  let states: Uint8Array | undefined;
  if (task.wantStates) {
    // Fresh states, except for series continuing a symbol cut into blocks (their record in
    // stateIn is non-zero; a fresh record never is: it starts with the 'ATCS' magic).
    states = kernel.freshStates(n);
    const sb = kernel.stateBytes;
    if (task.stateIn) {
      for (let s = 0; s < n; s++) {
        const rec = task.stateIn.subarray(s * sb, (s + 1) * sb);
        if (rec[0] !== 0) states.set(rec, s * sb);
      }
    }
  }
  const t0 = performance.now();
  try {
    kernel.step({ closes: slot.closes, offsets, out: slot.out, stateIn: states, stateOut: states }, task.symbols);
  } catch (e) {
    if (isAtcError(e)) {
      const s = e instanceof SeriesError ? e : undefined;
      return { last: new Float64Array(0), alerts: new Uint32Array(0), kernelSeconds: 0, error: { code: e.code, message: e.message, series: s?.series ?? -1, bar: s?.bar ?? -1 } };
    }
    throw e;
  }
  const kernelSeconds = (performance.now() - t0) / 1000;
  const { values, stride, direction, alerts } = slot.out;
  const last = new Float64Array(n * LAST_FIELDS);
  const counts = new Uint32Array(n * 2);
  for (let s = 0; s < n; s++) {
    const a = offsets[s] as number;
    const b = offsets[s + 1] as number;
    if (b > a) {
      for (let p = 0; p < N_FLOAT_COLUMNS; p++) last[s * LAST_FIELDS + p] = values[p * stride + b - 1] as number;
      last[s * LAST_FIELDS + N_FLOAT_COLUMNS] = direction[b - 1] as number;
    }
    let lo = 0;
    let sh = 0;
    for (let j = a; j < b; j++) {
      const x = alerts[j] as number;
      if (x === 1) lo++;
      else if (x === -1) sh++;
    }
    counts[s * 2] = lo;
    counts[s * 2 + 1] = sh;
  }
  return { last, alerts: counts, kernelSeconds, ...(states ? { states } : {}) };
}
