// Sampling a process from /proc (Linux): resident memory, its peak, open file descriptors.
// Used by scripts/edges-heavy.mjs and scripts/soak.mjs.

import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';

/** { rssKb, peakKb, fds } of `pid`, or undefined once it is gone. */
export function sample(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const s = { rssKb: kb('VmRSS'), peakKb: kb('VmHWM'), fds: readdirSync(`/proc/${pid}/fd`).length };
    // an exiting process (a zombie) has no memory lines
    return Number.isFinite(s.rssKb) && Number.isFinite(s.peakKb) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run `node args` to its end, sampling it every `everyMs`; resolves with the exit code, stderr,
 * the peak RSS (VmHWM, KB) and the samples ({ t seconds, rssKb, peakKb, fds }).
 */
export function runSampled(args, { everyMs = 200, env = process.env, onSample } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const samples = [];
    let peakKb = 0;
    const timer = setInterval(() => {
      const s = sample(child.pid);
      if (!s) return;
      peakKb = Math.max(peakKb, s.peakKb);
      const row = { t: (Date.now() - t0) / 1000, ...s };
      samples.push(row);
      onSample?.(row);
    }, everyMs);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, peakKb, samples, seconds: (Date.now() - t0) / 1000 });
    });
  });
}
