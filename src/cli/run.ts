// The CLI core: `run(argv)` parses, dispatches and returns an exit code; bin.ts only calls it.
// Exit codes: 0 ok, 1 a coded runtime error, 2 a usage error.

import yargs from 'yargs';
import { AtcError, isAtcError, UsageError } from '../errors.js';
import { packageInfo } from '../util/package-root.js';
import type { Io } from './io.js';
import { cacheCommand, warmCommand } from './commands/cache.js';
import { dataCommand } from './commands/data.js';
import { infoCommand } from './commands/info.js';
import { mergeCommand } from './commands/merge.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { sqlCommand } from './commands/sql.js';
import { statusCommand } from './commands/status.js';
import { workerCommand } from './commands/worker.js';

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function run(argv: readonly string[], ioIn: Io = defaultIo): Promise<number> {
  let code: number;
  const io: Io = { ...ioIn, status: 0 };
  const y = yargs([...argv])
    .scriptName('atc')
    .usage('$0 <command> [options]\n\nOut-of-core batch backtesting with the Adaptive Trend Classification.')
    .version(packageInfo().version)
    .help()
    .alias('h', 'help')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  for (const cmd of [runCommand, warmCommand, workerCommand, mergeCommand, statusCommand, dataCommand, sqlCommand, reportCommand, cacheCommand, infoCommand]) cmd(y, io);
  try {
    let helpShown = '';
    await y.parseAsync([...argv], {}, (_err, _parsed, output) => {
      helpShown = output;
    });
    if (helpShown) io.out(helpShown + '\n');
    code = io.status ?? 0;
  } catch (e) {
    code = report(e, io);
  }
  return code;
}

function report(e: unknown, io: Io): number {
  if (e instanceof UsageError || (isAtcError(e) && e.code === 'ATC_ERR_INVALID_PARAM')) {
    io.err(`atc: ${(e as AtcError).message}\n${e instanceof UsageError ? 'Run `atc --help` for usage.\n' : ''}`);
    return 2;
  }
  if (isAtcError(e)) {
    io.err(`atc: ${e.code}: ${e.message}\n`);
    return 1;
  }
  const err = e as Error;
  io.err(`atc: unexpected error: ${err?.stack ?? String(e)}\n`);
  return 1;
}
