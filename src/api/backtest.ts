// backtest(): run a backtest job from TypeScript (what `atc run` does), and warm(): fill the
// result cache (`atc warm`).

import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sampleDataset } from '../../datasets/index.js';
import { type JobOptions, resolveJob, type Style } from '../config/options.js';
import { loadStrategyOption } from '../strategies/registry.js';
import { UsageError } from '../errors.js';
import type { OutputKind } from '../results/outputs.js';
import type { ProgressEvent } from '../pipeline/progress.js';
import { type RunReport, runJob } from '../pipeline/run.js';

/** Options of backtest(): the same concepts and defaults as `atc run`. */
export interface BacktestOptions extends JobOptions {
  /** the run directory (default 'atc-out') */
  out?: string;
  /** what to write (default ['summary', 'stats']) */
  outputs?: readonly OutputKind[];
  /** add position, strategy_return, equity columns to signals */
  equity?: boolean;
  /** with a portfolio output, commit at most every this many seconds (default 20) */
  checkpoint?: number;
  /** replace the results of another run in `out` */
  overwrite?: boolean;
  /** aborting stops the run cleanly: finished chunks stay committed and a rerun resumes (rejects with AbortError) */
  signal?: AbortSignal;
  /** called as chunks are committed, and once at the end */
  onProgress?: (p: ProgressEvent) => void;
  /** notes such as an engine fallback (default: process.emitWarning) */
  logger?: (message: string) => void;
}

/** How a caller is served: hooks the CLI and the library set differently. */
export interface Hooks {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: ProgressEvent) => void) | undefined;
  logger?: ((message: string) => void) | undefined;
}

const warn = (m: string): void => process.emitWarning(m, 'AtcWarning');

/** Run a backtest. Invalid options reject with the CLI's coded errors (ATC_ERR_USAGE, ATC_ERR_INVALID_PARAM, ...). */
export async function backtest(options: BacktestOptions = {}): Promise<RunReport> {
  const { signal, onProgress, logger, ...rest } = options;
  return backtestWith(rest, 'options', { signal, onProgress, logger });
}

/** backtest() for options named `style` (the CLI passes its flags as options). */
export async function backtestWith(input: Record<string, unknown>, style: Style, hooks: Hooks): Promise<RunReport> {
  const job = resolveJob(await loadStrategyOption(input), style);
  return runJob({ ...job, data: job.data ?? sampleDataset(), onProgress: hooks.onProgress, log: hooks.logger ?? warn, signal: hooks.signal });
}

/** What warm() did, in (symbol, parameter set) entries. */
export interface WarmReport {
  data: string;
  cache: string;
  sets: number;
  symbols: number;
  entries: number;
  /** already in the cache */
  present: number;
  /** continued from a cached entry over new bars */
  incremental: number;
  computed: number;
  stored: number;
  seconds: number;
}

/** Options of warm(): a grid over a bar source, and the cache to fill. */
export interface WarmOptions extends JobOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  logger?: (message: string) => void;
}

/** Precompute a grid over a universe into the cache (resumable: rerun after a kill). */
export async function warm(options: WarmOptions = {}): Promise<WarmReport> {
  const { signal, onProgress, logger, ...rest } = options;
  return warmWith(rest, 'options', { signal, onProgress, logger });
}

export async function warmWith(input: Record<string, unknown>, style: Style, hooks: Hooks): Promise<WarmReport> {
  const job = resolveJob(await loadStrategyOption(input), style);
  if (!job.cache) throw new UsageError(`warm fills a cache: ${style === 'flags' ? 'pass --cache <dir> (not --no-cache)' : 'options.cache must name a directory'}`);
  // Results go to a scratch directory inside the cache: the entries are the product.
  const out = join(job.cache, 'tmp', `warm-${process.pid}-${randomUUID().slice(0, 8)}`);
  mkdirSync(dirname(out), { recursive: true });
  const data = job.data ?? sampleDataset();
  try {
    const res = await runJob({ ...job, data, out, overwrite: true, outputs: ['summary'], equity: false, onProgress: hooks.onProgress, log: hooks.logger ?? warn, signal: hooks.signal });
    const c = res.cache;
    return { data, cache: job.cache, sets: res.sets, symbols: res.symbols, entries: res.symbols * res.sets, present: c?.hits ?? 0, incremental: c?.incremental ?? 0, computed: c?.computed ?? 0, stored: c?.stored ?? 0, seconds: res.seconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
