#!/usr/bin/env node
// Builds what `npm install` must leave behind (this is the root package's `install` script):
//   1. TypeScript -> dist/ (tsc from devDependencies; the report page's script too)
//   2. the Rust kernel (zero crates, offline) -> kernels/build/atc_kernel.node
// Without cargo the install still succeeds: it says so, records why in
// kernels/build/status.json, and the engine selector falls back to the TypeScript kernel.
// Flags: --ts (TypeScript only), --native (kernel only).
// Env: ATC_REQUIRE_NATIVE=1 makes a missing or failing kernel build an error (CI);
//      ATC_SKIP_NATIVE=1 skips it.

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCargo } from './cargo.mjs';
import { findNvcc } from './nvcc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const doTs = !args.has('--native');
const doNative = !args.has('--ts');
const require = process.env.ATC_REQUIRE_NATIVE === '1';
const say = (m) => process.stderr.write(`atc build: ${m}\n`);

function buildTs() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    if (existsSync(join(root, 'dist', 'src', 'cli', 'bin.js'))) return say('typescript not installed; using the existing dist/');
    say('typescript is not installed (npm install --omit=dev?): cannot build dist/');
    process.exit(1);
  }
  // the report page's script runs in a browser: its own config (DOM library), same dist/
  for (const config of ['tsconfig.json', 'tsconfig.page.json']) {
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, config)], { stdio: 'inherit', cwd: root });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  // tsc writes 0644: npx makes the bin executable only when it first links a checkout's path, so
  // a checkout cloned again at the same path would meet "atc: Permission denied"
  chmodSync(join(root, 'dist', 'src', 'cli', 'bin.js'), 0o755);
}

function status(s) {
  mkdirSync(join(root, 'kernels', 'build'), { recursive: true });
  const file = join(root, 'kernels', 'build', 'status.json');
  let old = {};
  try {
    old = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // first build
  }
  // the native kernel's fields and the CUDA engine's (`cuda`) are written by separate steps
  const next = 'cuda' in s ? { ...old, ...s } : { ...s, cuda: old.cuda };
  writeFileSync(file, JSON.stringify({ ...next, at: new Date().toISOString() }, null, 2) + '\n');
}

function noNative(reason) {
  status({ built: false, reason });
  if (require) {
    say(`the native kernel is required (ATC_REQUIRE_NATIVE=1) but was not built: ${reason}`);
    process.exit(1);
  }
  say(`${reason}`);
  say('the native kernel was not built: the TypeScript engine will be used (correct, but much slower).');
  say('install Rust (https://rustup.rs) and run `npm run build:native` to get the fast engine.');
}

function buildNative() {
  if (process.env.ATC_SKIP_NATIVE === '1') return noNative('skipped (ATC_SKIP_NATIVE=1)');
  const cargo = findCargo();
  if (!cargo) return noNative('cargo not found on PATH or in ~/.cargo/bin');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const manifest = join(root, 'kernels', 'Cargo.toml');
  const r = spawnSync(cargo, ['build', '--release', '--offline', '--manifest-path', manifest, '-p', 'atc-node'], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, ATC_PACKAGE_VERSION: version },
  });
  if (r.status !== 0) return noNative(`cargo build failed (exit ${r.status ?? r.signal})`);
  const lib = { linux: 'libatc_node.so', darwin: 'libatc_node.dylib', win32: 'atc_node.dll' }[process.platform] ?? 'libatc_node.so';
  const built = join(root, 'kernels', 'target', 'release', lib);
  if (!existsSync(built)) return noNative(`cargo did not produce ${built}`);
  const dest = join(root, 'kernels', 'build', 'atc_kernel.node');
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(built, dest);
  // Load it once in a child process, so that a broken binary cannot take this process down.
  const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(dest)}); process.stdout.write(a.version() + ' ' + a.paths())`], {
    encoding: 'utf8',
  });
  if (check.status !== 0) return noNative(`the built kernel does not load: ${(check.stderr || '').trim().split('\n').pop()}`);
  const [v, paths] = check.stdout.split(' ');
  status({ built: true, version: v, simdPaths: paths, cargo: spawnSync(cargo, ['--version'], { encoding: 'utf8' }).stdout.trim() });
  say(`native kernel ${v} built (SIMD paths on this CPU: ${paths})`);
  return true;
}

// The CUDA engine: optional, never fails the install (the Rust kernel says why it is missing).
function buildCuda(nativeBuilt) {
  const nvcc = findNvcc();
  const out = join(root, 'kernels', 'build', 'libatc_cuda.so');
  const skip = (reason) => {
    rmSync(out, { force: true }); // never leave an older engine to be loaded
    status({ cuda: { built: false, reason } });
    say(`CUDA engine not built: ${reason} (the CPU engines are used)`);
  };
  if (!nativeBuilt) return skip('the native kernel, which loads it, was not built');
  if (!nvcc) return skip(process.env.ATC_SKIP_CUDA === '1' ? 'skipped (ATC_SKIP_CUDA=1)' : 'nvcc not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin)');
  const r = spawnSync('sh', [join(root, 'kernels', 'cuda', 'build.sh'), 'device', out], { stdio: 'inherit', env: { ...process.env, NVCC: nvcc } });
  if (r.status !== 0) return skip(`nvcc failed (exit ${r.status ?? r.signal})`);
  status({ cuda: { built: true, nvcc } });
  say(`CUDA engine built: ${out} (sm_90 + PTX; used when a GPU is present)`);
}

if (doTs) buildTs();
if (doNative) buildCuda(buildNative() === true);
