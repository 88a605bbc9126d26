// The `ts` engine: the batch contract (batch.ts) over the reference kernel.

import { checkCloses, checkRequest, seriesCount, type StepRequest } from './batch.js';
import type { Plan } from './plan.js';
import { referenceSeries } from './reference.js';
import { checkState, initPayload, statePayload, writeStateHeader } from './state.js';

export function tsStep(plan: Plan, req: StepRequest): void {
  checkRequest(plan, req);
  const n = seriesCount(req);
  const bars = new Array<number>(n).fill(0);
  if (req.stateIn) for (let s = 0; s < n; s++) bars[s] = checkState(plan, req.stateIn, s).bars;
  // Validate every close before touching any state, so a bad bar leaves the caller's states as they were.
  checkCloses(req, (s) => bars[s] as number);

  const scratch = new Uint8Array(plan.stateBytes);
  for (let s = 0; s < n; s++) {
    const from = req.offsets[s] as number;
    const to = req.offsets[s + 1] as number;
    const target = req.stateOut ?? scratch;
    const record = req.stateOut ? s : 0;
    const payload = statePayload(plan, target, record);
    if (req.stateIn) payload.set(statePayload(plan, req.stateIn, s));
    else initPayload(plan, payload);
    referenceSeries(plan, payload, bars[s] as number, req.closes, from, to, req.out);
    writeStateHeader(plan, target, record, (bars[s] as number) + (to - from));
  }
}
