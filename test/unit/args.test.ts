// The command-line parser (src/cli/args.ts): the flag forms users type, usage errors with the
// command they belong to, subcommands and the help page.

import { describe, expect, it } from 'vitest';
import { type Args, type Command, parse } from '../../src/cli/args.js';

const job: Command = {
  name: 'run',
  describe: 'run a job',
  flags: {
    out: { type: 'string', default: 'atc-out', describe: 'the output directory', group: 'Job' },
    cache: { type: 'string', describe: 'the cache directory', group: 'Job' },
    'chunk-bars': { type: 'string', group: 'Job' },
    lambda: { type: 'string' },
    engine: { type: 'string', choices: ['auto', 'rust'] },
    limit: { type: 'number', default: 50 },
    param: { type: 'string', array: true },
    quiet: { type: 'boolean', default: false },
    json: { type: 'boolean' },
    to: { type: 'string', required: true },
  },
};
const root: Command = {
  name: 'atc',
  describe: 'the tool',
  commands: [
    job,
    { name: 'sql', describe: 'ask', positionals: [{ name: 'query' }], flags: { out: { type: 'string' } } },
    { name: 'cache', describe: 'keep the cache', positionals: [{ name: 'action', choices: ['ls', 'gc'] }] },
    { name: 'data', describe: 'bars', commands: [{ name: 'inspect', describe: 'look', positionals: [{ name: 'path' }] }] },
  ],
};

function args(argv: string[]): Args {
  const p = parse(root, argv);
  if ('help' in p) throw new Error('help');
  return p.args;
}

function usage(argv: string[]): { message: string; command?: string } {
  try {
    parse(root, argv);
  } catch (e) {
    expect(e).toMatchObject({ code: 'ATC_ERR_USAGE' });
    return e as { message: string; command?: string };
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('flags', () => {
  it('--name value, --name=value, camelCase, defaults, a negative number as a value', () => {
    expect(args(['run', '--to', 'x', '--out=o', '--chunkBars', '1000', '--lambda', '-3'])).toEqual({ to: 'x', out: 'o', 'chunk-bars': '1000', lambda: '-3', limit: 50, quiet: false });
  });

  it('booleans: alone, with true/false after them or =; --no-name is false for any flag', () => {
    expect(args(['run', '--to', 'x', '--quiet', '--json', 'false'])).toMatchObject({ quiet: true, json: false });
    expect(args(['run', '--to', 'x', '--quiet=false', '--json'])).toMatchObject({ quiet: false, json: true });
    expect(args(['run', '--to', 'x', '--no-cache', '--no-quiet'])).toMatchObject({ cache: false, quiet: false });
    expect(usage(['run', '--to', 'x', '--json=maybe']).message).toMatch(/--json is true or false/);
  });

  it('numbers are numbers; choices are checked; repeatable flags collect, others may not repeat', () => {
    expect(args(['run', '--to', 'x', '--limit', '7', '--engine', 'rust', '--param', 'a=1', '--param', 'b=2'])).toMatchObject({ limit: 7, engine: 'rust', param: ['a=1', 'b=2'] });
    expect(usage(['run', '--to', 'x', '--limit', 'ten']).message).toMatch(/--limit must be a number, got "ten"/);
    expect(usage(['run', '--to', 'x', '--engine', 'gpu']).message).toMatch(/--engine must be one of auto\|rust, got "gpu"/);
    expect(usage(['run', '--to', 'x', '--out', 'a', '--out', 'b']).message).toMatch(/--out is given twice/);
  });

  it('unknown flags (with the closest one), a missing value, a missing required flag: usage errors naming the command', () => {
    expect(usage(['run', '--to', 'x', '--lamda', '1'])).toMatchObject({ message: 'Unknown argument: --lamda (did you mean --lambda?)', command: 'atc run' });
    expect(usage(['run', '--to', 'x', '--frobnicate']).message).toBe('Unknown argument: --frobnicate');
    expect(usage(['run', '--to', 'x', '-x']).message).toBe('Unknown argument: -x');
    expect(usage(['run', '--to', 'x', '--out']).message).toBe('--out needs a value');
    expect(usage(['run', '--to', '--quiet']).message).toBe('--to needs a value');
    expect(usage(['run', '--out', 'o']).message).toBe('Missing required argument: --to');
  });
});

describe('commands and positionals', () => {
  it('positionals by name, checked against their choices; one too many is an unknown argument; -- ends the flags', () => {
    expect(args(['sql', 'SELECT 1', '--out', 'o'])).toEqual({ query: 'SELECT 1', out: 'o' });
    expect(args(['sql', '--', '--not a flag'])).toEqual({ query: '--not a flag' });
    expect(args(['cache', 'gc'])).toEqual({ action: 'gc' });
    expect(usage(['cache', 'frob'])).toMatchObject({ message: '<action> must be one of ls|gc, got "frob"', command: 'atc cache' });
    expect(usage(['cache']).message).toBe('missing <action> (ls|gc)');
    expect(usage(['sql', 'a', 'b']).message).toBe('Unknown argument: b');
  });

  it('subcommands; an unknown or missing command names its parent and the closest command', () => {
    const p = parse(root, ['data', 'inspect', 'f.parquet']);
    expect('help' in p ? undefined : { line: p.line, args: p.args }).toEqual({ line: 'atc data inspect', args: { path: 'f.parquet' } });
    expect(usage(['rn'])).toMatchObject({ message: 'Unknown command: rn (did you mean run?)', command: 'atc' });
    expect(usage(['data'])).toMatchObject({ message: 'name a command: inspect', command: 'atc data' });
    expect(usage(['data', 'inspekt']).message).toBe('Unknown command: inspekt (did you mean inspect?)');
    expect(usage([]).message).toBe('name a command: run, sql, cache, data');
  });
});

describe('help', () => {
  const help = (argv: string[]): string => {
    const p = parse(root, argv, 80);
    if (!('help' in p)) throw new Error('no help');
    return p.help;
  };

  it('the root lists every command with its usage; a command lists its flags by group, with their notes', () => {
    const top = help(['--help']);
    for (const line of ['atc run', 'atc sql <query>', 'atc cache <action>', 'atc data <command>']) expect(top).toContain(`  ${line}`);
    const run = help(['run', '-h', '--nope']);
    expect(run.split('\n')[0]).toBe('atc run [options]');
    expect(run).toMatch(/\nJob:\n {2}--out <value> +the output directory \[default: atc-out\]\n/);
    expect(run).toMatch(/--limit <n> +\[number\] \[default: 50\]/);
    expect(run).toMatch(/--engine <value> +\[one of: auto, rust\]/);
    expect(run).toMatch(/--param <value> +\[repeatable\]/);
    expect(run).toMatch(/--to <value> +\[required\]/);
    expect(help(['data', 'inspect', '--help'])).toMatch(/^atc data inspect <path> \[options\]/);
  });

  it('lines wrap to the width', () => {
    const long: Command = { name: 'atc', describe: 'x', commands: [{ name: 'go', describe: 'y', flags: { a: { type: 'boolean', describe: 'word '.repeat(40).trim() } } }] };
    const p = parse(long, ['go', '--help'], 60);
    const lines = 'help' in p ? p.help.split('\n') : [];
    expect(lines.filter((l) => l.includes('word')).length).toBeGreaterThan(3);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
  });
});
