// `atc sql`: DuckDB over a run's results, with the result views already defined.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatementType as StatementTypeT } from '@duckdb/node-api';
import { duckdbApi } from '../../data/duckdb-api.js';
import { tableToIPC } from 'apache-arrow';
import { type Db, openDb, sqlString } from '../../data/duckdb.js';
import { AtcError, UsageError } from '../../errors.js';
import { queryArrow } from '../../results/arrow.js';
import { emptyRelation } from '../../results/schema.js';
import { createViews, VIEWS } from '../../results/views.js';
import { CACHE_VIEW, cacheViewSql } from '../../cache/maintain.js';
import { CacheStore, defaultCacheDir } from '../../cache/store.js';
import { table } from '../report.js';
import { type Command, optional } from '../args.js';
import type { Io } from '../io.js';

const { StatementType } = duckdbApi;

const FORMATS = ['table', 'csv', 'json', 'parquet', 'arrow'] as const;
type Format = (typeof FORMATS)[number];
const READ_ONLY = new Set<StatementTypeT>([StatementType.SELECT, StatementType.EXPLAIN, StatementType.PRAGMA]);

interface SqlOptions {
  query: string;
  format: Format;
  to: string | undefined;
  maxRows: number;
  write: boolean;
}

export function sqlCommand(io: Io): Command {
  return {
    name: 'sql',
    describe: `run SQL over the results of a run (views: ${VIEWS.map((v) => v.name).join(', ')}, and cache: the result cache's index)`,
    positionals: [{ name: 'query', describe: 'SQL; e.g. "SELECT trend, count(*) FROM summary GROUP BY 1"' }],
    flags: {
      out: { type: 'string', default: 'atc-out', describe: 'the run directory' },
      cache: { type: 'string', describe: 'the cache whose index the `cache` view shows [$ATC_CACHE_DIR or ~/.cache/atc-backtest]' },
      format: { type: 'string', choices: FORMATS, default: 'table' },
      to: { type: 'string', describe: 'write the answer to this file (needed for parquet and arrow: an Arrow IPC file)' },
      'max-rows': { type: 'number', default: 200, describe: 'rows shown in table format' },
      write: { type: 'boolean', default: false, describe: 'allow statements other than SELECT/EXPLAIN/PRAGMA' },
    },
    run: async (argv) => {
      const dir = String(argv.out);
      if (!existsSync(join(dir, 'run.json'))) throw new AtcError('ATC_ERR_DATA_READ', `${dir} is not a run directory (no run.json); pass --out`);
      const o: SqlOptions = {
        query: String(argv.query),
        format: String(argv.format) as Format,
        to: optional(argv, 'to'),
        maxRows: Number(argv['max-rows']),
        write: Boolean(argv.write),
      };
      if (o.format === 'parquet' && !o.to) throw new UsageError('--format parquet needs --to <file.parquet>');
      if (o.format === 'arrow' && !o.to) throw new UsageError('--format arrow needs --to <file.arrow>');
      const db = await openDb();
      const cacheAt = optional(argv, 'cache') ?? defaultCacheDir();
      const store = cacheAt && existsSync(join(cacheAt, 'CACHE_VERSION')) ? CacheStore.open(cacheAt, 'shared') : undefined;
      try {
        await createViews(db.conn, dir);
        const body = store ? cacheViewSql(store) : `SELECT * FROM ${emptyRelation(CACHE_VIEW.columns)}`;
        await db.conn.run(`CREATE OR REPLACE VIEW cache AS ${body}`);
        await answer(db, o, io);
      } catch (e) {
        if (e instanceof AtcError) throw e;
        throw new AtcError('ATC_ERR_SQL', (e as Error).message, { cause: e });
      } finally {
        store?.close();
        db.close();
      }
    },
  };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function answer(db: Db, o: SqlOptions, io: Io): Promise<void> {
  const stmts = await db.conn.extractStatements(o.query);
  if (stmts.count === 0) throw new UsageError('no SQL statement given');
  let last: Awaited<ReturnType<Db['conn']['runAndReadAll']>> | undefined;
  for (let i = 0; i < stmts.count; i++) {
    const p = await stmts.prepare(i);
    if (!o.write && !READ_ONLY.has(p.statementType)) {
      throw new UsageError(`statement ${i + 1} is not a query (${StatementType[p.statementType]}); \`atc sql\` is read-only unless --write`);
    }
    if (i === stmts.count - 1 && o.format === 'parquet') {
      await db.conn.run(`COPY (${o.query.trim().replace(/;\s*$/, '')}) TO ${sqlString(o.to as string)} (FORMAT parquet, COMPRESSION zstd)`);
      io.out(`wrote ${o.to}\n`);
      return;
    }
    if (i === stmts.count - 1 && o.format === 'arrow') {
      const t = await queryArrow(db.conn, o.query.trim().replace(/;\s*$/, ''));
      writeFileSync(o.to as string, tableToIPC(t, 'file'));
      io.out(`wrote ${o.to} (${t.numRows} rows, Arrow IPC)\n`);
      return;
    }
    last = await p.runAndReadAll();
  }
  if (!last) return;
  const cols = last.columnNames();
  let text: string;
  if (o.format === 'json') text = JSON.stringify(last.getRowObjectsJson()) + '\n';
  else if (o.format === 'csv') text = [cols.map(csvCell).join(','), ...last.getRowsJson().map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
  else {
    const rows = last.getRowsJS().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString().replace('T', ' ').replace('.000Z', '') : v)));
    text = table(cols, rows.slice(0, o.maxRows)) + (rows.length > o.maxRows ? `(${rows.length} rows, ${o.maxRows} shown; --max-rows or --format csv for all)\n` : `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
  }
  if (o.to) {
    writeFileSync(o.to, text);
    io.out(`wrote ${o.to}\n`);
  } else io.out(text);
}
