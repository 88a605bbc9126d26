// User strategies: a JavaScript module whose default export declares parameters, input columns
// and outputs, and computes one symbol block by block:
//
//   { name, version, params: { <name>: { default, min?, max?, integer? } }, inputs: ['close', ...],
//     outputs: ['<col>', ...], init(params) -> state, step(state, params, input, out) -> state }
//
// `input.<col>` is a Float64Array of one block of one symbol; `out.<col>` (NaN = NULL) and
// `out.direction` (+1, -1, 0) are Float64Arrays of the same length. The state must be
// structured-clonable: it is kept (v8-serialised) in the symbol's state record between blocks,
// so any split into blocks gives the same results. The module runs in the kernel workers; they
// import it from its file. What the module does wrong is ATC_ERR_STRATEGY naming the strategy,
// symbol and bars, never a crash.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { StateError, StrategyError } from '../../errors.js';
import type { InputCheck, Strategy, StrategyParam } from '../types.js';
import { N_FLOAT_COLUMNS } from '../../engine/batch.js';

/** Bytes of a state record: header (magic, length, bars) and the serialised state. */
export const USER_STATE_BYTES = 4096;
const HEADER = 16;
const MAGIC = 0x52455355; // 'USER' read as little-endian u32
const RESERVED = new Set(['symbol', 'ts', 'close', 'direction', 'param_id', 'position', 'strategy_return', 'equity']);

interface ParamDecl {
  default: number;
  min?: number;
  max?: number;
  integer?: boolean;
}

interface UserModule {
  name: string;
  version: number;
  params?: Record<string, ParamDecl>;
  inputs: string[];
  outputs?: string[];
  init(params: Readonly<Record<string, number>>): unknown;
  step(state: unknown, params: Readonly<Record<string, number>>, input: Record<string, Float64Array>, out: Record<string, Float64Array>): unknown;
}

/** A path given as --strategy (anything but a built-in name) */
export const isModulePath = (s: string): boolean => /[/\\]/.test(s) || /\.[cm]?[jt]s$/.test(s);

const CHECKS: Record<string, InputCheck> = { open: 'price', high: 'price', low: 'price', close: 'price', volume: 'nonnegative' };

/** Import and check a strategy module. */
export async function loadUserStrategy(path: string): Promise<Strategy> {
  const file = resolve(path);
  let source: Buffer;
  try {
    source = readFileSync(file);
  } catch (e) {
    throw new StrategyError(path, `--strategy ${path}: cannot read the module: ${(e as Error).message}`, { cause: e });
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw new StrategyError(path, `--strategy ${path}: the module does not load: ${(e as Error).message}`, { cause: e });
  }
  return userStrategy(mod.default, file, createHash('sha256').update(source).digest('hex').slice(0, 16));
}

function fail(who: string, msg: string): never {
  throw new StrategyError(who, `strategy ${who}: ${msg}`);
}

/** The Strategy of a module's default export (checked: a wrong shape is ATC_ERR_STRATEGY). */
export function userStrategy(m: unknown, file: string, hash: string): Strategy {
  if (typeof m !== 'object' || m === null) fail(file, 'the module has no default export object');
  const u = m as UserModule;
  if (typeof u.name !== 'string' || !/^[A-Za-z][\w-]*$/.test(u.name)) fail(file, 'name must be a word (letters, digits, - and _)');
  if (typeof u.version !== 'number' || !Number.isFinite(u.version)) fail(u.name, 'version must be a number');
  if (typeof u.init !== 'function' || typeof u.step !== 'function') fail(u.name, 'init and step must be functions');
  const inputs = u.inputs;
  if (!Array.isArray(inputs) || inputs.some((c) => typeof c !== 'string' || c === '' || c === 'symbol' || c === 'ts')) fail(u.name, 'inputs must be a list of column names');
  const outputs = u.outputs ?? [];
  if (!Array.isArray(outputs) || outputs.some((c) => typeof c !== 'string' || !/^[A-Za-z_]\w*$/.test(c) || RESERVED.has(c)) || new Set(outputs).size !== outputs.length) {
    fail(u.name, `outputs must be distinct column names (not ${[...RESERVED].join(', ')})`);
  }
  if (outputs.length > N_FLOAT_COLUMNS) fail(u.name, `at most ${N_FLOAT_COLUMNS} outputs`);
  const params: StrategyParam[] = Object.entries(u.params ?? {}).map(([name, d]) => {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) fail(u.name, `parameter "${name}" must be a camelCase name`);
    if (typeof d !== 'object' || d === null || typeof d.default !== 'number') fail(u.name, `parameter ${name} needs a numeric default`);
    const p: StrategyParam = { name, default: d.default, min: d.min ?? -Number.MAX_VALUE, max: d.max ?? Number.MAX_VALUE, integer: d.integer === true, doc: `${u.name} parameter ${name} [${d.default}]` };
    if (!(p.min <= p.default && p.default <= p.max) || (p.integer && !Number.isInteger(p.default))) fail(u.name, `parameter ${name}: its default ${d.default} is outside its own domain`);
    return p;
  });
  const cols = [...new Set(['close', ...inputs])];
  const name = u.name;
  return {
    name,
    version: u.version,
    doc: `user strategy ${name} (${file})`,
    params,
    inputs: cols.map((c) => ({ name: c, check: CHECKS[c] ?? 'finite' })),
    outputs: outputs.map((o) => ({ name: o, doc: `${name} output ${o}` })),
    zeroIsNull: false,
    directionDoc: `the direction ${name} decided at this bar: 1, -1 or 0`,
    minimumBars: () => 1,
    sourceHash: hash,
    module: file,
    kernel(values) {
      const params = Object.freeze({ ...values });
      const view = (buf: Uint8Array, r: number): DataView => new DataView(buf.buffer, buf.byteOffset + r * USER_STATE_BYTES, USER_STATE_BYTES);
      const write = (buf: Uint8Array, r: number, bars: number, state: unknown, where: string): void => {
        let bytes: Buffer;
        try {
          bytes = serialize(state);
        } catch (e) {
          fail(name, `${where}: the state is not structured-clonable: ${(e as Error).message}`);
        }
        if (bytes.length > USER_STATE_BYTES - HEADER) fail(name, `${where}: the state takes ${bytes.length} bytes serialised; at most ${USER_STATE_BYTES - HEADER}`);
        const v = view(buf, r);
        v.setUint32(0, MAGIC, true);
        v.setUint32(4, bytes.length, true);
        v.setFloat64(8, bars, true);
        buf.set(bytes, r * USER_STATE_BYTES + HEADER);
      };
      const read = (buf: Uint8Array, r: number): { bars: number; state: unknown } => {
        const v = view(buf, r);
        const len = v.getUint32(4, true);
        const bars = v.getFloat64(8, true);
        if (v.getUint32(0, true) !== MAGIC || len > USER_STATE_BYTES - HEADER || !Number.isSafeInteger(bars) || bars < 0) {
          throw new StateError('ATC_ERR_STATE_INVALID', `state record ${r} is not a state of strategy ${name}`);
        }
        const at = r * USER_STATE_BYTES + HEADER;
        return { bars, state: deserialize(buf.subarray(at, at + len)) };
      };
      return {
        stateBytes: USER_STATE_BYTES,
        freshStates(n) {
          let state: unknown;
          try {
            state = u.init(params);
          } catch (e) {
            fail(name, `init threw: ${(e as Error)?.message ?? String(e)}`);
          }
          const buf = new Uint8Array(n * USER_STATE_BYTES);
          for (let r = 0; r < n; r++) write(buf, r, 0, state, 'init');
          return buf;
        },
        stateBars: (buf, r) => read(buf, r).bars,
        run({ inputs: cols2, offsets, states, planes, direction }, symbols) {
          for (let s = 0; s + 1 < offsets.length; s++) {
            const a = offsets[s] as number;
            const b = offsets[s + 1] as number;
            const { bars, state } = read(states, s);
            const where = `${symbols?.[s] ?? `series ${s}`}, bars ${bars}..${bars + b - a - 1}`;
            const input: Record<string, Float64Array> = {};
            for (const c of cols) input[c] = (cols2[c] as Float64Array).slice(a, b);
            const out: Record<string, Float64Array> = {};
            outputs.forEach((o, k) => {
              out[o] = (planes[k] as Float64Array).subarray(a, b);
              out[o].fill(NaN);
            });
            const dir = new Float64Array(b - a);
            out.direction = dir;
            let next: unknown;
            try {
              next = u.step(state, params, input, out);
            } catch (e) {
              fail(name, `${where}: step threw: ${(e as Error)?.message ?? String(e)}`);
            }
            if (next === undefined) fail(name, `${where}: step must return the state`);
            for (let j = 0; j < dir.length; j++) {
              const d = dir[j] as number;
              if (!(d === 1 || d === 0 || d === -1)) fail(name, `${where}: out.direction at bar ${bars + j} is ${d}; it must be 1, 0 or -1`);
              direction[a + j] = d;
            }
            write(states, s, bars + (b - a), next, where);
          }
        },
      };
    },
  };
}
