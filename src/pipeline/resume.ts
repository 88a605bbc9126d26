// A run's identity: the key of everything that determines its results. A run directory holding
// the same key is resumed (or answered, when complete); another key is refused unless
// overwriting (results/run-dir.ts holds the commit protocol).

import type { ParamSet } from '../config/grid.js';
import type { BarSource } from '../data/source.js';
import { KERNEL_VERSION } from '../engine/native.js';
import type { OutputKind } from '../results/outputs.js';
import { fileFingerprint, RunDir, runKey, type RunKeyParts } from '../results/run-dir.js';
import type { BadRowPolicy } from '../stages/load/index.js';

export interface RunIdentity {
  sets: readonly ParamSet[];
  outputs: readonly OutputKind[];
  badRows: BadRowPolicy;
  minSignal: number;
  capital: number;
  equity: boolean;
}

/** Open `out` for this run: fresh, resumed, or complete (see RunDir.open). */
export function openRun(out: string, src: BarSource, o: RunIdentity, overwrite: boolean): RunDir {
  const { key, keyParts } = runIdentity(src.files, o);
  return RunDir.open(out, key, keyParts, overwrite);
}

/** The run's key, and what it is the hash of. */
export function runIdentity(files: string[], o: RunIdentity): { key: string; keyParts: RunKeyParts } {
  const keyParts = {
    data: fileFingerprint(files),
    sets: o.sets.map((s) => s.id),
    outputs: [...o.outputs].sort(),
    badRows: o.badRows,
    minSignal: o.minSignal,
    capital: o.capital,
    equity: o.equity,
    kernel: KERNEL_VERSION,
  };
  return { key: runKey(keyParts), keyParts };
}
