// <out>/run.json when a run completes: what ran (tool, data, parameters, engine, options),
// its counts and timings.

import { KERNEL_VERSION } from '../engine/native.js';
import type { RunDir } from '../results/run-dir.js';
import { packageInfo } from '../util/package-root.js';
import type { RunJobOptions, RunReport, StageSeconds } from './run.js';

/** The counts a complete run.json keeps (a rerun of a complete run reports them). */
export const COUNT_KEYS = ['sets', 'passes', 'symbols', 'symbolsSkipped', 'bars', 'rejects', 'commits', 'resumedSymbols'] as const;

/** A run's stage times and peak RSS in one line, as `atc run` prints them and `atc report` shows
 *  them (the stages overlap: the workers compute while the main thread reads and writes). */
export function stagesText(stages: StageSeconds, peakRssMB: number): string {
  const parts = Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(2)} s${k === 'kernel' ? ' (summed over the workers)' : ''}`);
  return `${parts.join(', ')}; peak RSS ${peakRssMB} MB`;
}

export function writeRunJson(rd: RunDir, o: RunJobOptions, files: readonly string[], report: RunReport): void {
  const first = o.sets[0];
  rd.writeRunJson({
    ...rd.readRunJson(),
    status: 'complete',
    tool: { name: 'atc-backtest', version: packageInfo().version, kernel: KERNEL_VERSION, node: process.version },
    data: { spec: o.data, files },
    strategy: o.strategySpec ?? { name: 'atc' },
    profile: first?.params.profile,
    sets: o.sets.length,
    params: o.sets.length === 1 ? { ...first?.params, ...first?.trade, id: first?.id } : 'params.parquet',
    engine: report.engine,
    outputs: o.outputs,
    badRows: o.badRows,
    minSignal: o.minSignal,
    capital: o.capital,
    equity: o.equity,
    workers: o.workers,
    chunkBars: o.chunkBars,
    passes: report.passes,
    counts: Object.fromEntries(COUNT_KEYS.map((k) => [k, report[k]])),
    timings: {
      seconds: +report.seconds.toFixed(3),
      kernelSeconds: +report.kernelSeconds.toFixed(3),
      stages: Object.fromEntries(Object.entries(report.stages).map(([k, v]) => [k, +v.toFixed(3)])),
      peakRssMB: report.peakRssMB,
    },
    ...(report.cache ? { cache: report.cache } : {}),
    finished: new Date().toISOString(),
  });
}
