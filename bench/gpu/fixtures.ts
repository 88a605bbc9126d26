// Converts the golden files (test/golden, read through DuckDB) into raw little-endian files the
// CUDA engine's Rust tests read without Parquet (kernels/gpu/tests/golden.rs), so that they run
// where Node is missing (a GPU machine: bench/gpu/run.sh):
//
//   node dist/bench/gpu/fixtures.js <dir>
//
//   input.closes.f64, input.offsets.u32   every golden symbol's closes in (symbol, ts) order
//   golden.txt                            one line per golden file: name profile rows
//   <name>.wire.f64                       its parameter set as the kernel's wire vector
//   <name>.series.u8                      1 per input symbol the file has (the seed port skips some)
//   <name>.expected.f64                   16 columns of `rows` values: the 13 float planes, then
//                                         direction, long, short (NULL -> NaN; seed files have none)
//   <name>.sensitive.u8                   1 per row listed in order_sensitive_rows.parquet

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParamsInput, encodeParams, resolveParams } from '../../src/config/params.js';
import { openDb, sqlString } from '../../src/data/duckdb.js';
import { FLOAT_COLUMNS } from '../../src/engine/batch.js';
import { packageInfo } from '../../src/util/package-root.js';

interface GoldenFile {
  file: string;
  profile: 'pine' | 'seed';
  rows: number;
  parameters: { robustness: 'Narrow' | 'Medium' | 'Wide'; La: number; De: number; cutout: number; lengths: Record<string, number>; weights: Record<string, number>; long_threshold: number; short_threshold: number };
  skipped_symbols: { symbol: string }[];
}

const out = process.argv[2];
if (!out) throw new Error('usage: node dist/bench/gpu/fixtures.js <dir>');
mkdirSync(out, { recursive: true });
const golden = join(packageInfo().root, 'test', 'golden');
const manifest = JSON.parse(readFileSync(join(golden, 'manifest.json'), 'utf8')) as { files: GoldenFile[] };
const bytes = (a: Float64Array | Uint32Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const db = await openDb();
const q = async (sql: string): Promise<unknown[][]> => (await db.conn.runAndReadAll(sql)).getRows() as unknown[][];
const input = sqlString(join(golden, 'input.parquet'));
const rows = await q(`SELECT symbol, close FROM ${input} ORDER BY symbol, ts`);
const symbols: string[] = [];
const offsets = [0];
for (const [k, [sym]] of rows.entries()) {
  if (symbols[symbols.length - 1] !== sym) {
    if (symbols.length) offsets.push(k);
    symbols.push(String(sym));
  }
}
offsets.push(rows.length);
writeFileSync(join(out, 'input.closes.f64'), bytes(Float64Array.from(rows, (r) => Number(r[1]))));
writeFileSync(join(out, 'input.offsets.u32'), bytes(Uint32Array.from(offsets)));

const cols = [...FLOAT_COLUMNS, 'direction', 'long', 'short'];
const index: string[] = [];
for (const f of manifest.files) {
  const name = f.file.replace(/\.parquet$/, '');
  const p = f.parameters;
  const params: ParamsInput = {
    profile: f.profile,
    robustness: p.robustness,
    lambda: p.La,
    decay: p.De,
    cutout: p.cutout,
    lengths: Object.values(p.lengths),
    weights: Object.values(p.weights),
    longThreshold: p.long_threshold,
    shortThreshold: p.short_threshold,
  };
  writeFileSync(join(out, `${name}.wire.f64`), bytes(encodeParams(resolveParams(params))));
  const skipped = new Set(f.skipped_symbols.map((s) => s.symbol));
  writeFileSync(join(out, `${name}.series.u8`), Uint8Array.from(symbols, (s) => (skipped.has(s) ? 0 : 1)));
  const file = sqlString(join(golden, f.file));
  const have = new Set((await q(`DESCRIBE SELECT * FROM ${file}`)).map((r) => String(r[0])));
  const select = cols.map((c) => (have.has(c) ? `g."${c}"` : 'NULL')).join(', ');
  const sens = sqlString(join(golden, 'order_sensitive_rows.parquet'));
  const got = await q(
    `SELECT ${select}, s.symbol IS NOT NULL FROM ${file} g
     LEFT JOIN (SELECT DISTINCT symbol, ts FROM ${sens} WHERE file = ${sqlString(f.file)}) s USING (symbol, ts)
     ORDER BY g.symbol, g.ts`,
  );
  if (got.length !== f.rows) throw new Error(`${f.file}: ${got.length} rows, the manifest says ${f.rows}`);
  const expected = new Float64Array(cols.length * got.length);
  got.forEach((r, j) => cols.forEach((_, c) => (expected[c * got.length + j] = r[c] === null ? NaN : Number(r[c]))));
  writeFileSync(join(out, `${name}.expected.f64`), bytes(expected));
  writeFileSync(join(out, `${name}.sensitive.u8`), Uint8Array.from(got, (r) => (r[cols.length] ? 1 : 0)));
  index.push(`${name} ${f.profile} ${f.rows}`);
}
writeFileSync(join(out, 'golden.txt'), index.join('\n') + '\n');
db.close();
console.log(`cuda fixtures: ${symbols.length} symbols, ${rows.length} bars, ${index.length} golden files -> ${out}`);
