// Kernel worker (Piscina): runs one job (a chunk of series under a group of parameter sets)
// over one slot. Buffers are shared with the main thread through workerData; a task carries
// only indices, the group's sets and carried states.

import { workerData } from 'piscina';
import { ACCT_SIZE, freshAccount } from '../backtest/accounting.js';
import { PORT_FIELDS, timestampSlots } from '../backtest/portfolio.js';
import { LAST_FIELDS } from '../engine/batch.js';
import { createJobKernel, type TaskKernel } from '../engine/job.js';
import { createDirectJob } from '../strategies/direct-job.js';
import { resolveStrategy } from '../strategies/registry.js';
import { isAtcError, SeriesError } from '../errors.js';
import { attachSlot } from './slots.js';
import type { KernelResult, KernelTask, WorkerInit } from './task.js';

const init = workerData as WorkerInit;
const slots = init.slots.map(attachSlot);
const kernels = new Map<number, TaskKernel>();
const strategy = init.strategy ? await resolveStrategy(init.strategy) : undefined;

function kernelFor(task: KernelTask): TaskKernel {
  let k = kernels.get(task.group);
  if (!k) {
    // one group at a time per run; keep the cache small
    if (kernels.size > 4) kernels.clear();
    k = strategy
      ? createDirectJob(strategy, task.sets.map((s) => ({ values: s.values ?? {}, trade: s.trade })), init.engine)
      : createJobKernel(task.sets, init.engine, { simdPath: init.simdPath });
    kernels.set(task.group, k);
  }
  return k;
}

// Test-only fault injection, to test how a run survives a failing worker:
// ATC_TEST_FAULT=throw|exit|oom@<symbol> makes the worker that gets the chunk holding <symbol>
// throw, exit, or allocate until it is over its heap limit (ATC_WORKER_HEAP_MB).
const fault = /^(throw|exit|oom)@(.+)$/.exec(process.env.ATC_TEST_FAULT ?? '');

function injectFault(kind: string): void {
  if (kind === 'throw') throw new Error('injected fault (ATC_TEST_FAULT)');
  if (kind === 'exit') process.exit(3);
  const hog: number[][] = [];
  for (;;) hog.push(Array.from({ length: 1 << 16 }, (_, i) => i + 0.5));
}

export default function run(task: KernelTask): KernelResult {
  if (fault && task.symbols.includes(fault[2] as string)) injectFault(fault[1] as string);
  const slot = slots[task.slot];
  if (!slot) throw new Error(`no slot ${task.slot}`);
  const n = task.nSeries;
  const np = task.sets.length;
  const empty = { last: new Float64Array(0), alerts: new Uint32Array(0), accounts: new Float64Array(0), kernelSeconds: 0 };
  try {
    const kernel = kernelFor(task);
    const offsets = slot.offsets.subarray(0, n + 1);
    const end = offsets[n] as number;
    const accounts = new Float64Array(n * np * ACCT_SIZE);
    const fresh = freshAccount();
    for (let i = 0; i < n * np; i++) accounts.set(fresh, i * ACCT_SIZE);
    let states: Uint8Array | undefined;
    if (task.wantStates) {
      // Fresh states, except for series continuing a symbol cut into blocks (their records in
      // stateIn are non-zero; a fresh record never is: it starts with the 'ATCS' magic).
      states = kernel.freshStates(n);
      const rb = kernel.recordBytes;
      if (task.stateIn) {
        for (let s = 0; s < n; s++) {
          const rec = task.stateIn.subarray(s * rb, (s + 1) * rb);
          if (rec[0] === 0) continue;
          states.set(rec, s * rb);
          if (task.accountsIn) accounts.set(task.accountsIn.subarray(s * np * ACCT_SIZE, (s + 1) * np * ACCT_SIZE), s * np * ACCT_SIZE);
        }
      }
    }
    const last = new Float64Array(n * np * LAST_FIELDS);
    const alerts = new Uint32Array(n * np * 2);
    let portfolio: KernelResult['portfolio'];
    let pf: { uIndex: Uint32Array; nU: number; sums: Float64Array; counts: Float64Array } | undefined;
    if (task.wants.portfolio) {
      const slotsTs = timestampSlots(slot.ts.subarray(offsets[0] as number, end), end - (offsets[0] as number));
      // u_index covers bars [0, end); the chunk's bars start at offsets[0]
      const uIndex = new Uint32Array(end);
      uIndex.set(slotsTs.index, offsets[0] as number);
      pf = { uIndex, nU: slotsTs.ts.length, sums: new Float64Array(np * slotsTs.ts.length * PORT_FIELDS), counts: new Float64Array(slotsTs.ts.length) };
      portfolio = { ts: slotsTs.ts, sums: pf.sums, counts: pf.counts };
    }
    const t0 = performance.now();
    const trades = kernel.run(
      {
        closes: slot.closes.subarray(0, end),
        inputs: Object.fromEntries(Object.entries(slot.inputs).map(([name, x]) => [name, x.subarray(0, end)])),
        offsets,
        ts: slot.ts,
        states,
        accounts,
        last,
        alerts,
        out: task.wants.planes ? slot.out : undefined,
        extra: task.wants.planes && task.wants.extra ? slot.extra : undefined,
        portfolio: pf,
        trades: task.wants.trades,
      },
      task.symbols,
    );
    const kernelSeconds = (performance.now() - t0) / 1000;
    return { last, alerts, accounts, kernelSeconds, ...(trades ? { trades } : {}), ...(portfolio ? { portfolio } : {}), ...(states ? { states } : {}) };
  } catch (e) {
    if (isAtcError(e)) {
      const s = e instanceof SeriesError ? e : undefined;
      return { ...empty, error: { code: e.code, message: e.message, series: s?.series ?? -1, bar: s?.bar ?? -1 } };
    }
    throw e;
  }
}
