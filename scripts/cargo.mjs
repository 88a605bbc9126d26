// Where cargo is: $CARGO, PATH, or $CARGO_HOME/bin (~/.cargo/bin), which npm's PATH may lack.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export function findCargo() {
  if (process.env.CARGO && existsSync(process.env.CARGO)) return process.env.CARGO;
  const exe = process.platform === 'win32' ? 'cargo.exe' : 'cargo';
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin')];
  return dirs.map((d) => d && join(d, exe)).find((p) => p && existsSync(p));
}
