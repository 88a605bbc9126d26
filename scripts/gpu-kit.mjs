#!/usr/bin/env node
// Prepares bench/gpu/kit/ (git-ignored) for bench/gpu/run.sh on a GPU machine where Node (and
// maybe cargo) is missing: the golden fixtures only Node can make (DuckDB), and prebuilt
// release binaries of the CUDA parity tests and the benchmark (used when that machine has no
// cargo). About 45 MB: carry it with the run (`carry: ["bench/gpu/kit"]`).
//   npm run build:ts && node scripts/gpu-kit.mjs

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCargo } from './cargo.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kit = join(root, 'bench', 'gpu', 'kit');
const cargo = findCargo();
if (!cargo) throw new Error('gpu-kit: cargo not found');
rmSync(kit, { recursive: true, force: true });
mkdirSync(join(kit, 'bin'), { recursive: true });
const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'gpu', 'fixtures.js'), join(kit, 'fixtures')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const manifest = join(root, 'kernels', 'Cargo.toml');
const exes = {};
for (const args of [['test', '--no-run'], ['build', '--example', 'gpu_bench']]) {
  const b = spawnSync(cargo, [...args, '--release', '--offline', '--manifest-path', manifest, '-p', 'atc-gpu', '--message-format=json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (b.status !== 0) process.exit(b.status ?? 1);
  for (const line of b.stdout.split('\n')) {
    const m = line.startsWith('{') ? JSON.parse(line) : undefined;
    if (m?.reason === 'compiler-artifact' && m.executable && ['parity', 'golden', 'gpu_bench'].includes(m.target.name)) exes[m.target.name] = m.executable;
  }
}
for (const [name, file] of Object.entries(exes)) copyFileSync(file, join(kit, 'bin', name));
const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
writeFileSync(join(kit, 'kit.json'), JSON.stringify({ commit, made: new Date().toISOString(), binaries: Object.keys(exes) }, null, 2) + '\n');
console.log(`gpu kit ready in ${kit}: fixtures, ${Object.keys(exes).join(', ')} (commit ${commit.slice(0, 12)})`);
