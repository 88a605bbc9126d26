// What a command writes to, and small things every command shares.

import type { Argv } from 'yargs';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** the exit code of a command that ran but found a failure to report (e.g. `cache verify`) */
  status?: number;
}

export type Command = (y: Argv, io: Io) => Argv;

/**
 * Wait for yargs: it renders and caches a command's help right after calling its handler
 * (~70 ms of synchronous work). A job awaits this first, so that this work is not done in the
 * middle of the job (holding up whatever it awaits first).
 */
export const afterYargs = (): Promise<void> => new Promise((r) => setImmediate(r));
