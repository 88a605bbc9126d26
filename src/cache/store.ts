// The persistent, content-addressed result cache: a directory that runs open (shared) and
// maintenance commands open (exclusive).
//
//   <cache>/CACHE_VERSION      the format (a different format is refused, never misread)
//   <cache>/segments/*.parquet  entries, one row each (entries.ts), each file named by its
//                               sha256 (segments.ts)
//   <cache>/usage/*.parquet     one row per entry use (key, used_at, hits): last used and hits
//   <cache>/sources/*.parquet   fingerprint memos of source files (fingerprint.ts)
//   <cache>/locks/              shared-* while a run uses the cache, exclusive while gc,
//                               verify or clear rewrite it (locks.ts)
//
// Files are only ever added by runs (unique names, rename into place), so any number of runs
// and warm jobs share a cache safely. Only gc, verify and clear remove or rewrite files; they
// hold the exclusive lock, which waits for no run to hold a shared one.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AtcError } from '../errors.js';
import { CACHE_FORMAT } from './entries.js';
import { CacheLock } from './locks.js';
import { Segments } from './segments.js';

/** $ATC_CACHE_DIR (`off`: no cache unless --cache names one), else the user's cache folder. */
export function defaultCacheDir(): string | undefined {
  const env = process.env.ATC_CACHE_DIR;
  if (env === 'off') return undefined;
  if (env) return env;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'atc-backtest');
}

export class CacheStore {
  readonly segments: Segments;
  readonly usage: string;
  readonly sources: string;
  private lock: CacheLock | undefined;

  private constructor(
    readonly dir: string,
    log: (m: string) => void,
  ) {
    this.segments = new Segments(join(dir, 'segments'), log);
    this.usage = join(dir, 'usage');
    this.sources = join(dir, 'sources');
  }

  /** Open (creating) the cache at `dir`; `lock` 'shared' for runs, 'exclusive' to rewrite it. */
  static open(dir: string, lock: 'shared' | 'exclusive', log: (m: string) => void = () => undefined): CacheStore {
    const s = new CacheStore(resolve(dir), log);
    const locks = join(s.dir, 'locks');
    try {
      for (const d of [s.segments.dir, s.usage, s.sources, locks]) mkdirSync(d, { recursive: true });
      const vf = join(s.dir, 'CACHE_VERSION');
      if (!existsSync(vf)) writeFileSync(vf, CACHE_FORMAT + '\n');
      const v = readFileSync(vf, 'utf8').trim();
      if (v !== CACHE_FORMAT) throw new AtcError('ATC_ERR_CACHE', `${s.dir}: cache format ${v}, this tool reads ${CACHE_FORMAT}; use another --cache or \`atc cache clear\``);
    } catch (e) {
      if (e instanceof AtcError) throw e;
      throw new AtcError('ATC_ERR_CACHE', `${s.dir}: cannot use as a cache: ${(e as Error).message}`, { cause: e });
    }
    s.lock = lock === 'shared' ? CacheLock.shared(locks, s.dir) : CacheLock.exclusive(locks, s.dir);
    return s;
  }

  close(): void {
    this.lock?.release();
    this.lock = undefined;
  }

  usageFiles(): string[] {
    return readdirSync(this.usage)
      .filter((n) => n.endsWith('.parquet') && !n.startsWith('.'))
      .sort()
      .map((n) => join(this.usage, n));
  }

  /** Total bytes of the cache's files. */
  bytes(): number {
    let n = 0;
    for (const d of [this.segments.dir, this.usage, this.sources]) for (const f of readdirSync(d)) n += statSync(join(d, f)).size;
    return n;
  }
}
