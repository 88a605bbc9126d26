// `atc status --queue redis://... [--run <id>]`: where queued runs stand, across workers.

import { parseQueueUrl } from '../../distributed/broker.js';
import { queueStatus } from '../../distributed/queue.js';
import { type Command, optional } from '../args.js';
import type { Io } from '../io.js';
import { table } from '../report.js';

export function statusCommand(io: Io): Command {
  return {
    name: 'status',
    describe: 'show the progress of runs submitted with `atc run --queue`',
    flags: {
      queue: { type: 'string', required: true, describe: 'the broker: redis://host:port[/db]' },
      run: { type: 'string', describe: 'one run (its shards); default: every run' },
      json: { type: 'boolean', default: false },
    },
    run: async (argv) => {
      const runs = await queueStatus(parseQueueUrl(String(argv.queue)), optional(argv, 'run'));
      if (argv.json) {
        io.out(JSON.stringify(runs) + '\n');
        return;
      }
      const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
      io.out(table(['run', 'state', 'shards done', 'bars', 'out'], runs.map((r) => [r.runId, r.state, `${r.shards.filter((s) => s.state === 'completed').length}/${r.shards.length}`, pct(r.progress.bars, r.progress.barsTotal), r.out])));
      if (argv.run) {
        for (const r of runs) {
          io.out(table(['shard', 'state', 'attempts', 'worker', 'bars', 'error'], r.shards.map((s) => [s.index, s.state, s.attempts, s.worker ?? '', s.progress ? pct(s.progress.bars, s.progress.barsTotal) : '-', s.error ?? ''])));
        }
      }
    },
  };
}
