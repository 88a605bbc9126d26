// What a command writes to, and small things every command shares.

import { exitSoon } from '../data/callback-queries.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** the exit code of a command that ran but found a failure to report (e.g. `cache verify`) */
  status?: number;
}

/**
 * Run a job that Ctrl-C (SIGINT) or SIGTERM stops cleanly: the first signal aborts it (the
 * chunks in flight finish and are committed), then the command exits 130 (SIGINT) or 143
 * (SIGTERM) saying how to resume; a second signal exits at once. Returns undefined when stopped.
 */
export async function interruptible<T>(io: Io, job: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const ac = new AbortController();
  let first: NodeJS.Signals | undefined;
  const code = (s: NodeJS.Signals): number => (s === 'SIGINT' ? 130 : 143);
  const on = (s: NodeJS.Signals): void => {
    if (first) {
      io.err(`\natc: ${s} again: stopping at once (what was committed stays; run the same command again to resume)\n`);
      exitSoon(code(s));
    }
    first = s;
    io.err(`\natc: ${s}: finishing the chunks in flight and committing them; ${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again stops at once\n`);
    ac.abort(new Error(s));
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await job(ac.signal);
  } catch (e) {
    if (first && (e as { code?: string }).code === 'ATC_ERR_ABORTED') {
      io.err(`atc: stopped by ${first}: finished chunks are committed; run the same command again to resume\n`);
      io.status = code(first);
      return undefined;
    }
    throw e;
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}
