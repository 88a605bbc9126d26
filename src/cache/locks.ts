// The cache's locks (<cache>/locks/): runs hold a shared lock (one file each); gc, verify and
// clear hold the exclusive one, which waits for no run. A lock file names its host and pid:
// a lock of this host whose process is gone is stale and removed; a lock of another host
// (a cache on a shared filesystem) is never taken for dead by its pid.

import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AtcError } from '../errors.js';
import { describeHolder as describe, type Holder, live, me, readHolder } from '../util/lock-file.js';

export class CacheLock {
  private constructor(private file: string | undefined) {}

  /** A run's lock: waits (up to a minute) while `atc cache` holds the exclusive one. */
  static shared(locks: string, cacheDir: string): CacheLock {
    const mine = join(locks, `shared-${process.pid}-${randomUUID().slice(0, 8)}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      writeFileSync(mine, JSON.stringify(me()));
      const holder = exclusiveHolder(locks);
      if (holder === undefined) return new CacheLock(mine);
      rmSync(mine, { force: true });
      if (Date.now() > deadline) throw new AtcError('ATC_ERR_CACHE_BUSY', `${cacheDir}: held by \`atc cache\` (${describe(holder)}) for over a minute`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }

  /** The lock of a command that rewrites the cache: refused while any run holds a shared lock. */
  static exclusive(locks: string, cacheDir: string): CacheLock {
    const f = join(locks, 'exclusive');
    let fd: number;
    try {
      exclusiveHolder(locks); // clears a stale one
      fd = openSync(f, 'wx');
    } catch {
      const h = exclusiveHolder(locks);
      throw new AtcError('ATC_ERR_CACHE_BUSY', `${cacheDir}: another \`atc cache\` command is running${h ? ` (${describe(h)})` : ''}`);
    }
    writeSync(fd, JSON.stringify(me()));
    closeSync(fd);
    const lock = new CacheLock(f);
    // Runs announce themselves before checking for this lock: any run not seen here will wait.
    const users: Holder[] = [];
    for (const n of readdirSync(locks).filter((x) => x.startsWith('shared-'))) {
      const h = readHolder(join(locks, n));
      if (live(h)) users.push(h);
      else rmSync(join(locks, n), { force: true });
    }
    if (users.length > 0) {
      lock.release();
      throw new AtcError('ATC_ERR_CACHE_BUSY', `${cacheDir}: in use by ${users.length} run(s) (${users.map(describe).join(', ')}); try again when they finish`);
    }
    return lock;
  }

  release(): void {
    if (this.file) rmSync(this.file, { force: true });
    this.file = undefined;
  }
}

/** The live holder of the exclusive lock, if any (a stale lock of this host is removed). */
function exclusiveHolder(locks: string): Holder | undefined {
  const f = join(locks, 'exclusive');
  if (!existsSync(f)) return undefined;
  const h = readHolder(f);
  if (live(h)) return h;
  rmSync(f, { force: true });
  return undefined;
}
