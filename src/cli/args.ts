// The command line as data: commands with their flags, positionals and subcommands; a parser
// and a help page for them. (Not yargs: loading it and declaring `atc run`'s ~50 flags through
// it took 0.15-0.2 s of every command's start, more than some commands' own work.)
//
// Flags: --name value, --name=value, --no-name (false), a boolean alone (true, or true/false
// after it); camelCase names are read as kebab-case. A flag given twice is a usage error unless
// it is repeatable (an array). Values stay strings unless the flag is a number.

import { UsageError } from '../errors.js';
import { kebab } from '../util/case.js';

export interface Flag {
  type: 'string' | 'boolean' | 'number';
  describe?: string;
  /** the help page's heading it is listed under [Options] */
  group?: string;
  choices?: readonly string[];
  default?: string | number | boolean;
  required?: boolean;
  /** repeatable: its values in order */
  array?: boolean;
}

export interface Positional {
  name: string;
  describe?: string;
  choices?: readonly string[];
}

/** Parsed arguments: flags by their kebab-case name, positionals by theirs. */
export type Args = Record<string, unknown>;

/** An optional flag's value as a string, undefined when it was not given. */
export const optional = (args: Args, name: string): string | undefined => (args[name] === undefined ? undefined : String(args[name]));

export interface Command {
  name: string;
  describe: string;
  positionals?: readonly Positional[];
  flags?: Readonly<Record<string, Flag>>;
  /** a command of commands (`atc data import`) */
  commands?: readonly Command[];
  run?: (args: Args) => void | Promise<void>;
}

/** The help page asked for, or the command to run with its arguments (`line`: e.g. `atc cache`). */
export type Parsed = { help: string } | { command: Command; args: Args; line: string };

const isNumber = (s: string): boolean => s.trim() !== '' && Number.isFinite(Number(s));
const wantsHelp = (a: string): boolean => a === '--help' || a === '-h';

/** Parse `argv` against the commands under `root`: the command to run with its arguments, or the help page asked for. */
export function parse(root: Command, argv: readonly string[], width = 100): Parsed {
  // the command reached so far: its help page is the one a usage error points to
  const path = [root.name];
  try {
    return parseFrom(root, path, argv, width);
  } catch (e) {
    if (e instanceof UsageError) e.command ??= path.join(' ');
    throw e;
  }
}

function parseFrom(root: Command, path: string[], argv: readonly string[], width: number): Parsed {
  const help = argv.some(wantsHelp);
  let cmd = root;
  let rest = argv.filter((a) => !wantsHelp(a));
  while (cmd.commands) {
    const k = rest.findIndex((a) => !a.startsWith('-'));
    if (k < 0) {
      if (help) return { help: helpPage(path, cmd, width) };
      if (rest.length > 0) throw new UsageError(`Unknown argument: ${rest[0]}`);
      throw new UsageError(`name a command: ${cmd.commands.map((c) => c.name).join(', ')}`);
    }
    const name = rest[k] as string;
    const sub = cmd.commands.find((c) => c.name === name);
    if (!sub) throw new UsageError(`Unknown command: ${name}${suggest(name, cmd.commands.map((c) => c.name))}`);
    if (k > 0) throw new UsageError(`Unknown argument: ${rest[0]}`);
    rest = rest.slice(1);
    cmd = sub;
    path.push(name);
  }
  if (help) return { help: helpPage(path, cmd, width) };
  return { command: cmd, args: parseArgs(cmd, rest), line: path.join(' ') };
}

function parseArgs(cmd: Command, argv: readonly string[]): Args {
  const flags = cmd.flags ?? {};
  const args: Args = {};
  const positionals: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k] as string;
    if (a === '--') {
      positionals.push(...argv.slice(k + 1));
      break;
    }
    if (!a.startsWith('--')) {
      if (a.startsWith('-') && a !== '-' && !isNumber(a)) throw new UsageError(`Unknown argument: ${a}`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    let name = kebab(eq < 0 ? a.slice(2) : a.slice(2, eq));
    let value = eq < 0 ? undefined : a.slice(eq + 1);
    let negated = false;
    if (!(name in flags) && name.startsWith('no-') && name.slice(3) in flags && value === undefined) {
      negated = true;
      name = name.slice(3);
    }
    const f = flags[name];
    if (!f) throw new UsageError(`Unknown argument: ${eq < 0 ? a : a.slice(0, eq)}${suggest(name, Object.keys(flags), '--')}`);
    let v: string | number | boolean;
    if (negated) v = false;
    else if (f.type === 'boolean') {
      if (value === undefined && (argv[k + 1] === 'true' || argv[k + 1] === 'false')) value = argv[++k];
      if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`--${name} is true or false, got "${value}"`);
      v = value !== 'false';
    } else {
      if (value === undefined) {
        const next = argv[k + 1];
        // a value may be a negative number, never another flag
        if (next === undefined || (next.startsWith('-') && next !== '-' && !isNumber(next))) throw new UsageError(`--${name} needs a value`);
        value = next;
        k++;
      }
      if (f.type === 'number' && !isNumber(value)) throw new UsageError(`--${name} must be a number, got "${value}"`);
      if (f.choices && !f.choices.includes(value)) throw new UsageError(`--${name} must be one of ${f.choices.join('|')}, got "${value}"`);
      v = f.type === 'number' ? Number(value) : value;
    }
    if (f.array) ((args[name] ??= []) as unknown[]).push(v);
    else if (name in args) throw new UsageError(`--${name} is given twice`);
    else args[name] = v;
  }
  const wanted = cmd.positionals ?? [];
  for (const [i, p] of wanted.entries()) {
    const v = positionals[i];
    if (v === undefined) throw new UsageError(`missing <${p.name}>${p.choices ? ` (${p.choices.join('|')})` : ''}`);
    if (p.choices && !p.choices.includes(v)) throw new UsageError(`<${p.name}> must be one of ${p.choices.join('|')}, got "${v}"`);
    args[p.name] = v;
  }
  if (positionals.length > wanted.length) throw new UsageError(`Unknown argument: ${positionals[wanted.length]}`);
  for (const [name, f] of Object.entries(flags)) {
    if (args[name] === undefined && f.default !== undefined) args[name] = f.default;
    if (args[name] === undefined && f.required) throw new UsageError(`Missing required argument: --${name}`);
  }
  return args;
}

/** ` (did you mean x?)` for the closest of `names` within two edits, else nothing. */
function suggest(name: string, names: readonly string[], prefix = ''): string {
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best === undefined ? '' : ` (did you mean ${prefix}${best}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}

/** A command's usage line: `atc sql <query>`. */
const usageOf = (path: readonly string[], c: Command): string => [...path, ...(c.commands ? ['<command>'] : []), ...(c.positionals ?? []).map((p) => `<${p.name}>`)].join(' ');

function helpPage(path: readonly string[], cmd: Command, width: number): string {
  const out = [`${usageOf(path, cmd)}${cmd.commands ? '' : ' [options]'}`, '', cmd.describe];
  const section = (title: string, rows: [string, string][]): void => {
    if (rows.length === 0) return;
    const w = Math.min(Math.max(...rows.map(([l]) => l.length)), 28);
    out.push('', `${title}:`);
    for (const [label, text] of rows) {
      const lines = wrap(text, Math.max(30, width - w - 4));
      const first = label.length > w ? [`  ${label}`, ...lines.map((l) => `  ${' '.repeat(w)}  ${l}`)] : [`  ${label.padEnd(w)}  ${lines[0] ?? ''}`.trimEnd(), ...lines.slice(1).map((l) => `  ${' '.repeat(w)}  ${l}`)];
      out.push(...first);
    }
  };
  if (cmd.commands) {
    section('Commands', cmd.commands.map((c) => [usageOf([...path, c.name], c), c.describe]));
  }
  section('Positionals', (cmd.positionals ?? []).map((p) => [`<${p.name}>`, [p.describe, p.choices ? `[one of: ${p.choices.join(', ')}]` : ''].filter(Boolean).join(' ')]));
  const groups = new Map<string, [string, string][]>();
  for (const [name, f] of Object.entries(cmd.flags ?? {})) {
    const notes = [f.type === 'number' ? '[number]' : '', f.array ? '[repeatable]' : '', f.choices ? `[one of: ${f.choices.join(', ')}]` : '', f.default !== undefined && f.default !== false ? `[default: ${String(f.default)}]` : '', f.required ? '[required]' : ''];
    const g = f.group ?? 'Options';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)?.push([`--${name}${f.type === 'boolean' ? '' : f.type === 'number' ? ' <n>' : ' <value>'}`, [f.describe ?? '', ...notes].filter(Boolean).join(' ')]);
  }
  const general: [string, string][] = [['-h, --help', 'show this help'], ...(path.length === 1 ? [['--version', 'show the version'] as [string, string]] : [])];
  if (!groups.has('Options')) groups.set('Options', []);
  groups.get('Options')?.push(...general);
  for (const [g, rows] of groups) section(g.replace(/:$/, ''), rows);
  return out.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
