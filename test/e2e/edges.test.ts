// Reliability at the edges (part of the reliability issue): empty input, interrupts, two runs
// into one directory, unwritable places. Each ends in a coded error or a clean stop, nothing
// half-written, and a rerun finishes the job.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atc, BIN, parquetFrom, tempDir } from '../helpers/cli.js';
import { generated } from '../helpers/fixtures.js';
import { query } from '../helpers/golden.js';

async function differ(a: string, b: string): Promise<number> {
  const r = await query(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})) + (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a})) AS n`);
  return Number(r[0]?.n);
}

const commits = (out: string): number => (existsSync(join(out, 'manifest.jsonl')) ? readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0);

/** Start `atc run`, send `signal` once `after` commits are in (twice if `twice`); resolves with the exit code and stderr. */
function runAndSignal(args: string[], out: string, signal: NodeJS.Signals, after: number, twice = false): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', '--out', out, ...args], { env: { ...process.env, ATC_CACHE_DIR: 'off' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setInterval(() => {
      if (commits(out) >= after) {
        clearInterval(timer);
        child.kill(signal);
        if (twice) setTimeout(() => child.kill(signal), 20);
      }
    }, 5);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stderr });
    });
  });
}

describe('edges', () => {
  it('an empty source, or one whose every row is rejected, is ATC_ERR_NO_BARS naming the source', async () => {
    const dir = tempDir();
    const empty = await parquetFrom(join(dir, 'empty.parquet'), `SELECT 'A'::VARCHAR AS symbol, TIMESTAMP '2020-01-01' AS ts, 1.0::DOUBLE AS close WHERE false`);
    const r = await atc(['run', '--data', empty, '--out', join(dir, 'o1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ATC_ERR_NO_BARS: .*empty\.parquet: the source has no rows/);
    const bad = await parquetFrom(join(dir, 'bad.parquet'), `SELECT 'A' AS symbol, TIMESTAMP '2020-01-01' + INTERVAL (i) DAY AS ts, -1.0::DOUBLE AS close FROM range(100) r(i)`);
    const d = await atc(['run', '--data', bad, '--out', join(dir, 'o2'), '--bad-rows', 'drop']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/ATC_ERR_NO_BARS: .*bad\.parquet: no symbol has bars to compute/);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s stops taking chunks, commits what finished, exits %i; a rerun equals an uninterrupted run', async (signal, exit) => {
    const dir = tempDir();
    const data = await generated(dir, 80, 3_000, 3);
    const args = ['--data', data, '--chunk-bars', '6000', '--workers', '2', '--outputs', 'summary,stats,trades', '--no-cache'];
    expect((await atc(['run', ...args, '--out', join(dir, 'whole'), '--quiet'])).code).toBe(0);
    const out = join(dir, 'cut');
    const r = await runAndSignal(args, out, signal, 2);
    expect(r.code, r.stderr).toBe(exit);
    expect(r.stderr).toMatch(/run the same command again to resume/);
    expect(commits(out)).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status).toBe('running');
    const again = await atc(['run', ...args, '--out', out, '--json', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).resumedSymbols).toBeGreaterThan(0);
    for (const t of ['summary', 'stats', 'trades']) expect(await differ(`'${join(dir, 'whole', `${t}.parquet`)}'`, `'${join(out, `${t}.parquet`)}'`), t).toBe(0);
  });

  it('a second SIGINT exits at once; the rerun still completes', async () => {
    const dir = tempDir();
    const data = await generated(dir, 40, 3_000, 4);
    const args = ['--data', data, '--chunk-bars', '6000', '--workers', '1', '--no-cache'];
    const out = join(dir, 'cut');
    const r = await runAndSignal(args, out, 'SIGINT', 1, true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT again: stopping at once/);
    expect((await atc(['run', ...args, '--out', out, '--quiet'])).code).toBe(0);
  });

  it('a second run into the same directory fails at once; the first is unaffected', async () => {
    const dir = tempDir();
    // the TypeScript engine: slow enough that the first run is still going
    const data = await generated(dir, 200, 3_000, 6);
    const out = join(dir, 'o');
    const args = ['run', '--data', data, '--out', out, '--engine', 'ts', '--workers', '1', '--no-cache', '--quiet'];
    const first = spawn(process.execPath, [BIN, ...args]);
    const done = new Promise<number | null>((r) => first.on('exit', r));
    while (!existsSync(join(out, '.atc-lock'))) await new Promise((r) => setTimeout(r, 5));
    const second = await atc(args);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/ATC_ERR_OUTPUT_BUSY: .*another run is writing into this directory \(pid \d+\)/);
    expect(first.exitCode).toBe(null); // refused while the first still runs, not after waiting for it
    expect(await done).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status).toBe('complete');
    expect(existsSync(join(out, '.atc-lock'))).toBe(false);
  });

  it('unwritable places are coded errors before any work: --out a file, a missing parent, a read-only --out or --cache', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const a = await atc(['run', '--out', join(dir, 'file'), '--no-cache']);
    expect([a.code, a.stderr]).toEqual([1, expect.stringMatching(/ATC_ERR_OUTPUT_PATH: --out .*file: is a file/)]);
    const b = await atc(['run', '--out', join(dir, 'no', 'such'), '--no-cache']);
    expect([b.code, b.stderr]).toEqual([1, expect.stringMatching(/ATC_ERR_OUTPUT_PATH: --out .*its parent .* does not exist/)]);
    const c = await atc(['run', '--out', join(dir, 'o'), '--cache', join(dir, 'file')]);
    expect([c.code, c.stderr]).toEqual([1, expect.stringMatching(/ATC_ERR_CACHE: .*file/)]);
    // read-only: a read-only tmpfs (root mounts one here; skipped where mounting is refused)
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
    if (m.status !== 0) {
      console.warn(`skipped the read-only case: cannot mount a tmpfs (${String(m.stderr).trim()})`);
      return;
    }
    try {
      const d = await atc(['run', '--out', ro, '--no-cache']);
      expect([d.code, d.stderr]).toEqual([1, expect.stringMatching(/ATC_ERR_OUTPUT_PATH: --out .*ro: is not writable: EROFS/)]);
      const e = await atc(['run', '--out', join(dir, 'o2'), '--cache', ro]);
      expect([e.code, e.stderr]).toEqual([1, expect.stringMatching(/ATC_ERR_CACHE: .*ro/)]);
      expect(existsSync(join(dir, 'o2', 'run.json'))).toBe(false);
    } finally {
      spawnSync('umount', [ro]);
    }
  });

  it('more passes than chunk slots: a sweep of per-bar outputs (one set per pass) completes (a slot leaked per pass before)', async () => {
    const dir = tempDir();
    // 2 workers: 4 slots; 6 sets with signals: 6 passes
    const r = await atc(['run', '--outputs', 'stats,signals', '--lambda', '0.01:0.06:0.01', '--workers', '2', '--no-cache', '--out', join(dir, 'o'), '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sets: 6, passes: 6, symbols: 29 });
    const [n] = await query(`SELECT count(DISTINCT param_id) AS k, count(*) AS n FROM read_parquet('${join(dir, 'o')}/signals/*.parquet')`);
    expect([Number(n?.k), Number(n?.n)]).toEqual([6, 6 * 33_069]);
  });
});
