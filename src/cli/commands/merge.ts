// `atc merge --out <dir>`: the shards computed with `atc run --shard i/n` become the run.

import { resolve } from 'node:path';
import { mergeShards } from '../../distributed/merge.js';
import type { Command } from '../args.js';
import type { Io } from '../io.js';

export function mergeCommand(io: Io): Command {
  return {
    name: 'merge',
    describe: 'merge the shards of a run (`atc run --shard i/n`) in --out into its results',
    flags: {
      out: { type: 'string', default: 'atc-out', describe: 'the run directory the shards were computed into' },
      json: { type: 'boolean', default: false },
    },
    run: async (argv) => {
      const r = await mergeShards(resolve(String(argv.out)), (m) => io.err(`atc: ${m}\n`));
      if (argv.json) io.out(JSON.stringify(r) + '\n');
      else if (r.alreadyComplete) io.out(`atc merge: ${r.out} already holds the complete results (${r.symbols} symbols)\n`);
      else io.out(`atc merge: ${r.shards} shards -> ${r.out}: ${r.symbols} symbols, ${r.bars.toLocaleString('en-US')} bars, ${r.rejects} rejects\n`);
    },
  };
}
