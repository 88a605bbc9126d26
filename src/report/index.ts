// `atc report`: one self-contained HTML file from a run directory (see README "atc report").
// gather.ts reads the run's tables, series.ts the per-bar data of a few symbols, html.ts puts
// the page together with uPlot and the page script inlined.

import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { OutputKind } from '../results/outputs.js';
import { openDb } from '../data/duckdb.js';
import { stagesText } from '../pipeline/run-json.js';
import type { StageSeconds } from '../pipeline/run.js';
import { AtcError, DataError, UsageError } from '../errors.js';
import { createViews } from '../results/views.js';
import type { BadRowPolicy } from '../stages/load/index.js';
import { resolveStrategy, type StrategySpec } from '../strategies/registry.js';
import { type StrategyTables, tablesOf } from '../strategies/tables.js';
import { chooseSymbols, overlayOf, portfolioOf, readSets, type Row, rows, sweepOf, symbolView, universeOf, varying } from './gather.js';
import { renderHtml } from './html.js';
import type { ReportData, Sweep, SymbolView } from './model.js';
import { type RunSource, symbolSeries } from './series.js';

export interface ReportOptions {
  /** the run directory */
  dir: string;
  /** the HTML file [<dir>/report.html] */
  to?: string | undefined;
  /** the parameter set shown [the only one; in a sweep, the best by median Sharpe] */
  set?: string | undefined;
  /** symbols drawn besides the top and bottom ones */
  symbols?: readonly string[];
  /** top and bottom symbols by Sharpe drawn [10] */
  top?: number;
  log?: (msg: string) => void;
}

export interface ReportResult {
  file: string;
  bytes: number;
  seconds: number;
  set: string;
  /** symbols with per-bar charts */
  drawn: number;
  /** where their series came from, or why there are none */
  seriesNote: string;
}

interface RunJsonFile {
  status: string;
  keyParts: { data: unknown };
  data: { spec: string; files: string[] };
  profile: string;
  sets: number;
  engine: { engine: string; reason: string };
  outputs: OutputKind[];
  badRows: BadRowPolicy;
  capital: number;
  equity: boolean;
  workers: number;
  passes: number;
  counts: { symbols: number; symbolsSkipped: number; bars: number; rejects: number; commits: number };
  /** stages and peakRssMB: absent in runs of earlier versions */
  timings: { seconds: number; kernelSeconds: number; stages?: StageSeconds; peakRssMB?: number };
  tool: { version: string; kernel: string };
  finished: string;
  /** the strategy and how to rebuild it (absent in runs of earlier versions: the ATC) */
  strategy?: StrategySpec;
  /** what the result cache did, when the run recorded it */
  cache?: { hits: number; incremental: number; computed: number; stored: number; dir: string; note?: string };
}

const int = (n: number): string => n.toLocaleString('en-US');

export async function buildReport(o: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const runJson = join(o.dir, 'run.json');
  if (!existsSync(runJson)) throw new AtcError('ATC_ERR_DATA_READ', `${o.dir} is not a run directory (no run.json); pass --out`);
  const run = JSON.parse(readFileSync(runJson, 'utf8')) as RunJsonFile;
  if (run.status !== 'complete') throw new AtcError('ATC_ERR_DATA_READ', `${o.dir} holds a run that did not finish: rerun the same \`atc run\` to complete it`);
  const has = (k: OutputKind): boolean => run.outputs.includes(k);
  const db = await openDb({ threads: 2, memoryLimit: '1GB' });
  try {
    const conn = db.conn;
    await createViews(conn, o.dir);
    const strategy = await resolveStrategy(run.strategy ?? { name: 'atc' });
    const tables = tablesOf(strategy);
    const { sets, rows: paramRows } = await readSets(conn, strategy);
    // independent queries run two at a time (DuckDB leaves gaps in its threads' work)
    const other = await db.connect();
    const [sweep, header] = await Promise.all([
      sets.length > 1 ? sweepOf(conn, paramRows, { stats: has('stats'), portfolio: has('portfolio') }, tables) : null,
      headerOf(other, o.dir, run, paramRows, has('summary'), tables),
    ]);
    let setId = o.set;
    let why = 'chosen with --set';
    if (setId === undefined) {
      const best = sweep?.metrics[0]?.key === 'median_sharpe' ? bestSet(sweep) : undefined;
      setId = best ?? sets[0]?.id;
      why = best
        ? 'the best set by median Sharpe across symbols (build with --set <param_id> for another)'
        : sets.length === 1
          ? 'the run’s only parameter set'
          : 'the first parameter set (the run wrote no stats to rank them)';
    }
    const set = sets.find((s) => s.id === setId);
    if (!set) throw new UsageError(`--set ${setId}: no such parameter set in this run (see params.parquet)`);
    const setRow = paramRows.find((r) => r.param_id === set.id) ?? {};

    const [universe, portfolio] = await Promise.all([
      universeOf(conn, set.id, { stats: has('stats'), summary: has('summary') }, tables),
      has('portfolio') ? portfolioOf(other, set.id, run.capital) : null,
    ]);

    const overlay = overlayOf(set, strategy);
    const chosen = chooseSymbols(universe, o.top ?? 10, o.symbols ?? []);
    let symbols: SymbolView[] = [];
    let seriesNote: string;
    const source: RunSource = {
      dir: o.dir,
      data: run.data,
      fingerprint: run.keyParts.data,
      badRows: run.badRows,
      capital: run.capital,
      signalsWithEquity: has('signals') && run.equity,
      strategy,
    };
    try {
      const series = await symbolSeries(source, db, conn, set, chosen, { log });
      symbols = series.map((s) => symbolView(s, overlay, run.capital));
      seriesNote =
        series[0]?.source === 'signals'
          ? 'per-bar series from the run’s signals'
          : `per-bar series recomputed with the run’s parameters from ${run.data.spec} (the run wrote no signals with equity columns): the top and bottom ${o.top ?? 10} symbols by ${universe?.rankBy ?? 'rank'}${o.symbols?.length ? ' and those named with --symbol' : ''}`;
    } catch (e) {
      // the data moved or changed since the run: the report is built without per-bar charts
      if (!(e instanceof DataError) && !(e instanceof AtcError && e.code === 'ATC_ERR_DATA_READ')) throw e;
      seriesNote = `no per-bar charts: ${e.message}`;
      log(seriesNote);
    }

    const data: ReportData = {
      title: `atc report: ${o.dir.split('/').filter(Boolean).pop() ?? o.dir}`,
      generated: new Date().toISOString(),
      header,
      set: {
        id: set.id,
        why,
        params: Object.entries(setRow)
          .filter(([k]) => k !== 'param_id')
          .map(([k, v]) => [k, String(v)]),
      },
      portfolio,
      portfolioNote: has('portfolio') ? '' : 'The run wrote no portfolio: run with --outputs …,portfolio for the portfolio’s curves and statistics.',
      universe,
      symbols,
      overlay,
      symbolsNote: seriesNote,
      sweep,
    };
    const file = o.to ?? join(o.dir, 'report.html');
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, renderHtml(data));
    renameSync(tmp, file);
    return { file, bytes: statSync(file).size, seconds: (performance.now() - t0) / 1000, set: set.id, drawn: symbols.length, seriesNote };
  } finally {
    db.close();
  }
}

/** The set with the highest median Sharpe (the sweep's first metric); ties to the lower param_id. */
function bestSet(sweep: Sweep): string | undefined {
  let best: Sweep['sets'][number] | undefined;
  for (const s of sweep.sets) {
    const v = s.m[0];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    if (!best || v > (best.m[0] as number) || (v === best.m[0] && s.id < best.id)) best = s;
  }
  return best?.id;
}

async function headerOf(conn: DuckDBConnection, dir: string, run: RunJsonFile, paramRows: Row[], hasSummary: boolean, tables: StrategyTables): Promise<[string, string][]> {
  const c = run.counts;
  const h: [string, string][] = [];
  h.push(['data', `${run.data.spec} (${run.data.files.length} file${run.data.files.length === 1 ? '' : 's'})`]);
  h.push(['symbols', `${int(c.symbols)}${c.symbolsSkipped ? ` (${int(c.symbolsSkipped)} skipped)` : ''}`]);
  h.push(['bars', int(c.bars)]);
  if (hasSummary) {
    const [r] = await rows(conn, "SELECT strftime(min(first_ts), '%Y-%m-%d %H:%M') AS a, strftime(max(last_ts), '%Y-%m-%d %H:%M') AS b FROM summary");
    if (r?.a) h.push(['date range', `${String(r.a).replace(/ 00:00$/, '')} to ${String(r.b).replace(/ 00:00$/, '')}`]);
  }
  const spec = run.strategy;
  h.push(['strategy', tables.strategy === 'atc' ? `Adaptive Trend Classification, profile ${run.profile}` : `${tables.strategy}${spec?.module ? ` (${spec.module})` : ''}${spec?.signalCol ? ` (column ${spec.signalCol})` : ''}`]);
  const grid = varying(paramRows, tables);
  h.push(['parameters', grid.length === 0 ? 'one set (below)' : `${int(run.sets)} sets: ${grid.map((g) => `${g.key} ∈ {${g.values.join(', ')}}`).join('; ')}`]);
  h.push(['engine', `${run.engine.engine}: ${run.engine.reason}`]);
  h.push(['timings', `${run.timings.seconds} s (kernel ${run.timings.kernelSeconds} s across ${run.workers} workers), ${run.passes} pass${run.passes === 1 ? '' : 'es'}, ${int(c.commits)} commit${c.commits === 1 ? '' : 's'}`]);
  const { stages, peakRssMB } = run.timings;
  if (stages && peakRssMB !== undefined) h.push(['stages', stagesText(stages, peakRssMB)]);
  const k = run.cache;
  h.push(['cache', k ? `${int(k.hits)} (symbol, set) results from the cache, ${int(k.incremental)} continued over new bars, ${int(k.computed)} computed, ${int(k.stored)} stored${k.note ? `; ${k.note}` : ''}` : 'not recorded in run.json']);
  const rej = await rows(conn, 'SELECT reason, action, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, reason');
  h.push(['rejects', c.rejects === 0 ? 'none' : `${int(c.rejects)}: ${rej.map((r) => `${int(r.n as number)} ${String(r.reason)} (${String(r.action)})`).join(', ')}`]);
  h.push(['outputs', run.outputs.join(', ')]);
  h.push(['run', `${dir}, finished ${run.finished}, atc-backtest ${run.tool.version}, ${run.tool.kernel}`]);
  return h;
}
