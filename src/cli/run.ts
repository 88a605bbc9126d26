// The CLI core: `run(argv)` parses, dispatches and returns an exit code; bin.ts only calls it.
// Exit codes: 0 ok, 1 a coded runtime error, 2 a usage error.

import yargs, { type Argv } from 'yargs';
import { AtcError, isAtcError, UsageError } from '../errors.js';
import { diskFullError } from '../util/disk-full.js';
import { packageInfo } from '../util/package-root.js';
import type { Io } from './io.js';

type Command = (y: Argv, io: Io) => Argv;

// Command modules load on demand: they pull in much (DuckDB, Arrow, the pipeline, the report
// page), and a command needs its own only. `atc --help`, or a command not named here, loads all.
const COMMANDS: Record<string, () => Promise<Command[]>> = {
  run: async () => [(await import('./commands/run.js')).runCommand],
  warm: async () => [(await import('./commands/cache.js')).warmCommand],
  data: async () => [(await import('./commands/data.js')).dataCommand],
  sql: async () => [(await import('./commands/sql.js')).sqlCommand],
  report: async () => [(await import('./commands/report.js')).reportCommand],
  cache: async () => [(await import('./commands/cache.js')).cacheCommand],
  info: async () => [(await import('./commands/info.js')).infoCommand],
  worker: async () => [(await import('./commands/worker.js')).workerCommand],
  merge: async () => [(await import('./commands/merge.js')).mergeCommand],
  status: async () => [(await import('./commands/status.js')).statusCommand],
};

async function commandsFor(argv: readonly string[]): Promise<Command[]> {
  const name = argv.find((a) => !a.startsWith('-'));
  const one = name !== undefined ? COMMANDS[name] : undefined;
  return one ? await one() : (await Promise.all(Object.values(COMMANDS).map((load) => load()))).flat();
}

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
    // yargs renders a command's help before running it (in case it fails later); wrapping that
    // text to the terminal costs ~0.1 s, so only when it is printed (usage errors print a hint)
    .wrap(argv.includes('--help') || argv.includes('-h') ? Math.min(110, process.stdout.columns || 100) : null)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  skipHelpCache(y);
  try {
    for (const cmd of await commandsFor(argv)) cmd(y, io);
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

/**
 * yargs renders a command's whole help text as it starts the command, in case the command
 * later asks for it (~80 ms for `atc run`'s options, measuring every string's width). No
 * command here does: a usage error prints a hint, and --help renders its own. Internal API,
 * so only where it is as expected.
 */
function skipHelpCache(y: Argv): void {
  const usage = (y as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

function report(e0: unknown, io: Io): number {
  const e = diskFullError(e0, 'the files this command writes') ?? e0;
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
