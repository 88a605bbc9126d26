// A run's output directory and its commit protocol (what makes `atc run` resumable).
//
//   <out>/run.json          the run's key (hash of everything that determines its results),
//                           status running|complete, then parameters, engine, timings, counts
//   <out>/manifest.jsonl    one line per commit: its parameter-set group, symbols, files
//   <out>/signals/*.parquet committed parts; <out>/rejects/*.parquet likewise
//   <out>/parts/{summary,stats,trades,portfolio}/*.parquet   committed parts of the tables
//                           below, consolidated when the run completes
//   <out>/summary.parquet, stats.parquet, trades.parquet, portfolio.parquet,
//   portfolio_stats.parquet, params.parquet, rejects.parquet
//
// A commit's files are written under temporary names, renamed, and only then is its manifest
// line appended (one write). A killed run leaves at most temporary or unlisted files; reopening
// deletes them, and the symbols of listed commits are not computed again (per group of
// parameter sets). A trailing partial manifest line (a write cut short) is ignored.

import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AtcError } from '../errors.js';
import { describeHolder, tryLock } from '../util/lock-file.js';

export const TABLE_FILES = ['summary.parquet', 'stats.parquet', 'trades.parquet', 'portfolio.parquet', 'portfolio_stats.parquet', 'params.parquet', 'rejects.parquet'] as const;
export const RUN_FILES = ['run.json', 'manifest.jsonl', 'signals', 'rejects', 'parts', ...TABLE_FILES] as const;
export const PART_DIRS = ['signals', 'rejects', 'parts/summary', 'parts/stats', 'parts/trades', 'parts/portfolio'] as const;
export type PartDir = (typeof PART_DIRS)[number];

export interface RunKeyParts {
  [k: string]: unknown;
}

export interface CommitEntry {
  /** the group of parameter sets these results belong to */
  group: number;
  /** symbols completed by this commit */
  symbols: string[];
  /** temporary files -> final paths (relative to the run dir) */
  files: { temp: string; final: string }[];
  bars: number;
  rejects: number;
}

interface ManifestLine {
  group: number;
  symbols: string[];
  files: string[];
  bars: number;
  rejects: number;
}

export function runKey(parts: RunKeyParts): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export interface RunJson {
  key: string;
  keyParts: RunKeyParts;
  status: 'running' | 'complete';
  [k: string]: unknown;
}

/** The lock a run holds on its directory (one run writes into a directory at a time). */
export const LOCK_FILE = '.atc-lock';

/**
 * A directory a run can write into: an existing directory (or a new one in an existing
 * parent), writable. ATC_ERR_OUTPUT_PATH naming the path otherwise, before any work is done.
 */
export function checkWritableDir(dir: string, what: string): void {
  const fail = (why: string): never => {
    throw new AtcError('ATC_ERR_OUTPUT_PATH', `${what} ${dir}: ${why}`);
  };
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) fail('is a file, not a directory');
  if (!st) {
    const parent = dirname(resolve(dir));
    if (!statSync(parent, { throwIfNoEntry: false })?.isDirectory()) fail(`its parent ${parent} does not exist`);
    try {
      mkdirSync(dir);
    } catch (e) {
      fail(`cannot be created: ${(e as Error).message}`);
    }
  }
  const probe = join(dir, `.atc-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    fail(`is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export class RunDir {
  private readonly committed: ManifestLine[] = [];
  private tempSeq = 0;
  private locked = false;

  private constructor(readonly dir: string) {}

  /**
   * Open `dir` for the run with `key`: start fresh, resume a killed run of the same key, or
   * refuse (ATC_ERR_OUTPUT_EXISTS) results of another run unless `overwrite`.
   */
  static open(dir: string, key: string, keyParts: RunKeyParts, overwrite: boolean): RunDir {
    checkWritableDir(dir, '--out');
    const rd = new RunDir(dir);
    const holder = tryLock(join(dir, LOCK_FILE));
    if (holder) throw new AtcError('ATC_ERR_OUTPUT_BUSY', `${dir}: another run is writing into this directory (${describeHolder(holder)}); wait for it, or use another --out`);
    rd.locked = true;
    try {
      rd.prepare(key, keyParts, overwrite);
    } catch (e) {
      rd.close();
      throw e;
    }
    return rd;
  }

  /** Release the directory for the next run. */
  close(): void {
    if (!this.locked) return;
    this.removeTemps();
    rmSync(join(this.dir, LOCK_FILE), { force: true });
    this.locked = false;
  }

  /** Delete temporary files (a write that failed, e.g. on a full disk, leaves its own). */
  private removeTemps(): void {
    const temp = (f: string): boolean => f.startsWith('.tmp-') || /\.tmp(-\d+)?$/.test(f);
    for (const f of readdirSync(this.dir)) if (temp(f)) rmSync(join(this.dir, f), { force: true });
    for (const d of PART_DIRS) {
      const p = join(this.dir, d);
      if (existsSync(p)) for (const f of readdirSync(p)) if (temp(f)) rmSync(join(p, f), { force: true });
    }
  }

  private prepare(key: string, keyParts: RunKeyParts, overwrite: boolean): void {
    const dir = this.dir;
    const runJson = join(dir, 'run.json');
    if (overwrite) this.clear();
    else if (existsSync(runJson)) {
      const prev = JSON.parse(readFileSync(runJson, 'utf8')) as RunJson;
      if (prev.key !== key) {
        const differs = Object.keys({ ...prev.keyParts, ...keyParts })
          .filter((k) => JSON.stringify(prev.keyParts?.[k]) !== JSON.stringify(keyParts[k]))
          .join(', ');
        throw new AtcError('ATC_ERR_OUTPUT_EXISTS', `${dir} holds results of a different run (differs in: ${differs || 'key'}); pass --overwrite to replace them`);
      }
    } else if (RUN_FILES.some((f) => existsSync(join(dir, f)))) {
      throw new AtcError('ATC_ERR_OUTPUT_EXISTS', `${dir} holds files this tool did not record (${RUN_FILES.filter((f) => existsSync(join(dir, f))).join(', ')}); pass --overwrite to replace them`);
    }
    mkdirSync(dir, { recursive: true });
    for (const d of PART_DIRS) mkdirSync(join(dir, d), { recursive: true });
    this.readManifest();
    this.removeUnlisted();
    this.removeTemps();
    if (!existsSync(runJson)) this.writeRunJson({ key, keyParts, status: 'running' });
  }

  private clear(): void {
    for (const f of RUN_FILES) rmSync(join(this.dir, f), { recursive: true, force: true });
  }

  private readManifest(): void {
    const p = join(this.dir, 'manifest.jsonl');
    if (!existsSync(p)) return;
    const text = readFileSync(p, 'utf8');
    // a last line cut short (a kill, a full disk) is dropped, or the next commit would extend it
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) truncateSync(p, Buffer.byteLength(text.slice(0, end)));
    for (const line of text.slice(0, end).split('\n')) {
      if (!line.trim()) continue;
      try {
        this.committed.push(JSON.parse(line) as ManifestLine);
      } catch {
        // a line cut short by a kill: its chunk was not committed
      }
    }
  }

  /** Delete temporary and unlisted part files (left by a killed run). */
  private removeUnlisted(): void {
    const listed = new Set(this.committed.flatMap((c) => c.files));
    for (const d of PART_DIRS) {
      for (const f of readdirSync(join(this.dir, d))) {
        const rel = `${d}/${f}`;
        if (!listed.has(rel)) rmSync(join(this.dir, rel), { force: true });
      }
    }
    if (!this.isComplete()) for (const f of TABLE_FILES) rmSync(join(this.dir, f), { force: true });
  }

  isComplete(): boolean {
    const p = join(this.dir, 'run.json');
    return existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as RunJson).status === 'complete';
  }

  /** Symbols of parameter-set group `group` finished by earlier (killed) runs of this job. */
  doneSymbols(group: number): Set<string> {
    return new Set(this.committed.filter((c) => (c.group ?? 0) === group).flatMap((c) => c.symbols));
  }

  committedSymbols(): number {
    return this.committed.reduce((a, c) => a + c.symbols.length, 0);
  }

  committedBars(): number {
    return this.committed.reduce((a, c) => a + c.bars, 0);
  }

  committedRejects(): number {
    return this.committed.reduce((a, c) => a + c.rejects, 0);
  }

  /** A fresh temporary path in part directory `sub`, and the final path it will get. */
  tempFile(sub: PartDir, finalName: string): { temp: string; final: string } {
    return { temp: join(this.dir, sub, `.tmp-${process.pid}-${++this.tempSeq}-${finalName}`), final: `${sub}/${finalName}` };
  }

  commit(e: CommitEntry): void {
    for (const f of e.files) renameSync(f.temp, join(this.dir, f.final));
    const line: ManifestLine = { group: e.group, symbols: e.symbols, files: e.files.map((f) => f.final), bars: e.bars, rejects: e.rejects };
    appendFileSync(join(this.dir, 'manifest.jsonl'), JSON.stringify(line) + '\n');
    this.committed.push(line);
  }

  /** Discard temporary files that will not be committed. */
  discard(files: { temp: string }[]): void {
    for (const f of files) rmSync(f.temp, { force: true });
  }

  readRunJson(): RunJson {
    return JSON.parse(readFileSync(join(this.dir, 'run.json'), 'utf8')) as RunJson;
  }

  writeRunJson(j: RunJson): void {
    const p = join(this.dir, 'run.json');
    const tmp = join(this.dir, `.run.json.tmp-${process.pid}`);
    writeFileSync(tmp, JSON.stringify(j, null, 2) + '\n');
    renameSync(tmp, p);
  }

  partFiles(sub: PartDir): string[] {
    return this.committed.flatMap((c) => c.files).filter((f) => f.startsWith(`${sub}/`)).map((f) => join(this.dir, f));
  }
}

/** What identifies input files cheaply: path, size, modification time. */
export function fileFingerprint(files: string[]): { path: string; bytes: number; mtimeMs: number }[] {
  return files.map((f) => {
    if (/[*?[]/.test(basename(f))) return { path: f, bytes: -1, mtimeMs: -1 };
    const st = statSync(f);
    return { path: f, bytes: st.size, mtimeMs: Math.round(st.mtimeMs) };
  });
}
