// `atc run`: the backtest job over a bar source (default: the embedded sample); one parameter
// set, or a sweep when a parameter flag holds a list or a range. A client of backtest().

import { backtestWith } from '../../api/backtest.js';
import { progressPrinter } from '../../pipeline/progress.js';
import type { Command } from '../args.js';
import { distributedOptions, runDistributed } from '../distributed.js';
import { interruptible, type Io } from '../io.js';
import { jobOptions, optionsFromArgv, paramOptions, progressMode } from '../options.js';
import { printRunReport } from '../report.js';

export function runCommand(io: Io): Command {
  return {
    name: 'run',
    describe: 'backtest every symbol of a bar source (default: the embedded sample) under one parameter set or a grid',
    flags: {
      ...paramOptions(),
      ...jobOptions(),
      ...distributedOptions(),
      overwrite: { type: 'boolean', default: false, describe: 'replace the results of another run in --out' },
      json: { type: 'boolean', default: false, describe: 'JSON progress lines on stderr and a JSON result on stdout' },
      quiet: { type: 'boolean', default: false, describe: 'no progress, no table' },
    },
    run: async (argv) => {
      if (await runDistributed(argv, io)) return;
      const res = await interruptible(io, (signal) =>
        backtestWith(optionsFromArgv(argv), 'flags', { signal, onProgress: progressPrinter(progressMode(argv), io.err), logger: (m) => io.err(`atc: ${m}\n`) }),
      );
      if (!res) return;
      if (argv.json) io.out(JSON.stringify(res) + '\n');
      else if (!argv.quiet) await printRunReport(res, io);
    },
  };
}
