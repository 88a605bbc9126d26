// Reliability at the edges, continued: a disk that fills under --out or --cache, and kernel
// workers that throw, exit or run out of memory. Each ends in a coded error naming the place,
// nothing half-written, and the same command run again finishes with the results of an
// uninterrupted run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { atc, tempDir } from '../helpers/cli.js';
import { generated } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

async function differ(a: string, b: string): Promise<number> {
  const r = await query(`SELECT (SELECT count(*) FROM (SELECT * FROM '${a}' EXCEPT ALL SELECT * FROM '${b}')) + (SELECT count(*) FROM (SELECT * FROM '${b}' EXCEPT ALL SELECT * FROM '${a}')) AS n`);
  return Number(r[0]?.n);
}

async function sameTables(whole: string, out: string, tables: string[]): Promise<void> {
  for (const t of tables) expect(await differ(join(whole, `${t}.parquet`), join(out, `${t}.parquet`)), t).toBe(0);
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

/** No temporary file anywhere, and every committed file of the manifest is there. */
function nothingHalfWritten(out: string): void {
  expect(files(out).filter((f) => /\.tmp|\/\.tmp-/.test(f) || f.startsWith('.tmp-'))).toEqual([]);
  const manifest = join(out, 'manifest.jsonl');
  if (!existsSync(manifest)) return;
  const text = readFileSync(manifest, 'utf8');
  for (const line of text.split('\n').filter(Boolean)) {
    for (const f of (JSON.parse(line) as { files: string[] }).files) expect(existsSync(join(out, f)), f).toBe(true);
  }
}

/** A tmpfs of `size` at `dir` (root mounts one on these machines); false, with a message, where mounting is refused. */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (m.status !== 0) console.warn(`skipped: cannot mount a tmpfs (${String(m.stderr).trim()})`);
  return m.status === 0;
}

const grow = (dir: string): void => {
  expect(spawnSync('mount', ['-o', 'remount,size=64m', dir]).status).toBe(0);
};

describe('a full disk', () => {
  const dir = tempDir();
  const whole = join(dir, 'whole');
  let args: string[] = [];
  beforeAll(async () => {
    const data = await generated(dir, 600, 1_000, 3);
    args = ['--data', data, '--outputs', 'summary,stats,trades', '--chunk-bars', '60000', '--quiet'];
    expect((await atc(['run', ...args, '--no-cache', '--out', whole])).code).toBe(0);
  });

  it('under --out: ATC_ERR_DISK_FULL naming the path, no temporary or half-committed file; after freeing space the rerun equals an uninterrupted run', async () => {
    const disk = join(dir, 'disk-out');
    if (!mountTmpfs(disk, '1m')) return;
    try {
      const out = join(disk, 'o');
      const r = await atc(['run', ...args, '--no-cache', '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`ATC_ERR_DISK_FULL: ${disk}/o/\\S+: no space left on the device .*run the same command again to resume`));
      nothingHalfWritten(out);
      grow(disk);
      const again = await atc(['run', ...args, '--no-cache', '--out', out]);
      expect(again.code, again.stderr).toBe(0);
      await sameTables(whole, out, ['summary', 'stats', 'trades']);
    } finally {
      spawnSync('umount', [disk]);
    }
  });

  it('under --cache: ATC_ERR_DISK_FULL naming the path, the cache still verifies; after freeing space the rerun equals an uninterrupted run', async () => {
    const disk = join(dir, 'disk-cache');
    if (!mountTmpfs(disk, '2m')) return;
    try {
      const cache = join(disk, 'c');
      const out = join(dir, 'o');
      const r = await atc(['run', ...args, '--cache', cache, '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`ATC_ERR_DISK_FULL: ${cache}/\\S+: no space left on the device`));
      expect(files(cache).filter((f) => f.includes('.tmp'))).toEqual([]);
      const v = await atc(['cache', 'verify', '--cache', cache]);
      expect([v.code, v.stdout]).toEqual([0, expect.stringMatching(/0 failed their sha256/)]);
      nothingHalfWritten(out);
      grow(disk);
      const again = await atc(['run', ...args, '--cache', cache, '--out', out]);
      expect(again.code, again.stderr).toBe(0);
      await sameTables(whole, out, ['summary', 'stats', 'trades']);
      const v2 = await atc(['cache', 'verify', '--cache', cache]);
      expect([v2.code, v2.stdout]).toEqual([0, expect.stringMatching(/0 failed their sha256/)]);
    } finally {
      spawnSync('umount', [disk]);
    }
  });
});

describe('failing kernel workers', () => {
  it('a worker that throws, then one that exits, then one over its memory limit: ATC_ERR_WORKER naming the chunk each time, nothing half-committed; the rerun completes', async () => {
    const dir = tempDir();
    const data = await generated(dir, 40, 1_000, 3);
    const args = ['--data', data, '--chunk-bars', '4000', '--workers', '2', '--outputs', 'summary,stats,trades', '--no-cache', '--quiet'];
    const whole = join(dir, 'whole');
    expect((await atc(['run', ...args, '--out', whole])).code).toBe(0);
    const out = join(dir, 'o');
    const committed = (): string[] => readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).flatMap((l) => (JSON.parse(l) as { symbols: string[] }).symbols);
    // chunks of 4 symbols (1,000 bars each); each failing run resumes what the previous committed
    const faults = [
      ['throw', 'S00011', /chunk #2 \(4 series, S00008 \.\. S00011, parameter-set group 0\): injected fault/],
      ['exit', 'S00023', /chunk #\d+ \(4 series, S00020 \.\. S00023, parameter-set group 0\): worker exited with code: 3/],
      ['oom', 'S00035', /chunk #\d+ \(4 series, S00032 \.\. S00035, parameter-set group 0\): .*memory limit/],
    ] as const;
    for (const [kind, symbol, message] of faults) {
      const r = await atc(['run', ...args, '--out', out], { ATC_TEST_FAULT: `${kind}@${symbol}`, ATC_WORKER_HEAP_MB: '64' });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^atc: ATC_ERR_WORKER: a kernel worker failed on chunk .*run the same command again to resume\n$/);
      expect(r.stderr, kind).toMatch(message);
      nothingHalfWritten(out);
      expect(committed()).not.toContain(symbol);
    }
    const before = committed();
    expect(new Set(before).size).toBe(before.length); // no symbol committed twice
    const again = await atc(['run', ...args, '--out', out, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).resumedSymbols).toBe(before.length);
    await sameTables(whole, out, ['summary', 'stats', 'trades']);
  });
});
