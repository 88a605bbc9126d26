// The package root, found from this file's location whether it runs from src/ (tests) or dist/.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | undefined;

export function packageInfo(): { root: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      const json = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'atc-backtest') {
        cached = { root: dir, version: json.version ?? '0.0.0' };
        return cached;
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('atc-backtest: cannot find the package root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
