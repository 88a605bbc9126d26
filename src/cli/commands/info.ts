// `atc info`: versions, the engine `auto` would pick and why, SIMD paths.

import type { Argv } from 'yargs';
import { loadNative } from '../../engine/native.js';
import { selectEngine } from '../../engine/select.js';
import { packageInfo } from '../../util/package-root.js';
import type { Io } from '../io.js';

export function infoCommand(y: Argv, io: Io): Argv {
  return y.command(
    'info',
    'show versions and which kernel engine is used',
    (c) => c.option('json', { type: 'boolean', default: false }),
    (argv) => {
      const n = loadNative();
      const choice = selectEngine('auto', () => undefined);
      const info = {
        version: packageInfo().version,
        node: process.version,
        engine: choice,
        native: n.ok ? { file: n.file, simdPaths: n.paths } : { file: n.file, unavailable: n.reason },
      };
      if (argv.json) io.out(JSON.stringify(info) + '\n');
      else {
        io.out(`atc ${info.version} (node ${info.node})\n`);
        io.out(`engine: ${choice.engine} (${choice.reason})\n`);
        io.out(n.ok ? `native kernel: ${n.file}\nSIMD paths: ${n.paths.join(', ')}\n` : `native kernel: unavailable: ${n.reason}\n`);
      }
    },
  );
}
