// Per-bar series of a few symbols of a finished run, for the report's symbol view: read from
// the run's signals when they hold the equity columns, else recomputed with the run's
// parameters from the run's data source (same bits as the run: the same loader rules, the
// same kernel job and accounting), for the ATC and every other strategy (its outputs, input
// columns and job). The one place that knows where per-bar data comes from.

import type { DuckDBConnection } from '@duckdb/node-api';
import { ACCT_SIZE, freshAccount } from '../backtest/accounting.js';
import type { ParamSet } from '../config/grid.js';
import { minimumBars } from '../config/params.js';
import { indexSource, readBars } from '../data/bars-reader.js';
import { type Db, sqlIdent, sqlString } from '../data/duckdb.js';
import { type BarSource, openBarSource, tableSource } from '../data/source.js';
import { createJobKernel } from '../engine/job.js';
import { selectEngine } from '../engine/select.js';
import { AtcError } from '../errors.js';
import { attachSlot, createSharedSlot } from '../pool/slots.js';
import { fileFingerprint } from '../results/run-dir.js';
import { type BadRowPolicy, loadBatches } from '../stages/load/index.js';
import { createDirectJob } from '../strategies/direct-job.js';
import { tablesOf } from '../strategies/tables.js';
import type { Strategy } from '../strategies/types.js';

/** What symbolSeries needs to know about the run (from its run.json). */
export interface RunSource {
  dir: string;
  /** run.json `data`: what --data named and the files it resolved to */
  data: { spec: string; files: string[] };
  /** run.json `keyParts.data`: the files' identities when the run read them */
  fingerprint: unknown;
  badRows: BadRowPolicy;
  capital: number;
  /** the run wrote signals with the position, strategy_return and equity columns */
  signalsWithEquity: boolean;
  /** the run's strategy (absent: the ATC) */
  strategy?: Strategy | undefined;
}

export interface SymbolSeries {
  symbol: string;
  /** epoch microseconds */
  ts: Float64Array;
  close: Float64Array;
  /** the strategy's per-bar outputs (outputNames: NaN for na; direction, 0 for na) */
  outputs: Record<string, Float64Array>;
  /** position held from this close on */
  position: Float64Array;
  /** the bar's strategy return */
  ret: Float64Array;
  /** equity times the run's capital */
  equity: Float64Array;
  source: 'signals' | 'recomputed';
}

/** Names of a strategy's per-bar outputs (absent: the ATC's), in SymbolSeries.outputs. */
export const outputNames = (strategy?: Strategy): string[] => [...tablesOf(strategy).planes, 'direction'];

export interface SeriesOptions {
  /** 'auto': signals when they hold the equity columns, else recompute */
  from?: 'auto' | 'signals' | 'recompute';
  log?: (msg: string) => void;
}

/**
 * The per-bar series of `symbols` under parameter set `set` of the run, in the order asked.
 * `conn` has the run's views (results/views.ts); `db` is its database (for reading bars).
 */
export async function symbolSeries(run: RunSource, db: Db, conn: DuckDBConnection, set: ParamSet, symbols: readonly string[], opts: SeriesOptions = {}): Promise<SymbolSeries[]> {
  if (symbols.length === 0) return [];
  const from = opts.from ?? 'auto';
  const useSignals = from === 'signals' || (from === 'auto' && run.signalsWithEquity);
  if (useSignals && !run.signalsWithEquity) throw new AtcError('ATC_ERR_DATA_READ', `${run.dir}: the run wrote no signals with equity columns (--outputs signals --equity)`);
  const got = useSignals ? await fromSignals(conn, set, symbols, run.strategy) : await recompute(run, db, set, symbols, opts.log);
  const by = new Map(got.map((s) => [s.symbol, s]));
  return symbols.map((s) => {
    const r = by.get(s);
    if (!r) throw new AtcError('ATC_ERR_DATA_READ', `${s}: no bars of this symbol in the run (${useSignals ? 'signals' : run.data.spec})`);
    return r;
  });
}

async function fromSignals(conn: DuckDBConnection, set: ParamSet, symbols: readonly string[], strategy: Strategy | undefined): Promise<SymbolSeries[]> {
  const names = outputNames(strategy);
  const cols = ['close', ...names, 'position', 'strategy_return', 'equity'];
  const r = await conn.runAndReadAll(
    `SELECT symbol, epoch_us(ts) AS t, ${cols.map(sqlIdent).join(', ')} FROM signals
     WHERE param_id = ${sqlString(set.id)} AND symbol IN (${symbols.map(sqlString).join(', ')}) ORDER BY symbol, ts`,
  );
  const c = r.getColumnsJS();
  const sym = c[0] as string[];
  const out: SymbolSeries[] = [];
  for (let a = 0; a < sym.length; ) {
    let b = a;
    while (b < sym.length && sym[b] === sym[a]) b++;
    // NULL is na: NaN in the float planes (the writer wrote NaN as NULL), 0 for direction
    const col = (k: number, na: number): Float64Array => Float64Array.from((c[k] as (number | bigint | null)[]).slice(a, b), (v) => (v === null ? na : Number(v)));
    const outputs: Record<string, Float64Array> = {};
    names.forEach((name, i) => (outputs[name] = col(3 + i, name === 'direction' ? 0 : NaN)));
    const k = 3 + names.length;
    out.push({ symbol: sym[a] as string, ts: col(1, NaN), close: col(2, NaN), outputs, position: col(k, NaN), ret: col(k + 1, NaN), equity: col(k + 2, NaN), source: 'signals' });
    a = b;
  }
  return out;
}

let tableSeq = 0;

/** The run's bars of `symbols`, through the run's loader rules, and the run's kernel job. */
async function recompute(run: RunSource, db: Db, set: ParamSet, symbols: readonly string[], log?: (msg: string) => void): Promise<SymbolSeries[]> {
  const { spec, files } = run.data;
  // a file named by a relative path is reopened by its absolute one
  const inputs = (run.strategy?.inputs ?? []).map((c) => c.name).filter((n) => n !== 'close');
  const src = await openBarSource(db.conn, !/[*?[]/.test(spec) && files.length === 1 ? (files[0] as string) : spec, inputs);
  if (JSON.stringify(fileFingerprint(src.files)) !== JSON.stringify(run.fingerprint)) {
    throw new AtcError('ATC_ERR_DATA_READ', `${spec} changed since the run (files, sizes or modification times differ): series recomputed from it would not be the run's`);
  }
  // The symbols' rows in one scan (row groups skipped by their statistics), in the order the
  // run's reader gives them: file order, or sorted by symbol, ts for a source that is not
  // grouped by symbol. (A table made without ORDER BY does not keep the file's order.)
  const table = `atc_report_bars_${process.pid}_${++tableSeq}`;
  const list = `[${src.files.map(sqlString).join(', ')}]`;
  const order = (await src.symbolSorted()) ? `list_position(${list}, filename), file_row_number` : 'symbol, t NULLS FIRST';
  await db.conn.run(
    `CREATE TABLE ${table} AS SELECT ${src.symbolSql} AS symbol, ${src.tsSql} AS t, ${src.closeSql} AS close${inputs.map((c) => `, ${src.columnSql(c)} AS ${sqlIdent(c)}`).join('')}
     FROM read_parquet(${list}, union_by_name = true, file_row_number = true, filename = true)
     WHERE ${src.symbolSql} IN (${symbols.map(sqlString).join(', ')}) ORDER BY ${order}`,
  );
  try {
    return await computeTable(run, db, tableSource(src, table), set, log);
  } finally {
    await db.conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** Every symbol of `src` through the loader (the run's bad-row rules) and the kernel job. */
async function computeTable(run: RunSource, db: Db, src: BarSource, set: ParamSet, log?: (msg: string) => void): Promise<SymbolSeries[]> {
  const index = await indexSource(db.conn, src);
  const capacity = Math.max(1, ...index.rows);
  // one slot that holds the longest symbol whole: no symbol is cut into blocks
  const strategy = run.strategy;
  const inputs = (strategy?.inputs ?? []).filter((c) => c.name !== 'close');
  const slot = attachSlot(createSharedSlot(capacity, true, inputs.map((c) => c.name)), 0);
  const engine = selectEngine('auto', log ?? (() => undefined));
  const values = set.strategy?.values ?? {};
  const kernel = strategy ? createDirectJob(strategy, [{ values, trade: set.trade }], engine.engine) : createJobKernel([{ params: set.params, trade: set.trade }], engine.engine, { simdPath: engine.simdPath });
  const planes = tablesOf(strategy).planes;
  const out: SymbolSeries[] = [];
  const batches = loadBatches(readBars(db, src, index, { columns: inputs.map((c) => c.name) }), {
    symbols: index.symbols,
    inputs,
    minBars: strategy ? strategy.minimumBars(values) : minimumBars(set.params),
    file: run.data.spec,
    policy: run.badRows,
    acquire: () => Promise.resolve(slot),
    expectedRows: index.rows,
  });
  // the loader fills the slot again only when asked for the next batch: this one is read by then
  for await (const batch of batches) {
    const { series } = batch;
    if (series.length === 0) continue;
    const offsets = Uint32Array.from([series[0]?.start ?? 0, ...series.map((s) => s.start + s.length)]);
    const accounts = new Float64Array(series.length * ACCT_SIZE);
    for (let s = 0; s < series.length; s++) accounts.set(freshAccount(), s * ACCT_SIZE);
    const end = offsets[series.length] as number;
    const ins = Object.fromEntries(Object.entries(slot.inputs).map(([name, x]) => [name, x.subarray(0, end)]));
    kernel.run({ closes: slot.closes.subarray(0, end), inputs: ins, offsets, ts: slot.ts, accounts, out: slot.out, extra: slot.extra }, series.map((s) => s.symbol));
    const st = slot.out.stride;
    for (const s of series) {
      const plane = (a: Float64Array, p: number): Float64Array => a.slice(p * st + s.start, p * st + s.start + s.length);
      const outputs: Record<string, Float64Array> = {};
      planes.forEach((name, p) => (outputs[name] = plane(slot.out.values, p)));
      outputs.direction = Float64Array.from(slot.out.direction.subarray(s.start, s.start + s.length));
      out.push({
        symbol: s.symbol,
        ts: slot.ts.slice(s.start, s.start + s.length),
        close: slot.closes.slice(s.start, s.start + s.length),
        outputs,
        position: plane(slot.extra, 0),
        ret: plane(slot.extra, 1),
        // scaled as the signals writer scales it (one multiplication: the same bits)
        equity: plane(slot.extra, 2).map((e) => e * run.capital),
        source: 'recomputed',
      });
    }
  }
  return out;
}
