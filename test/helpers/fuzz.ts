// Fuzzing the readers: damaged Parquet and CSV files (truncated, bytes flipped, ranges
// overwritten, random bytes) given to `atc run` (backtest()) and `atc data import`
// (importBars), in-process. Every case must end in a coded error (ATC_ERR_*) or in results that
// agree with what DuckDB reads from the damaged file (the bad-row policy accounted for): never an
// uncoded error, a hang, or results that differ from the file silently. Seeded: a failing case
// reproduces from its seed and index.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backtest } from '../../src/api/backtest.js';
import { openDb } from '../../src/data/duckdb.js';
import { importBars } from '../../src/data/import.js';
import { isAtcError } from '../../src/errors.js';
import { query } from './golden.js';

/** mulberry32: a small seeded generator (uniform in [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MUTATIONS = ['truncate', 'flip', 'overwrite', 'random', 'splice-text'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** A damaged copy of `base`. */
export function mutate(base: Buffer, kind: Mutation, r: () => number): Buffer {
  const at = (n: number): number => Math.floor(r() * n);
  const b = Buffer.from(base);
  switch (kind) {
    case 'truncate':
      return b.subarray(0, at(b.length));
    case 'flip':
      for (let k = 1 + at(8); k > 0; k--) {
        const i = at(b.length);
        b[i] = (b[i] as number) ^ (1 << at(8));
      }
      return b;
    case 'overwrite': {
      const i = at(b.length);
      const n = Math.min(b.length - i, 1 + at(64));
      for (let k = 0; k < n; k++) b[i + k] = at(256);
      return b;
    }
    case 'random': {
      const out = Buffer.alloc(at(4096));
      for (let k = 0; k < out.length; k++) out[k] = at(256);
      // half of them keep Parquet's magic bytes, so the reader gets past them
      if (r() < 0.5 && out.length >= 8) {
        out.write('PAR1', 0);
        out.write('PAR1', out.length - 4);
      }
      return out;
    }
    case 'splice-text': {
      // text-shaped damage for CSV: a field emptied, quoted, doubled, or a line cut or repeated
      const lines = b.toString('latin1').split('\n');
      const li = 1 + at(Math.max(1, lines.length - 1));
      const cells = (lines[li] ?? '').split(',');
      const ci = at(cells.length);
      const edits = [() => (cells[ci] = ''), () => (cells[ci] = `"${cells[ci]}`), () => cells.push('x'), () => cells.splice(ci, 1), () => (cells[ci] = 'NaN'), () => (cells[ci] = '-1e309')];
      (edits[at(edits.length)] as () => void)();
      lines[li] = cells.join(',');
      if (r() < 0.3) lines.splice(li, 0, lines[li] as string);
      return Buffer.from(lines.join('\n'), 'latin1');
    }
  }
}

export type Outcome = { kind: 'ok' } | { kind: 'coded'; code: string } | { kind: 'crash'; message: string } | { kind: 'hang' } | { kind: 'wrong'; message: string };

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function classify(e: unknown): Outcome {
  return isAtcError(e) ? { kind: 'coded', code: e.code } : { kind: 'crash', message: (e as Error)?.stack ?? String(e) };
}

/** `atc run` over a damaged Parquet file: a coded error, or per symbol the bars DuckDB reads minus the rows the policy dropped. */
export async function fuzzRun(file: string, out: string, badRows: 'error' | 'drop', timeoutMs = 60_000): Promise<Outcome> {
  rmSync(out, { recursive: true, force: true });
  const r = await within(
    backtest({ data: file, out, cache: false, workers: 1, badRows, outputs: ['summary'], logger: () => undefined }).then(
      () => ({ kind: 'ok' }) as Outcome,
      classify,
    ),
    timeoutMs,
  );
  if (r === 'hang') return { kind: 'hang' };
  if (r.kind !== 'ok') return r;
  const wrong = await query(
    `WITH f AS (SELECT symbol, count(*) AS n FROM read_parquet('${file}') GROUP BY symbol),
          d AS (SELECT symbol, count(*) AS n FROM read_parquet('${out}/rejects.parquet') WHERE action = 'dropped row' GROUP BY symbol)
     SELECT s.symbol, s.bars, f.n AS file_rows, coalesce(d.n, 0) AS dropped
     FROM read_parquet('${out}/summary.parquet') s LEFT JOIN f USING (symbol) LEFT JOIN d USING (symbol)
     WHERE f.n IS NULL OR s.bars <> f.n - coalesce(d.n, 0)`,
  );
  return wrong.length === 0 ? r : { kind: 'wrong', message: JSON.stringify(wrong.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) };
}

/** `atc data import` of a damaged file: a coded error, or an output holding the rows it reports. */
export async function fuzzImport(file: string, to: string, timeoutMs = 60_000): Promise<Outcome> {
  rmSync(to, { force: true });
  const db = await openDb({ memoryLimit: '256MB' });
  try {
    const r = await within(importBars(db.conn, { from: file, to }).then((x) => x.rows, classify), timeoutMs);
    if (r === 'hang') return { kind: 'hang' };
    if (typeof r !== 'number') return r;
    const [n] = await query(`SELECT count(*) AS n FROM read_parquet('${to}')`);
    return Number(n?.n) === r ? { kind: 'ok' } : { kind: 'wrong', message: `import reported ${r} rows, wrote ${Number(n?.n)}` };
  } finally {
    db.close();
  }
}

export interface FuzzTally {
  cases: number;
  ok: number;
  coded: Record<string, number>;
  /** crashes, hangs and silently wrong results, with the seed and case to reproduce them */
  failures: string[];
}

/**
 * `cases` damaged copies of each base file (`parquet` to run and import, `csv` to import and run),
 * mutation and policy drawn from `seed`; `only` replays just those cases of the sequence.
 */
export async function fuzz(dir: string, bases: { parquet: string; csv: string }, cases: number, seed: number, only?: ReadonlySet<number>): Promise<FuzzTally> {
  const tally: FuzzTally = { cases: 0, ok: 0, coded: {}, failures: [] };
  const r = rng(seed);
  const base = { parquet: readFileSync(bases.parquet), csv: readFileSync(bases.csv) };
  for (let i = 0; i < cases; i++) {
    const fmt = i % 2 === 0 ? 'parquet' : 'csv';
    const kind = MUTATIONS[Math.floor(r() * (fmt === 'csv' ? MUTATIONS.length : MUTATIONS.length - 1))] as Mutation;
    const file = join(dir, `case.${fmt}`);
    writeFileSync(file, mutate(base[fmt], kind, r));
    // Parquet goes to run (every 8th case also to import); CSV to import (every 16th also to run)
    const targets: ('run' | 'import')[] = fmt === 'parquet' ? (i % 8 === 0 ? ['run', 'import'] : ['run']) : i % 16 === 1 ? ['import', 'run'] : ['import'];
    for (const t of targets) {
      const policy = r() < 0.5 ? 'error' : 'drop';
      if (only && !only.has(i)) continue;
      const o = t === 'run' ? await fuzzRun(file, join(dir, 'out'), policy) : await fuzzImport(file, join(dir, 'imported.parquet'));
      tally.cases++;
      if (o.kind === 'ok') tally.ok++;
      else if (o.kind === 'coded') tally.coded[o.code] = (tally.coded[o.code] ?? 0) + 1;
      else tally.failures.push(`seed ${seed} case ${i} (${fmt}, ${kind}, ${t}${t === 'run' ? ` --bad-rows ${policy}` : ''}): ${o.kind}${'message' in o ? `: ${o.message}` : ''}`);
    }
  }
  return tally;
}
