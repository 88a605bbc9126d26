// The execute stage's state carrying across the blocks of a symbol, with a fake pool whose
// tasks finish late: blocks are dispatched back to back, as the run loop does.

import { describe, expect, it } from 'vitest';
import type { KernelPool } from '../../src/pool/pool.js';
import { attachSlot, createSharedSlot } from '../../src/pool/slots.js';
import type { KernelResult, KernelTask } from '../../src/pool/task.js';
import { Dispatcher } from '../../src/stages/execute/index.js';
import type { Batch } from '../../src/stages/load/index.js';

const SB = 8;

describe('Dispatcher', () => {
  it('each block continues from the state of the block before it, however late tasks finish', async () => {
    const seen: number[] = [];
    let nextState = 1;
    const fake = {
      run: async (t: KernelTask): Promise<KernelResult> => {
        await new Promise((r) => setTimeout(r, 30 - t.slot * 10)); // later blocks finish sooner
        seen.push(t.stateIn ? (t.stateIn[0] as number) : 0);
        const states = new Uint8Array(t.nSeries * SB);
        states[0] = nextState++;
        return { last: new Float64Array(14), alerts: new Uint32Array(2), kernelSeconds: 0, states };
      },
    } as unknown as KernelPool;
    const d = new Dispatcher(fake, SB);
    const block = (i: number, last: boolean): Batch => ({
      seq: i,
      slot: attachSlot(createSharedSlot(4), i),
      series: [{ symbol: 'X', code: 0, start: 0, length: 4, barStart: 4 * i, last }],
      n: 4,
      rejects: [],
      aborted: [],
    });
    const runs = [d.run(block(0, false)), d.run(block(1, false)), d.run(block(2, true))];
    await Promise.all(runs);
    // block 0 starts fresh; block 1 gets block 0's state (1); block 2 gets block 1's (2)
    expect(seen).toEqual([0, 1, 2]);
  });
});
