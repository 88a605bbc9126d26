// Lock files that name their holder's host and pid. A holder on this host whose process is gone
// is stale; a holder on another host (a directory on a shared filesystem) is never taken for
// dead by its pid.

import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Holder {
  host: string;
  pid: number;
}

export const me = (): Holder => ({ host: hostname(), pid: process.pid });

/** Who holds a lock file (undefined: gone, or left unwritten by a process that died). */
export function readHolder(file: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    // created and not yet written (a holder between open and write): live for a while
    if (text === '') return Date.now() - statSync(file).mtimeMs < 10_000 ? { host: '', pid: 0 } : undefined;
  } catch {
    return undefined;
  }
  try {
    const h = JSON.parse(text) as Holder;
    if (typeof h.host === 'string' && Number.isInteger(h.pid)) return h;
  } catch {
    // a lock written by an older version: a bare pid of this host
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? { host: hostname(), pid } : undefined;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A holder that may still hold its lock: another host's always, this host's while its process lives. */
export function live(h: Holder | undefined): h is Holder {
  return h !== undefined && (h.host !== hostname() || h.pid === 0 || pidAlive(h.pid));
}

export const describeHolder = (h: Holder): string => (h.host === hostname() || h.host === '' ? `pid ${h.pid || '?'}` : `pid ${h.pid} on ${h.host}`);

/** Create `file` as this process's lock; returns the live holder instead when another has it (a stale lock is replaced). */
export function tryLock(file: string): Holder | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const h = readHolder(file);
      if (live(h)) return h;
      rmSync(file, { force: true }); // left by a killed process
      continue;
    }
    writeSync(fd, JSON.stringify(me()));
    closeSync(fd);
    return undefined;
  }
  const h = readHolder(file);
  return h ?? { host: '', pid: 0 };
}
