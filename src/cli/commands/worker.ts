// `atc worker --queue redis://host:port[/db]`: takes shards (and merges) of runs submitted with
// `atc run --queue` until stopped. SIGTERM or Ctrl-C finishes the current shard and exits; a
// second signal exits at once (the shard's lock lapses and another worker takes it).

import { parseQueueUrl } from '../../distributed/broker.js';
import { runWorker } from '../../distributed/queue.js';
import { UsageError } from '../../errors.js';
import type { Command } from '../args.js';
import type { Io } from '../io.js';

export function workerCommand(io: Io): Command {
  return {
    name: 'worker',
    describe: 'compute shards of runs submitted with `atc run --queue` (until SIGTERM)',
    flags: {
      queue: { type: 'string', required: true, describe: 'the broker: redis://[user:password@]host:port[/db]' },
      workers: { type: 'string', describe: "kernel worker threads per shard [the run's --workers]" },
    },
    run: async (argv) => {
      const u = parseQueueUrl(String(argv.queue));
      const workers = argv.workers === undefined ? undefined : Number(argv.workers);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new UsageError(`--workers must be a positive integer, got ${argv.workers}`);
      const ac = new AbortController();
      let stops = 0;
      const stop = (s: NodeJS.Signals): void => {
        if (++stops > 1) process.exit(s === 'SIGINT' ? 130 : 143);
        io.err(`atc: ${s}: finishing the current shard, then exiting (again: exit at once)\n`);
        ac.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        const r = await runWorker(u, { workers, log: (m) => io.err(`atc: ${m}\n`), signal: ac.signal });
        io.err(`atc: worker stopped after ${r.shards} shard(s) and ${r.merges} merge(s)\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    },
  };
}
