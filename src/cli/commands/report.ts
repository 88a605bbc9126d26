// `atc report`: a self-contained HTML report of a run directory (src/report/).

import { UsageError } from '../../errors.js';
import { buildReport } from '../../report/index.js';
import { type Command, optional } from '../args.js';
import type { Io } from '../io.js';

export function reportCommand(io: Io): Command {
  return {
    name: 'report',
    describe: 'write one self-contained HTML file (charts, tables; no network) from the results of a run',
    flags: {
      out: { type: 'string', default: 'atc-out', describe: 'the run directory' },
      to: { type: 'string', describe: 'the HTML file [<out>/report.html]' },
      set: { type: 'string', describe: 'the parameter set shown (a param_id) [the only one; in a sweep, the best by median Sharpe]' },
      symbol: { type: 'string', array: true, describe: 'draw these symbols too (repeat the flag or separate with commas)' },
      top: { type: 'number', default: 10, describe: 'draw the top and bottom this many symbols by Sharpe' },
      quiet: { type: 'boolean', default: false, describe: 'print nothing' },
    },
    run: async (argv) => {
      const top = Number(argv.top);
      if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top must be an integer >= 0, got ${String(argv.top)}`);
      const symbols = ((argv.symbol as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      const r = await buildReport({ dir: String(argv.out), to: optional(argv, 'to'), set: optional(argv, 'set'), symbols, top, log: (m) => io.err(`atc: ${m}\n`) });
      if (!argv.quiet) {
        io.out(`atc report: wrote ${r.file} (${(r.bytes / 1e6).toFixed(2)} MB) in ${r.seconds.toFixed(2)} s: set ${r.set}, per-bar charts of ${r.drawn} symbols\n`);
      }
    },
  };
}
