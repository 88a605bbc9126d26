// `atc run`: the backtest job over a bar source (default: the embedded sample).

import type { Argv } from 'yargs';
import { sampleDataset } from '../../../datasets/index.js';
import type { EngineRequest } from '../../engine/select.js';
import { UsageError } from '../../errors.js';
import { defaultWorkers } from '../../pool/pool.js';
import type { ProgressMode } from '../../pipeline/progress.js';
import { OUTPUTS, type OutputKind, runJob } from '../../pipeline/run.js';
import { BAD_ROW_POLICIES, type BadRowPolicy } from '../../stages/load/index.js';
import { ENGINE_OPTION, paramOptions, paramsFromFlags } from '../options.js';
import { printRunReport } from '../report.js';
import type { Io } from '../run.js';

export function runCommand(y: Argv, io: Io): Argv {
  return y.command(
    'run',
    'compute ATC signals for every symbol of a bar source (default: the embedded sample)',
    (c) =>
      c
        .options(paramOptions())
        .option('data', { type: 'string', describe: 'Parquet file, directory or glob with symbol, ts, close (sorted by symbol, ts)' })
        .option('out', { type: 'string', default: 'atc-out', describe: 'output directory' })
        .option('outputs', { type: 'string', default: 'summary,signals', describe: `what to write, comma-separated: ${OUTPUTS.join(',')}` })
        .option('engine', ENGINE_OPTION)
        .option('workers', { type: 'number', describe: `kernel worker threads [${defaultWorkers()}: the cores]` })
        .option('chunk-bars', { type: 'number', default: 524_288, describe: 'bars per chunk: one kernel task and one committed part' })
        .option('bad-rows', { type: 'string', choices: BAD_ROW_POLICIES, default: 'error', describe: 'bad bars: stop, drop the row, or skip the symbol (recorded in rejects.parquet)' })
        .option('min-signal', { type: 'number', default: 0.01, describe: 'trend is NEUTRAL when |last Average_Signal| is below this (the scanner rule)' })
        .option('overwrite', { type: 'boolean', default: false, describe: 'replace the results of another run in --out' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON progress lines on stderr and a JSON result on stdout' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no progress, no table' }),
    async (argv) => {
      const params = paramsFromFlags(argv);
      const outputs = String(argv.outputs)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const o of outputs) if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`--outputs: unknown output "${o}" (use ${OUTPUTS.join(',')})`);
      const int = (name: string, v: unknown, min: number): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
        return n;
      };
      const workers = argv.workers === undefined ? defaultWorkers() : int('workers', argv.workers, 1);
      const chunkBars = int('chunk-bars', argv['chunk-bars'], 1);
      const minSignal = Number(argv['min-signal']);
      if (!(minSignal >= 0 && minSignal <= 1)) throw new UsageError('--min-signal must be in [0, 1]');
      const progress: ProgressMode = argv.quiet ? 'quiet' : argv.json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
      const data = argv.data === undefined ? sampleDataset() : String(argv.data);
      const res = await runJob({
        data,
        out: String(argv.out),
        params,
        engine: String(argv.engine) as EngineRequest,
        outputs: outputs as OutputKind[],
        workers,
        chunkBars,
        badRows: String(argv['bad-rows']) as BadRowPolicy,
        minSignal,
        overwrite: Boolean(argv.overwrite),
        progress,
        log: (m) => io.err(`atc: ${m}\n`),
        write: (s) => io.err(s),
      });
      if (argv.json) io.out(JSON.stringify({ ...res, data }) + '\n');
      else if (!argv.quiet) await printRunReport(res, io);
    },
  );
}
