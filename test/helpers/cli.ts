// Spawn the real CLI (dist/, built by `npm test` before vitest runs).

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { query } from './golden.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function atc(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start `atc run` into `out`, SIGKILL it once `commits` chunks are committed; true if the kill landed (it did not end first). */
export function runAndKill(out: string, commits: number, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', '--out', out, ...args]);
    const manifest = join(out, 'manifest.jsonl');
    const timer = setInterval(() => {
      const lines = existsSync(manifest) ? readFileSync(manifest, 'utf8').split('\n').filter(Boolean).length : 0;
      if (lines >= commits) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

export function tempDir(prefix = 'atc-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write a Parquet file from a SELECT (DuckDB SQL). */
export async function parquetFrom(file: string, select: string): Promise<string> {
  await query(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}
