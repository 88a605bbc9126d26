// The worker pool over shared slots, with a fixture worker: shared memory (no copies), slot
// ring back-pressure, a failing task, closing.

import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelPool } from '../../src/pool/pool.js';
import type { KernelTask } from '../../src/pool/task.js';

const workerFile = fileURLToPath(new URL('../fixtures/pool-worker.mjs', import.meta.url));
const pool = new KernelPool({ engine: 'ts' }, { workers: 2, slots: 2, capacity: 16, workerFile });
afterAll(() => pool.close());
const task = (slot: number, nSeries: number, symbols: string[]): KernelTask => ({
  slot,
  group: 0,
  sets: [],
  nSeries,
  symbols,
  wantStates: false,
  wants: { trades: false, portfolio: false, planes: false, extra: false },
});

describe('KernelPool', () => {
  it('workers read and write the slots in shared memory', async () => {
    const slot = await pool.acquire();
    slot.closes.set([1, 2, 3]);
    const r = (await pool.run(task(slot.index, 3, ['x']))) as unknown as { threadSawSharedMemory: boolean };
    expect(r.threadSawSharedMemory).toBe(true);
    expect(Array.from(slot.out.values.subarray(0, 3))).toEqual([2, 4, 6]);
    pool.release(slot);
  });

  it('acquire waits for a released slot (back-pressure), first come first served', async () => {
    const a = await pool.acquire();
    const b = await pool.acquire();
    const order: number[] = [];
    const w1 = pool.acquire().then((s) => order.push(s.index));
    const w2 = pool.acquire().then((s) => order.push(s.index));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    pool.release(b);
    pool.release(a);
    await Promise.all([w1, w2]);
    expect(order).toEqual([b.index, a.index]);
    for (const i of order) pool.release(pool.slots[i] as never);
  });

  it('a failing task rejects its own promise and the pool keeps serving', async () => {
    const slot = await pool.acquire();
    await expect(pool.run(task(slot.index, 0, ['throw']))).rejects.toThrow(/fixture failure/);
    const r = await pool.run(task(slot.index, 0, ['coded']));
    expect(r.error).toMatchObject({ code: 'ATC_ERR_BAD_CLOSE', bar: 3 });
    await expect(pool.run(task(slot.index, 1, ['ok']))).resolves.toBeDefined();
    pool.release(slot);
  });

  it('close ends the workers; later tasks are refused', async () => {
    const p2 = new KernelPool({ engine: 'ts' }, { workers: 1, slots: 1, capacity: 4, workerFile });
    await p2.close();
    await expect(p2.run(task(0, 0, ['x']))).rejects.toThrow();
  });
});
