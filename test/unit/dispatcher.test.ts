// The execute stage's state carrying across the blocks of a symbol, with a fake pool whose
// tasks finish late: blocks are dispatched back to back, as the run loop does.

import { describe, expect, it } from 'vitest';
import { ACCT_SIZE, DEFAULT_BACKTEST } from '../../src/backtest/accounting.js';
import { resolveParams } from '../../src/config/params.js';
import type { KernelPool } from '../../src/pool/pool.js';
import { attachSlot, createSharedSlot } from '../../src/pool/slots.js';
import type { KernelResult, KernelTask } from '../../src/pool/task.js';
import { Dispatcher } from '../../src/stages/execute/index.js';
import type { Batch } from '../../src/stages/load/index.js';

const SB = 8;

describe('Dispatcher', () => {
  it('each block continues from the state of the block before it, however late tasks finish', async () => {
    const seen: number[] = [];
    const accountsSeen: number[] = [];
    let nextState = 1;
    const fake = {
      run: async (t: KernelTask): Promise<KernelResult> => {
        await new Promise((r) => setTimeout(r, 30 - t.slot * 10)); // later blocks finish sooner
        seen.push(t.stateIn ? (t.stateIn[0] as number) : 0);
        accountsSeen.push(t.accountsIn ? (t.accountsIn[0] as number) : 0);
        const states = new Uint8Array(t.nSeries * SB);
        states[0] = nextState;
        const accounts = new Float64Array(t.nSeries * ACCT_SIZE);
        accounts[0] = 100 + nextState++;
        return { last: new Float64Array(14), alerts: new Uint32Array(2), accounts, kernelSeconds: 0, states };
      },
    } as unknown as KernelPool;
    const set = { params: resolveParams(), trade: DEFAULT_BACKTEST };
    const d = new Dispatcher(fake, 0, [set], SB, { trades: false, portfolio: false, planes: false, extra: false });
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
    expect(accountsSeen).toEqual([0, 101, 102]);
  });
});
