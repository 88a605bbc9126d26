// Human-readable reports of finished jobs.

import { join } from 'node:path';
import { openDb, sqlString } from '../data/duckdb.js';
import type { RunJobResult } from '../pipeline/run.js';
import type { Io } from './run.js';

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

export async function printRunReport(res: RunJobResult, io: Io): Promise<void> {
  const rate = res.bars / Math.max(res.seconds, 1e-9);
  io.out(
    res.alreadyComplete
      ? `atc run: ${res.out} already holds the complete results of this run (${res.symbols} symbols, ${res.bars.toLocaleString('en-US')} bars)\n`
      : `atc run: ${res.symbols} symbols, ${res.bars.toLocaleString('en-US')} bars in ${res.seconds.toFixed(2)} s (${(rate / 1e6).toFixed(2)} M bars/s), engine ${res.engine.engine}` +
          `${res.resumedSymbols > 0 ? `, resumed (${res.resumedSymbols} symbols were already done)` : ''}\n`,
  );
  if (res.rejects > 0) io.out(`rejects: ${res.rejects} (${res.symbolsSkipped} symbols skipped): see ${join(res.out, 'rejects.parquet')}\n`);
  const db = await openDb();
  try {
    const file = sqlString(join(res.out, 'summary.parquet'));
    const counts = (await db.conn.runAndReadAll(`SELECT trend, count(*)::INT AS symbols FROM ${file} GROUP BY 1 ORDER BY 1`)).getRows();
    io.out('\n' + table(['trend', 'symbols'], counts));
    const top = async (dir: 'DESC' | 'ASC', trend: string) =>
      (
        await db.conn.runAndReadAll(
          `SELECT symbol, strftime(last_ts, '%Y-%m-%d %H:%M') AS last_ts, last_close, round(Average_Signal, 4) AS avg, direction, long_alerts, short_alerts
           FROM ${file} WHERE trend = '${trend}' ORDER BY Average_Signal ${dir}, symbol LIMIT 10`,
        )
      ).getRows();
    const headers = ['symbol', 'last bar', 'close', 'Average_Signal', 'direction', 'long alerts', 'short alerts'];
    const long = await top('DESC', 'LONG');
    const short = await top('ASC', 'SHORT');
    if (long.length) io.out(`\nstrongest LONG\n${table(headers, long)}`);
    if (short.length) io.out(`\nstrongest SHORT\n${table(headers, short)}`);
    io.out(`\nresults in ${res.out}: summary.parquet, rejects.parquet, run.json${''} (query them with \`atc sql\`)\n`);
  } finally {
    db.close();
  }
}
