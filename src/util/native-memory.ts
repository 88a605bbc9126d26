// DuckDB results own native memory that is released only when V8 collects their (small) JS
// wrappers. A wrapper that lives a little while is promoted to the old generation and waits
// for a major GC, which V8 schedules by JS heap pressure, not by native memory: over hundreds of
// materialised ranges that is gigabytes. Readers call this after releasing a large result.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined | null;

/** A full garbage collection (exposes V8's gc once; a no-op if that is not possible). */
export function collectNative(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
