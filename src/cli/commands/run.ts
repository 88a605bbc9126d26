// `atc run`: the backtest job over a bar file.

import type { Argv } from 'yargs';
import { type EngineRequest } from '../../engine/select.js';
import { UsageError } from '../../errors.js';
import { OUTPUTS, type OutputKind, runJob } from '../../pipeline/run.js';
import { sampleDataset } from '../../../datasets/index.js';
import { ENGINE_OPTION, paramOptions, paramsFromFlags } from '../options.js';
import type { Io } from '../run.js';

export function runCommand(y: Argv, io: Io): Argv {
  return y.command(
    'run',
    'compute ATC signals for every symbol of a bar file (default: the embedded sample)',
    (c) =>
      c
        .options(paramOptions())
        .option('data', { type: 'string', describe: 'Parquet file, directory or glob with symbol, ts, close (sorted by symbol, ts)' })
        .option('out', { type: 'string', describe: 'output directory', default: 'atc-out' })
        .option('engine', ENGINE_OPTION)
        .option('outputs', { type: 'string', default: 'signals', describe: `what to write, comma-separated: ${OUTPUTS.join(',')}` })
        .option('batch-bars', { type: 'number', default: 1_000_000, describe: 'bars per kernel call' })
        .option('overwrite', { type: 'boolean', default: false, describe: 'replace results already in --out' })
        .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
    async (argv) => {
      const params = paramsFromFlags(argv);
      const outputs = String(argv.outputs)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const o of outputs) if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`--outputs: unknown output "${o}" (use ${OUTPUTS.join(',')})`);
      const batchBars = Number(argv['batch-bars']);
      if (!Number.isInteger(batchBars) || batchBars < 1) throw new UsageError('--batch-bars must be a positive integer');
      const data = argv.data === undefined ? sampleDataset() : String(argv.data);
      const res = await runJob({
        data,
        out: String(argv.out),
        params,
        engine: String(argv.engine) as EngineRequest,
        outputs: outputs as OutputKind[],
        batchBars,
        overwrite: Boolean(argv.overwrite),
        log: (m) => io.err(`atc: ${m}\n`),
      });
      const rate = res.bars / Math.max(res.seconds, 1e-9);
      if (argv.json) {
        io.out(JSON.stringify({ data, out: argv.out, engine: res.engine, symbols: res.symbols, bars: res.bars, seconds: res.seconds, files: res.files }) + '\n');
      } else {
        io.out(
          `atc run: ${res.symbols} symbols, ${res.bars} bars in ${res.seconds.toFixed(2)} s (${(rate / 1e6).toFixed(2)} M bars/s), engine ${res.engine.engine} (${res.engine.reason})\n` +
            `signals: ${res.files.length} file(s) in ${argv.out}/signals\n`,
        );
      }
    },
  );
}
