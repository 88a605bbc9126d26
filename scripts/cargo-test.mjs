#!/usr/bin/env node
// Runs the Rust kernel's own tests (cargo test), or says why it cannot.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCargo } from './cargo.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cargo = findCargo();
if (!cargo) {
  if (process.env.ATC_REQUIRE_NATIVE === '1') {
    process.stderr.write('cargo-test: cargo not found but ATC_REQUIRE_NATIVE=1\n');
    process.exit(1);
  }
  process.stderr.write('cargo-test: cargo not found, skipping the Rust kernel tests\n');
  process.exit(0);
}
const r = spawnSync(cargo, ['test', '--release', '--offline', '--manifest-path', join(root, 'kernels', 'Cargo.toml'), '-p', 'atc-core'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
