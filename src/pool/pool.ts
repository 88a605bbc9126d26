// The kernel worker pool: Piscina over the shared slots, plus the free-slot ring.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { packageInfo } from '../util/package-root.js';
import { attachSlot, createSharedSlot, type Slot } from './slots.js';
import type { KernelResult, KernelTask, WorkerInit } from './task.js';

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export class KernelPool {
  readonly slots: Slot[];
  private readonly free: number[];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private readonly piscina: Piscina<KernelTask, KernelResult>;
  private closed = false;

  constructor(init: Omit<WorkerInit, 'slots'>, opts: { workers: number; slots: number; capacity: number; extra?: boolean; inputs?: readonly string[]; workerFile?: string }) {
    const heapMb = Number(process.env.ATC_WORKER_HEAP_MB ?? 0);
    const shared = Array.from({ length: opts.slots }, () => createSharedSlot(opts.capacity, opts.extra, opts.inputs));
    this.slots = shared.map(attachSlot);
    this.free = this.slots.map((s) => s.index);
    this.piscina = new Piscina<KernelTask, KernelResult>({
      // Workers always run compiled JS (dist/), also when the main thread runs from src/ in tests.
      filename: opts.workerFile ?? join(packageInfo().root, 'dist', 'src', 'pool', 'worker.js'),
      minThreads: opts.workers,
      maxThreads: opts.workers,
      idleTimeout: 60_000,
      workerData: { ...init, slots: shared } satisfies WorkerInit,
      // the kernels' memory is native and in the slots; the JS heap of a worker stays small
      ...(heapMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: heapMb } } : {}),
    });
  }

  /** A free slot (waits until one is released). */
  acquire(): Promise<Slot> {
    const i = this.free.pop();
    if (i !== undefined) return Promise.resolve(this.slots[i] as Slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(slot: Slot): void {
    const w = this.waiting.shift();
    if (w) w(slot);
    else this.free.push(slot.index);
  }

  run(task: KernelTask): Promise<KernelResult> {
    if (this.closed) return Promise.reject(new Error('the kernel pool is closed'));
    return this.piscina.run(task);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.piscina.destroy();
  }
}
