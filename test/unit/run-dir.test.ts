// The commit protocol that makes runs resumable: temp files + rename + one manifest line.

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, RunDir, runKey } from '../../src/results/run-dir.js';
import { tempDir } from '../helpers/cli.js';

const parts = { params: { lambda: 0.02 }, data: [{ path: 'x', bytes: 1, mtimeMs: 1 }] };
const key = runKey(parts);

function commitOne(rd: RunDir, symbols: string[], name: string): void {
  const f = rd.tempFile('signals', name);
  writeFileSync(f.temp, name);
  rd.commit({ group: symbols.includes('G1') ? 1 : 0, symbols, files: [f], bars: 10, rejects: 0 });
}

describe('RunDir', () => {
  it('commits chunks, and a reopened run knows what is done', () => {
    const dir = tempDir();
    const rd = RunDir.open(dir, key, parts, false);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).status).toBe('running');
    commitOne(rd, ['A', 'B'], 'p1.parquet');
    commitOne(rd, ['C'], 'p2.parquet');
    rd.close();
    const again = RunDir.open(dir, key, parts, false);
    expect([...again.doneSymbols(0)].sort()).toEqual(['A', 'B', 'C']);
    expect(again.committedBars()).toBe(20);
    expect(again.doneSymbols(1).size).toBe(0);
    expect(readFileSync(join(dir, 'signals', 'p1.parquet'), 'utf8')).toBe('p1.parquet');
  });

  it('keeps what is done per group of parameter sets', () => {
    const dir = tempDir();
    const rd = RunDir.open(dir, key, parts, false);
    commitOne(rd, ['A'], 'p1.parquet');
    commitOne(rd, ['G1', 'A'], 'p2.parquet');
    rd.close();
    const again = RunDir.open(dir, key, parts, false);
    expect([...again.doneSymbols(0)]).toEqual(['A']);
    expect([...again.doneSymbols(1)].sort()).toEqual(['A', 'G1']);
  });

  it('a reopened run deletes temporary and unlisted files and ignores a cut manifest line', () => {
    const dir = tempDir();
    const rd = RunDir.open(dir, key, parts, false);
    commitOne(rd, ['A'], 'p1.parquet');
    const t = rd.tempFile('signals', 'p2.parquet');
    writeFileSync(t.temp, 'half written');
    writeFileSync(join(dir, 'signals', 'p3.parquet'), 'renamed but not recorded');
    appendFileSync(join(dir, 'manifest.jsonl'), '{"symbols":["B"],"files":["signals/p3.par'); // a kill mid-write
    rd.close();
    const again = RunDir.open(dir, key, parts, false);
    expect([...again.doneSymbols(0)]).toEqual(['A']);
    expect(existsSync(t.temp)).toBe(false);
    expect(existsSync(join(dir, 'signals', 'p3.parquet'))).toBe(false);
    expect(existsSync(join(dir, 'signals', 'p1.parquet'))).toBe(true);
    // the cut line is gone, so the next commit is a line of its own (it was glued to it before)
    commitOne(again, ['C'], 'p4.parquet');
    again.close();
    expect([...RunDir.open(dir, key, parts, false).doneSymbols(0)].sort()).toEqual(['A', 'C']);
  });

  it('a failed write leaves no temporary file: close() and the next open remove them', () => {
    const dir = tempDir();
    const rd = RunDir.open(dir, key, parts, false);
    const t = rd.tempFile('parts/stats', 'p1.parquet');
    writeFileSync(t.temp, 'cut short by a full disk');
    writeFileSync(join(dir, 'trades.parquet.tmp'), 'cut short');
    rd.close();
    expect([existsSync(t.temp), existsSync(join(dir, 'trades.parquet.tmp'))]).toEqual([false, false]);
    writeFileSync(join(dir, '.params.parquet.tmp'), 'left by a killed run');
    RunDir.open(dir, key, parts, false).close();
    expect(existsSync(join(dir, '.params.parquet.tmp'))).toBe(false);
  });

  it('refuses the results of another run, naming what differs, unless overwrite', () => {
    const dir = tempDir();
    const first = RunDir.open(dir, key, parts, false);
    commitOne(first, ['A'], 'p1.parquet');
    first.close();
    const other = { ...parts, params: { lambda: 0.03 } };
    expect(() => RunDir.open(dir, runKey(other), other, false)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_OUTPUT_EXISTS', message: expect.stringMatching(/differs in: params/) }));
    const fresh = RunDir.open(dir, runKey(other), other, true);
    expect(fresh.doneSymbols(0).size).toBe(0);
    expect(existsSync(join(dir, 'signals', 'p1.parquet'))).toBe(false);
  });

  it('refuses a directory with result-like files it did not record', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'signals'));
    expect(() => RunDir.open(dir, key, parts, false)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_OUTPUT_EXISTS' }));
  });

  it('one run at a time: a second is refused at once; a lock left by a killed process does not block', () => {
    const dir = tempDir();
    const rd = RunDir.open(dir, key, parts, false);
    expect(() => RunDir.open(dir, key, parts, false)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_OUTPUT_BUSY', message: expect.stringMatching(/pid/) }));
    rd.close();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), pid: 999_999 }));
    RunDir.open(dir, key, parts, false).close();
  });

  it('a file where the directory should be, or a missing parent, is ATC_ERR_OUTPUT_PATH naming it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => RunDir.open(join(dir, 'file'), key, parts, false)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_OUTPUT_PATH', message: expect.stringMatching(/file: is a file/) }));
    expect(() => RunDir.open(join(dir, 'no', 'such'), key, parts, false)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_OUTPUT_PATH', message: expect.stringMatching(/parent .* does not exist/) }));
  });
});
