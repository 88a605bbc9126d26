// The results of symbols answered by the cache (cache/plan.ts names their entries). Without
// trades their summary and stats rows are SQL over the cache's segments, read by finalize (not
// committed: a killed run looks them up again). With trades (rows made here) all three tables
// are written as parts and committed.

import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { blobBytes, f64, type Found, readPayloads, statColumn, summaryValueColumns } from '../../cache/entries.js';
import type { CacheStore } from '../../cache/store.js';
import { sqlIdent, sqlString } from '../../data/duckdb.js';
import { type Row, writeRows } from '../../data/rows-writer.js';
import { AtcError } from '../../errors.js';
import type { RunDir } from '../../results/run-dir.js';
import { type Column, PARQUET_OPTIONS, STATS_PART, TRADES } from '../../results/schema.js';
import { ATC_TABLES, type StrategyTables } from '../../strategies/tables.js';
import type { TempFile } from './pending.js';
import { openTradeRow, tradeRecordRows } from './rows.js';

/** SELECTs of the summary and stats part rows of cached entries (`hits`) of a run of `tables`' strategy. */
export function cachedRowsSql(store: CacheStore, hits: Found, minSignal: number, tables: StrategyTables = ATC_TABLES): { summary: string; stats: string } {
  const m = minSignal;
  const expr: Record<string, string> = {
    first_ts: 'make_timestamp(s.first_ts)',
    last_ts: 'make_timestamp(s.last_ts)',
    // trendOf (the ATC) or the last direction (rows.ts summaryRow), in SQL (a NULL signal is NEUTRAL)
    trend:
      tables.strategy === 'atc'
        ? `CASE WHEN s."Average_Signal" >= CAST('${m}' AS DOUBLE) THEN 'LONG' WHEN s."Average_Signal" <= CAST('${-m}' AS DOUBLE) THEN 'SHORT' ELSE 'NEUTRAL' END`
        : `CASE WHEN s.direction = 1 THEN 'LONG' WHEN s.direction = -1 THEN 'SHORT' ELSE 'NEUTRAL' END`,
  };
  for (const { column, segment } of summaryValueColumns(tables)) if (column.name !== segment) expr[column.name] = `s.${sqlIdent(segment)}`;
  const select = (cols: readonly Column[], src: (name: string) => string): string => cols.map((c) => `CAST(${src(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');
  const from = `FROM ${store.segments.sql(hits.files)} AS s JOIN ${hits.table} AS h ON s.key = h.key AND s.filename = h.filename`;
  return {
    summary: `SELECT ${select(tables.summary.columns, (n) => expr[n] ?? `s.${sqlIdent(n)}`)} ${from}`,
    // symbol and param_id are the entry's own; the rest are its stats values
    stats: `SELECT ${select(STATS_PART.columns, (n) => (n === 'symbol' || n === 'param_id' ? `s.${sqlIdent(n)}` : `s.${sqlIdent(statColumn(n))}`))} ${from}`,
  };
}

/** Write the summary, stats and trades parts of cached entries (`hits`) and commit them. */
export async function commitCachedWithTrades(
  o: { rd: RunDir; conn: DuckDBConnection; store: CacheStore; group: number; nSets: number },
  sql: { summary: string; stats: string },
  hits: Found,
  symbols: string[],
  bars: number,
): Promise<void> {
  const { rd, conn, store } = o;
  const parts: TempFile[] = [];
  const name = `part-cache-g${o.group}-${randomUUID().slice(0, 13)}.parquet`;
  for (const [dir, q] of [['parts/summary', sql.summary], ['parts/stats', sql.stats]] as const) {
    const f = rd.tempFile(dir, name);
    await conn.run(`COPY (${q}) TO ${sqlString(f.temp)} (${PARQUET_OPTIONS})`);
    parts.push(f);
  }
  const entries = await readPayloads(conn, store.segments, hits, { symbol: 's.symbol', param_id: 's.param_id', account: 's.account' }, 'e.code, e.k', true);
  // the planner verified these segments; one dropped since (by another run) fails the run
  if (entries.length !== symbols.length * o.nSets) {
    throw new AtcError('ATC_ERR_CACHE', `${store.dir}: cached trades went missing during the run; run again`);
  }
  const rows: Row[] = [];
  for (const e of entries) {
    const [symbol, id] = [String(e.symbol), String(e.param_id)];
    rows.push(...tradeRecordRows(symbol, id, f64(blobBytes(e.trades))));
    const open = openTradeRow(symbol, id, f64(blobBytes(e.account)));
    if (open) rows.push(open);
  }
  if (rows.length > 0) {
    const f = rd.tempFile('parts/trades', name);
    await writeRows(conn, TRADES.columns, rows, f.temp);
    parts.push(f);
  }
  rd.commit({ group: o.group, symbols, files: parts, bars, rejects: 0 });
}
