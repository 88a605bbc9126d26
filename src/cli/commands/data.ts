// `atc data import|inspect|generate`: bring bars into the project's format, look at them,
// or make a seeded synthetic market.

import { openDb } from '../../data/duckdb.js';
import { generateBars, parseFreq } from '../../data/generate.js';
import { FIELDS, type Field, importBars } from '../../data/import.js';
import { type InspectReport, inspectSource } from '../../data/inspect.js';
import { openBarSource } from '../../data/source.js';
import { UsageError } from '../../errors.js';
import { table } from '../report.js';
import type { Command, Flag } from '../args.js';
import type { Io } from '../io.js';

function fmtSpacing(s: number): string {
  return s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

function printInspect(r: InspectReport, io: Io): void {
  io.out(
    table(
      ['source', 'files', 'rows', 'symbols', 'first', 'last', 'bars/symbol min / median / max'],
      [[r.source, r.files, r.rows, r.symbols, r.first, r.last, `${r.barsPerSymbol.min} / ${r.barsPerSymbol.median} / ${r.barsPerSymbol.max}`]],
    ),
  );
  io.out(
    '\n' +
      table(
        ['check', 'count'],
        [
          ['duplicate (symbol, ts)', r.duplicates],
          ['ts going back within a symbol', r.unsorted],
          ['symbol order breaks', r.symbolOrderBreaks],
          ['missing bars vs the calendar of all symbols', r.missingBars],
          [`calendar gaps (no symbol has a bar; spacing ${r.barSeconds === null ? '?' : fmtSpacing(r.barSeconds)})`, `${r.calendarGaps.gaps} (${r.calendarGaps.missingBars} bars)`],
          ['time gaps per symbol, summed (any cause)', `${r.timeGaps.gaps} (${r.timeGaps.missingBars} bars)`],
          ['NULL symbol', r.nullSymbol],
          ['NULL ts (or unparseable)', r.nullTs],
          ['NULL close', r.nullClose],
          ['close NaN, infinite or <= 0', r.badClose],
          ['OHLC inconsistent (high < low, open/close outside)', r.ohlcInconsistent ?? 'n/a'],
        ],
      ),
  );
  io.out(`\nsorted by symbol, ts without duplicates: ${r.sorted ? 'yes' : 'no'}\n`);
  if (r.issues.length > 0) {
    const shown = r.issues.slice(0, 30);
    io.out(
      `\nsymbols with issues (${r.issues.length}${r.issues.length > shown.length ? `, first ${shown.length} shown; --json for all` : ''})\n` +
        table(
          ['symbol', 'bars', 'first', 'last', 'duplicates', 'ts back', 'missing', 'NULL ts', 'NULL close', 'bad close'],
          shown.map((s) => [s.symbol, s.bars, s.first, s.last, s.duplicates, s.unsorted, s.missing, s.nullTs, s.nullClose, s.badClose]),
        ),
    );
  }
}

export function dataCommand(io: Io): Command {
  return {
    name: 'data',
    describe: 'import, inspect or generate bar data',
    commands: [
      {
        name: 'import',
        describe: 'normalise bar files (CSV or Parquet, any column names, epoch or ISO times) into sorted zstd Parquet',
        flags: {
          from: { type: 'string', required: true, describe: 'file, directory or glob (CSV or Parquet; one file per symbol or one long file; hive partitions)' },
          to: { type: 'string', required: true, describe: 'output .parquet file, or a directory for several parts' },
          format: { type: 'string', choices: ['auto', 'csv', 'parquet'], default: 'auto' },
          symbol: { type: 'string', describe: 'one symbol for all rows (default: the symbol column, else the file name)' },
          'ts-unit': { type: 'string', choices: ['auto', 's', 'ms', 'us', 'ns'], default: 'auto', describe: 'unit of numeric timestamps' },
          'ts-format': { type: 'string', describe: 'strptime format of text timestamps that are not ISO 8601' },
          json: { type: 'boolean', default: false },
          ...Object.fromEntries(FIELDS.map((f) => [`${f}-col`, { type: 'string', describe: `source column for ${f}` } satisfies Flag])),
        },
        run: async (argv) => {
          const columns: Partial<Record<Field, string>> = {};
          for (const f of FIELDS) if (argv[`${f}-col`] !== undefined) columns[f] = String(argv[`${f}-col`]);
          const db = await openDb({ memoryLimit: '2GB' });
          try {
            const r = await importBars(db.conn, {
              from: String(argv.from),
              to: String(argv.to),
              format: argv.format as 'auto',
              columns,
              ...(argv.symbol !== undefined ? { symbol: String(argv.symbol) } : {}),
              tsUnit: argv['ts-unit'] as 'auto',
              ...(argv['ts-format'] !== undefined ? { tsFormat: String(argv['ts-format']) } : {}),
            });
            const rep = await inspectSource(db, await openBarSource(db.conn, String(argv.to)));
            if (argv.json) io.out(JSON.stringify({ import: r, report: rep }) + '\n');
            else {
              io.out(`imported ${r.rows.toLocaleString('en-US')} rows into ${r.files.length} file(s) in ${r.seconds.toFixed(1)} s; columns: ${Object.entries(r.mapping).map(([k, v]) => `${k} <- ${v}`).join(', ')}${r.tsUnit ? `; numeric ts read as ${r.tsUnit}` : ''}\n\n`);
              printInspect(rep, io);
            }
          } finally {
            db.close();
          }
        },
      },
      {
        name: 'inspect',
        describe: 'symbols, bar counts, date range, gaps, bad rows and sortedness of a bar source',
        positionals: [{ name: 'path', describe: 'a Parquet file, directory or glob' }],
        flags: { json: { type: 'boolean', default: false } },
        run: async (argv) => {
          const db = await openDb();
          try {
            const rep = await inspectSource(db, await openBarSource(db.conn, String(argv.path)));
            if (argv.json) io.out(JSON.stringify(rep) + '\n');
            else printInspect(rep, io);
          } finally {
            db.close();
          }
        },
      },
      {
        name: 'generate',
        describe: 'a seeded synthetic market (regime-switching random walks on a tick grid), streamed to Parquet',
        flags: {
          symbols: { type: 'number', required: true },
          bars: { type: 'number', required: true, describe: 'bars per symbol' },
          freq: { type: 'string', default: '1h', describe: 'bar length: 1m, 5m, 1h, 1d, ...' },
          seed: { type: 'number', default: 1 },
          start: { type: 'string', default: '2020-01-01', describe: 'first bar (UTC)' },
          to: { type: 'string', required: true, describe: 'output .parquet file' },
          quiet: { type: 'boolean', default: false },
        },
        run: async (argv) => {
          const start = Date.parse(`${String(argv.start)}${/T|:/.test(String(argv.start)) ? '' : 'T00:00:00'}Z`);
          if (!Number.isFinite(start)) throw new UsageError(`--start must be a date, got "${argv.start}"`);
          if (!String(argv.to).endsWith('.parquet')) throw new UsageError('--to must be a .parquet file');
          const db = await openDb();
          const t0 = performance.now();
          try {
            const r = await generateBars(db.conn, {
              symbols: Number(argv.symbols),
              bars: Number(argv.bars),
              freqUs: parseFreq(String(argv.freq)),
              seed: Number(argv.seed),
              startUs: BigInt(start) * 1000n,
              to: String(argv.to),
              onProgress: argv.quiet ? undefined : (rows, total) => io.err(`\ratc data generate: ${rows.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} rows`),
            });
            const secs = (performance.now() - t0) / 1000;
            if (!argv.quiet) io.err('\n');
            io.out(`generated ${r.rows.toLocaleString('en-US')} bars (${argv.symbols} symbols x ${argv.bars}) in ${secs.toFixed(1)} s into ${argv.to} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
          } finally {
            db.close();
          }
        },
      },
    ],
  };
}
