// Human-readable reports of finished jobs.

import { join } from 'node:path';
import { openDb, sqlIdent, sqlString } from '../data/duckdb.js';
import type { RunReport } from '../pipeline/run.js';
import { stagesText } from '../pipeline/run-json.js';
import type { Io } from './io.js';

export function table(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : typeof v === 'number' ? fmtNum(v) : String(v))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const right = rows[0]?.map((v) => typeof v === 'number' || typeof v === 'bigint') ?? [];
  const line = (r: string[]) => r.map((c, i) => (right[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(Number(v.toPrecision(Math.abs(v) >= 1000 ? 8 : 6)));
}

export async function printRunReport(res: RunReport, io: Io): Promise<void> {
  const rate = res.bars / Math.max(res.seconds, 1e-9);
  const sweep = res.sets > 1 ? `, ${res.sets} parameter sets in ${res.passes} pass${res.passes > 1 ? 'es' : ''}` : '';
  io.out(
    res.alreadyComplete
      ? `atc run: ${res.out} already holds the complete results of this run (${res.symbols} symbols, ${res.bars.toLocaleString('en-US')} bars${sweep})\n`
      : `atc run: ${res.symbols} symbols, ${res.bars.toLocaleString('en-US')} bars${sweep} in ${res.seconds.toFixed(2)} s (${((rate * res.sets) / 1e6).toFixed(2)} M bar-sets/s), engine ${res.engine.engine}` +
          `${res.resumedSymbols > 0 ? `, resumed (${res.resumedSymbols} symbol passes were already done)` : ''}\n`,
  );
  if (!res.alreadyComplete) {
    io.out(`time: ${stagesText(res.stages, res.peakRssMB)}\n`);
  }
  if (res.rejects > 0) io.out(`rejects: ${res.rejects} (${res.symbolsSkipped} symbols skipped): see ${join(res.out, 'rejects.parquet')}\n`);
  const c = res.cache;
  if (c && !res.alreadyComplete) {
    const entries = c.hits + c.incremental + c.computed;
    io.out(
      `cache: ${c.hits} of ${entries} (symbol, set) results from the cache, ${c.incremental} continued over new bars, ${c.computed} computed; ${c.stored} stored` +
        `${c.dropped > 0 ? `; ${c.dropped} corrupt segments dropped` : ''} (${c.dir})${c.note ? `\n  ${c.note}` : ''}\n`,
    );
  }
  const db = await openDb();
  try {
    const file = (name: string): string => sqlString(join(res.out, name));
    const rows = async (sql: string): Promise<unknown[][]> => (await db.conn.runAndReadAll(sql)).getRows();
    if (res.sets > 1 && res.outputs.includes('stats')) {
      // show the parameters the grid varies
      const params = file('params.parquet');
      const cols = (await rows(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${params})`)).map((r) => String(r[0])).filter((n) => n !== 'param_id');
      const [counts = []] = await rows(`SELECT ${cols.map((c) => `count(DISTINCT ${sqlIdent(c)})`).join(', ')} FROM ${params}`);
      const varying = cols.filter((_, i) => Number(counts[i]) > 1);
      const best = await rows(
        `SELECT s.param_id, ${varying.map((c) => `p.${sqlIdent(c)}`).join(', ')}${varying.length ? ',' : ''} round(median(s.sharpe), 3), round(median(s.total_return), 4), round(avg(s.max_drawdown), 4), sum(s.trades)::BIGINT
         FROM ${file('stats.parquet')} s JOIN ${params} p USING (param_id)
         GROUP BY ALL ORDER BY median(s.sharpe) DESC NULLS LAST, s.param_id LIMIT 10`,
      );
      io.out(`\nbest parameter sets by median Sharpe across symbols\n${table(['param_id', ...varying, 'median sharpe', 'median return', 'mean max dd', 'trades'], best)}`);
    } else if (res.outputs.includes('summary')) {
      const summary = file('summary.parquet');
      io.out('\n' + table(['trend', 'symbols'], await rows(`SELECT trend, count(*)::INT AS symbols FROM ${summary} GROUP BY 1 ORDER BY 1`)));
      const top = (dir: 'DESC' | 'ASC', trend: string) =>
        rows(
          `SELECT symbol, strftime(last_ts, '%Y-%m-%d %H:%M') AS last_ts, last_close, round(Average_Signal, 4) AS avg, direction, long_alerts, short_alerts
           FROM ${summary} WHERE trend = '${trend}' ORDER BY Average_Signal ${dir}, symbol LIMIT 10`,
        );
      const headers = ['symbol', 'last bar', 'close', 'Average_Signal', 'direction', 'long alerts', 'short alerts'];
      // the strongest signals: the ATC's Average_Signal (other strategies have no strength)
      const atc = (await rows(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${summary})`)).some((r) => r[0] === 'Average_Signal');
      const long = atc ? await top('DESC', 'LONG') : [];
      const short = atc ? await top('ASC', 'SHORT') : [];
      if (long.length) io.out(`\nstrongest LONG\n${table(headers, long)}`);
      if (short.length) io.out(`\nstrongest SHORT\n${table(headers, short)}`);
      if (res.outputs.includes('stats')) {
        const st = await rows(
          `SELECT count(*)::INT, round(median(total_return), 4), round(median(sharpe), 3), round(median(max_drawdown), 4), sum(trades)::BIGINT, round(avg(exposure), 3) FROM ${file('stats.parquet')}`,
        );
        io.out(`\nbacktest across symbols\n${table(['symbols', 'median return', 'median sharpe', 'median max dd', 'trades', 'mean exposure'], st)}`);
      }
    }
    const files = ['summary', 'stats', 'trades', 'portfolio'].filter((k) => res.outputs.includes(k as never)).map((k) => `${k}.parquet`);
    if (res.outputs.includes('portfolio')) files.push('portfolio_stats.parquet');
    if (res.outputs.includes('signals')) files.push('signals/');
    io.out(`\nresults in ${res.out}: ${[...files, 'params.parquet', 'rejects.parquet', 'run.json'].join(', ')} (query them with \`atc sql\`)\n`);
  } finally {
    db.close();
  }
}
