// `atc run`: the backtest job over a bar source (default: the embedded sample); one parameter
// set, or a sweep when a parameter flag holds a list or a range.

import type { Argv } from 'yargs';
import { sampleDataset } from '../../../datasets/index.js';
import type { EngineRequest } from '../../engine/select.js';
import { UsageError } from '../../errors.js';
import { defaultCacheDir } from '../../cache/store.js';
import { defaultWorkers } from '../../pool/pool.js';
import type { ProgressMode } from '../../pipeline/progress.js';
import { OUTPUTS, type OutputKind, runJob } from '../../pipeline/run.js';
import type { BadRowPolicy } from '../../stages/load/index.js';
import { type FlagValues, flagValues, intFlag, jobOptions, numFlag, paramOptions, setsFromFlags } from '../options.js';
import { printRunReport } from '../report.js';
import { afterYargs, type Io } from '../run.js';

export function parseOutputs(raw: unknown): OutputKind[] {
  const outputs = String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of outputs) if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`--outputs: unknown output "${o}" (use ${OUTPUTS.join(',')})`);
  if (outputs.length === 0) throw new UsageError('--outputs: name at least one output');
  return [...new Set(outputs)] as OutputKind[];
}

/** The job options shared by `atc run` and `atc warm`. */
export function jobFromFlags(get: FlagValues, argv: Record<string, unknown>) {
  const progress: ProgressMode = argv.quiet ? 'quiet' : argv.json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
  const data = get('data');
  return {
    data: data === undefined ? sampleDataset() : String(data),
    out: String(get('out')),
    sets: setsFromFlags(get),
    engine: String(get('engine')) as EngineRequest,
    workers: intFlag(get, 'workers', 1, defaultWorkers()),
    chunkBars: intFlag(get, 'chunk-bars', 1),
    badRows: String(get('bad-rows')) as BadRowPolicy,
    minSignal: numFlag(get, 'min-signal', 0, 1),
    capital: numFlag(get, 'capital', Number.MIN_VALUE, 1e15),
    equity: get('equity') === true || get('equity') === 'true',
    checkpointSecs: numFlag(get, 'checkpoint', 0, 86400),
    overwrite: Boolean(argv.overwrite),
    progress,
    cache: cacheDir(get),
  };
}

/** --cache <dir>, --no-cache (false), or the default. */
export function cacheDir(get: FlagValues): string | undefined {
  const v = get('cache');
  if (v === false || v === 'false') return undefined;
  return v === undefined || v === true || v === '' ? defaultCacheDir() : String(v);
}

export function runCommand(y: Argv, io: Io): Argv {
  return y.command(
    'run',
    'backtest every symbol of a bar source (default: the embedded sample) under one parameter set or a grid',
    (c) =>
      c
        .options(paramOptions())
        .options(jobOptions())
        .option('overwrite', { type: 'boolean', default: false, describe: 'replace the results of another run in --out' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON progress lines on stderr and a JSON result on stdout' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no progress, no table' }),
    async (argv) => {
      await afterYargs();
      const get = flagValues(argv);
      const job = jobFromFlags(get, argv);
      const res = await runJob({
        ...job,
        outputs: parseOutputs(get('outputs')),
        log: (m) => io.err(`atc: ${m}\n`),
        write: (s) => io.err(s),
      });
      if (argv.json) io.out(JSON.stringify({ ...res, data: job.data }) + '\n');
      else if (!argv.quiet) await printRunReport(res, io);
    },
  );
}
