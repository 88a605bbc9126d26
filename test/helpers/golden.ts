// Golden files (test/golden, copied from ../shared/golden) read through DuckDB.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { type ParamsInput } from '../../src/config/params.js';
import type { Profile } from '../../src/config/profiles.js';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

export interface GoldenFile {
  file: string;
  profile: Profile;
  parameter_set: string;
  sha256: string;
  rows: number;
  parameters: {
    robustness: 'Narrow' | 'Medium' | 'Wide';
    La: number;
    De: number;
    cutout: number;
    lengths: Record<string, number>;
    weights: Record<string, number>;
    long_threshold: number;
    short_threshold: number;
  };
  skipped_symbols: { symbol: string }[];
}

export interface Manifest {
  files: GoldenFile[];
  input: { file: string };
}

export function manifest(): Manifest {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, 'manifest.json'), 'utf8')) as Manifest;
}

export function paramsOf(f: GoldenFile): ParamsInput {
  const p = f.parameters;
  return {
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
}

export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const r = await c.runAndReadAll(sql);
    return r.getRowObjects() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

export interface GoldenInput {
  symbols: string[];
  /** per symbol: closes and ts (as text, the join key) */
  closes: Float64Array[];
  ts: string[][];
}

export async function goldenInput(): Promise<GoldenInput> {
  const rows = await query(`SELECT symbol, ts::VARCHAR AS ts, close FROM '${join(GOLDEN_DIR, 'input.parquet')}' ORDER BY symbol, ts`);
  const by = new Map<string, { c: number[]; t: string[] }>();
  for (const r of rows) {
    const k = String(r.symbol);
    let e = by.get(k);
    if (!e) by.set(k, (e = { c: [], t: [] }));
    e.c.push(Number(r.close));
    e.t.push(String(r.ts));
  }
  const symbols = [...by.keys()];
  return { symbols, closes: symbols.map((s) => Float64Array.from(by.get(s)!.c)), ts: symbols.map((s) => by.get(s)!.t) };
}

/** Golden rows of one file keyed by symbol|ts; NULL is NaN. */
export async function goldenRows(file: string): Promise<Map<string, Record<string, number>>> {
  const rows = await query(`SELECT * EXCLUDE (ts), ts::VARCHAR AS ts FROM '${join(GOLDEN_DIR, file)}'`);
  const m = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const o: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) if (k !== 'symbol' && k !== 'ts') o[k] = v === null ? NaN : Number(v);
    m.set(`${String(r.symbol)}|${String(r.ts)}`, o);
  }
  return m;
}

export async function orderSensitive(file: string): Promise<Set<string>> {
  const rows = await query(`SELECT symbol, ts::VARCHAR AS ts FROM '${join(GOLDEN_DIR, 'order_sensitive_rows.parquet')}' WHERE file = '${file}'`);
  return new Set(rows.map((r) => `${String(r.symbol)}|${String(r.ts)}`));
}
