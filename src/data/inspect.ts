// `atc data inspect`: what a bar source holds and what is wrong with it, without changing it.

import { indexSource, NULL_CODE, readBars } from './bars-reader.js';
import type { Db } from './duckdb.js';
import { type BarSource } from './source.js';

export interface SymbolIssues {
  symbol: string;
  bars: number;
  first: string | null;
  last: string | null;
  duplicates: number;
  unsorted: number;
  missing: number;
  nullTs: number;
  nullClose: number;
  badClose: number;
}

export interface InspectReport {
  source: string;
  files: number;
  rows: number;
  symbols: number;
  first: string | null;
  last: string | null;
  barsPerSymbol: { min: number; median: number; max: number };
  nullSymbol: number;
  nullTs: number;
  nullClose: number;
  /** NaN, infinite, zero or negative closes */
  badClose: number;
  /** rows whose (symbol, ts) appeared before */
  duplicates: number;
  /** rows whose ts is before the previous row of the same symbol (file order) */
  unsorted: number;
  /** places where the file order leaves a symbol and comes back to it, or goes back in symbol order */
  symbolOrderBreaks: number;
  /** bars missing against the calendar of all symbols (within each symbol's first..last) */
  missingBars: number;
  /** the most common spacing between consecutive timestamps of all symbols, in seconds */
  barSeconds: number | null;
  /** holes in that calendar (every symbol is missing there: exchange-wide outages, weekends) */
  calendarGaps: { gaps: number; missingBars: number };
  /** per symbol, steps longer than barSeconds, summed over symbols (whatever their cause) */
  timeGaps: { gaps: number; missingBars: number };
  /** rows with high < low, or open/close outside [low, high] (when those columns exist) */
  ohlcInconsistent: number | null;
  /** sorted by symbol, ts with no duplicate: ready for `atc run` */
  sorted: boolean;
  /** symbols with at least one issue */
  issues: SymbolIssues[];
}

export async function inspectSource(db: Db, src: BarSource): Promise<InspectReport> {
  const conn = db.conn;
  const cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src.relation}`)).getRows().map((r) => String(r[0]));
  const rel = `(SELECT ${src.symbolSql} AS symbol, CASE WHEN ts IS NULL THEN NULL ELSE make_timestamp(${src.tsSql}) END AS ts, ${src.closeSql} AS close FROM ${src.relation})`;
  const per = (
    await conn.runAndReadAll(`
      WITH t AS ${rel},
      s AS (SELECT symbol, count(*) AS bars, count(DISTINCT ts) AS dts, min(ts) AS first, max(ts) AS last,
              count(*) FILTER (ts IS NULL) AS null_ts, count(*) FILTER (close IS NULL) AS null_close,
              count(*) FILTER (close IS NOT NULL AND NOT (isfinite(close) AND close > 0)) AS bad_close
            FROM t WHERE symbol IS NOT NULL GROUP BY symbol),
      cal AS (SELECT ts, row_number() OVER (ORDER BY ts) AS r FROM (SELECT DISTINCT ts FROM t WHERE ts IS NOT NULL))
      SELECT s.symbol, s.bars, s.first::VARCHAR AS first, s.last::VARCHAR AS last, s.null_ts, s.null_close, s.bad_close,
             s.bars - s.null_ts - s.dts AS dup_sql, coalesce(c2.r - c1.r + 1 - s.dts, 0) AS missing
      FROM s LEFT JOIN cal c1 ON c1.ts = s.first LEFT JOIN cal c2 ON c2.ts = s.last ORDER BY s.symbol`)
  ).getRowObjects();
  const totals = (
    await conn.runAndReadAll(`SELECT count(*) AS rows, count(*) FILTER (symbol IS NULL) AS null_symbol, min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last FROM ${rel}`)
  ).getRowObjects()[0] as Record<string, unknown>;
  const gaps = (
    await conn.runAndReadAll(`
      WITH t AS ${rel},
      cal AS (SELECT DISTINCT ts FROM t WHERE ts IS NOT NULL),
      cd AS (SELECT epoch(ts) - epoch(lag(ts) OVER (ORDER BY ts)) AS d FROM cal),
      step AS (SELECT mode(d) AS s FROM cd WHERE d > 0),
      sd AS (SELECT epoch(ts) - epoch(lag(ts) OVER (PARTITION BY symbol ORDER BY ts)) AS d FROM (SELECT DISTINCT symbol, ts FROM t WHERE ts IS NOT NULL AND symbol IS NOT NULL))
      SELECT (SELECT s FROM step) AS step,
             (SELECT count(*) FROM cd, step WHERE d > step.s) AS cal_gaps,
             (SELECT coalesce(sum(round(d / step.s) - 1), 0) FROM cd, step WHERE d > step.s) AS cal_missing,
             (SELECT count(*) FROM sd, step WHERE d > step.s) AS sym_gaps,
             (SELECT coalesce(sum(round(d / step.s) - 1), 0) FROM sd, step WHERE d > step.s) AS sym_missing`)
  ).getRowObjects()[0] as Record<string, unknown>;
  let ohlc: number | null = null;
  if (['open', 'high', 'low'].every((c) => cols.includes(c))) {
    ohlc = Number(
      (
        await conn.runAndReadAll(
          `SELECT count(*) FROM ${src.relation} WHERE high < low OR close > high OR close < low OR open > high OR open < low`,
        )
      ).getRows()[0]?.[0] ?? 0,
    );
  }

  // File order: duplicates and timestamps going back per symbol, symbol order breaks.
  const index = await indexSource(conn, src);
  const symbols = index.symbols;
  const dup = new Uint32Array(symbols.length);
  const back = new Uint32Array(symbols.length);
  const seen = new Uint8Array(symbols.length);
  let breaks = 0;
  let code = -1;
  let lastTs = 0;
  let haveTs = false;
  for await (const ch of readBars(db, src, index, { order: 'file' })) {
    for (let i = 0; i < ch.n; i++) {
      const c = ch.sym[i] as number;
      if (c === NULL_CODE) continue;
      if (c !== code) {
        if (c < code || seen[c]) breaks++;
        seen[c] = 1;
        code = c;
        haveTs = false;
      }
      if (ch.tsNull?.[i]) continue;
      const t = ch.ts[i] as number;
      if (haveTs && t === lastTs) dup[c] = (dup[c] as number) + 1;
      else if (haveTs && t < lastTs) back[c] = (back[c] as number) + 1;
      if (!haveTs || t > lastTs) lastTs = t;
      haveTs = true;
    }
  }

  const position = new Map(symbols.map((s, i) => [s, i]));
  const all: SymbolIssues[] = per.map((r) => {
    const i = position.get(String(r.symbol)) as number;
    return {
      symbol: String(r.symbol),
      bars: Number(r.bars),
      first: r.first === null ? null : String(r.first),
      last: r.last === null ? null : String(r.last),
      // a duplicate anywhere in the symbol, adjacent or not
      duplicates: Number(r.dup_sql),
      unsorted: back[i] as number,
      missing: Number(r.missing),
      nullTs: Number(r.null_ts),
      nullClose: Number(r.null_close),
      badClose: Number(r.bad_close),
    };
  });
  const bars = all.map((s) => s.bars).sort((a, b) => a - b);
  const sum = (f: (s: SymbolIssues) => number) => all.reduce((a, s) => a + f(s), 0);
  const rep: InspectReport = {
    source: src.spec,
    files: src.files.length,
    rows: Number(totals.rows),
    symbols: all.length,
    first: totals.first === null ? null : String(totals.first),
    last: totals.last === null ? null : String(totals.last),
    barsPerSymbol: { min: bars[0] ?? 0, median: bars[Math.floor(bars.length / 2)] ?? 0, max: bars[bars.length - 1] ?? 0 },
    nullSymbol: Number(totals.null_symbol),
    nullTs: sum((s) => s.nullTs),
    nullClose: sum((s) => s.nullClose),
    badClose: sum((s) => s.badClose),
    duplicates: sum((s) => s.duplicates),
    unsorted: sum((s) => s.unsorted),
    symbolOrderBreaks: breaks,
    missingBars: sum((s) => s.missing),
    barSeconds: gaps.step === null ? null : Number(gaps.step),
    calendarGaps: { gaps: Number(gaps.cal_gaps), missingBars: Number(gaps.cal_missing) },
    timeGaps: { gaps: Number(gaps.sym_gaps), missingBars: Number(gaps.sym_missing) },
    ohlcInconsistent: ohlc,
    sorted: false,
    issues: all.filter((s) => s.duplicates + s.unsorted + s.missing + s.nullTs + s.nullClose + s.badClose > 0),
  };
  rep.sorted = rep.unsorted === 0 && rep.symbolOrderBreaks === 0 && rep.duplicates === 0 && rep.nullTs === 0;
  return rep;
}

