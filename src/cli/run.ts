// The CLI core: `run(argv)` parses, dispatches and returns an exit code; bin.ts only calls it.
// Exit codes: 0 ok, 1 a coded runtime error, 2 a usage error.

import { AtcError, isAtcError, UsageError } from '../errors.js';
import { diskFullError } from '../util/disk-full.js';
import { packageInfo } from '../util/package-root.js';
import { type Command, parse } from './args.js';
import type { Io } from './io.js';

// Command modules load on demand: they pull in much (DuckDB, Arrow, the pipeline, the report
// page), and a command needs its own only. `atc --help`, or a command not named here, loads all.
const COMMANDS: Record<string, (io: Io) => Promise<Command>> = {
  run: async (io) => (await import('./commands/run.js')).runCommand(io),
  warm: async (io) => (await import('./commands/cache.js')).warmCommand(io),
  data: async (io) => (await import('./commands/data.js')).dataCommand(io),
  sql: async (io) => (await import('./commands/sql.js')).sqlCommand(io),
  report: async (io) => (await import('./commands/report.js')).reportCommand(io),
  cache: async (io) => (await import('./commands/cache.js')).cacheCommand(io),
  info: async (io) => (await import('./commands/info.js')).infoCommand(io),
  worker: async (io) => (await import('./commands/worker.js')).workerCommand(io),
  merge: async (io) => (await import('./commands/merge.js')).mergeCommand(io),
  status: async (io) => (await import('./commands/status.js')).statusCommand(io),
};

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function run(argv: readonly string[], ioIn: Io = defaultIo): Promise<number> {
  const io: Io = { ...ioIn, status: 0 };
  try {
    if (argv[0] === '--version') {
      io.out(`${packageInfo().version}\n`);
      return 0;
    }
    const name = argv.find((a) => !a.startsWith('-'));
    const load = name === undefined ? undefined : COMMANDS[name];
    const commands = load ? [await load(io)] : await Promise.all(Object.values(COMMANDS).map((l) => l(io)));
    const root: Command = { name: 'atc', describe: 'Out-of-core batch backtesting with the Adaptive Trend Classification.', commands };
    const p = parse(root, argv, Math.min(110, process.stdout.columns || 100));
    if ('help' in p) io.out(p.help);
    else {
      try {
        await p.command.run?.(p.args);
      } catch (e) {
        if (e instanceof UsageError) e.command ??= p.line;
        throw e;
      }
    }
    return io.status ?? 0;
  } catch (e) {
    return report(e, io);
  }
}

function report(e0: unknown, io: Io): number {
  const e = diskFullError(e0, 'the files this command writes') ?? e0;
  if (e instanceof UsageError || (isAtcError(e) && e.code === 'ATC_ERR_INVALID_PARAM')) {
    io.err(`atc: ${(e as AtcError).message}\n${e instanceof UsageError ? `Run \`${e.command ?? 'atc'} --help\` for usage.\n` : ''}`);
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
