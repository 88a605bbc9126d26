#!/usr/bin/env node
// `npm run test:cuda`: the CUDA engine's tests (kernels/gpu/tests: every golden file of both
// profiles, and Rust-vs-CUDA parity on random series and grids, bit for bit) through the real
// loader. Without a GPU they run through the host build (the same sources compiled by g++,
// computing on the CPU); where a GPU is usable they run through the device library too. Says
// which it did.
//   --if-nvcc   (npm test) skip with one line when nvcc is absent

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCargo } from './cargo.mjs';
import { findNvcc } from './nvcc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => process.stderr.write(`test:cuda: ${m}\n`);
const t0 = performance.now();
if (process.argv.includes('--if-nvcc') && !findNvcc()) {
  say('skipped: no nvcc here (or ATC_SKIP_CUDA=1), so no CUDA engine to test');
  process.exit(0);
}
const cargo = findCargo();
if (!cargo) {
  say('cargo not found: the CUDA engine is loaded and tested by the Rust kernel');
  process.exit(1);
}
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const work = mkdtempSync(join(tmpdir(), 'atc-test-cuda-'));
try {
  const host = join(work, 'libatc_cuda_host.so');
  run('sh', [join(root, 'kernels', 'cuda', 'build.sh'), 'host', host]);
  const fixtures = join(work, 'fixtures');
  run(process.execPath, [join(root, 'dist', 'bench', 'gpu', 'fixtures.js'), fixtures]);
  const test = (lib, extra = {}) =>
    run(cargo, ['test', '--offline', '--manifest-path', join(root, 'kernels', 'Cargo.toml'), '-p', 'atc-gpu'], {
      ATC_CUDA_LIB: lib,
      ATC_CUDA_FIXTURES: fixtures,
      ATC_CUDA_TEST_REQUIRE: '1',
      ...extra,
    });
  test(host);
  // The Node path: createJobKernel(sets, 'cuda') against the TypeScript oracle, a sweep through
  // the pipeline against the Rust engine.
  run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/unit/backtest.test.ts', 'test/e2e/backtest.test.ts', '-t', 'cuda|CUDA'], { ATC_CUDA_LIB: host });
  let ran = 'the host build';
  // The device library (npm install builds it when nvcc is present), where a GPU is usable.
  const device = join(root, 'kernels', 'build', 'libatc_cuda.so');
  const native = join(root, 'kernels', 'build', 'atc_kernel.node');
  if (existsSync(device) && existsSync(native)) {
    const probe = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(native)}).gpuInfo()))`], {
      encoding: 'utf8',
      env: { ...process.env, ATC_CUDA_LIB: device },
    });
    const info = probe.status === 0 ? JSON.parse(probe.stdout) : { ok: false, reason: (probe.stderr || '').trim() };
    if (info.ok && info.kind === 'gpu') {
      test(device, { ATC_CUDA_TEST_GPU: '1' });
      ran = `the host build and the device (${info.name})`;
    } else {
      ran += ` (no GPU here: ${info.reason})`;
    }
  }
  say(`passed through ${ran} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
