// `atc cache stats|ls|verify|gc|clear` and `atc warm`.

import { warmWith } from '../../api/backtest.js';
import { cacheStats, cacheViewSql, clearCache, gcCache, parseAge, parseSize, verifyCache } from '../../cache/maintain.js';
import { CacheStore, defaultCacheDir } from '../../cache/store.js';
import { openDb } from '../../data/duckdb.js';
import { UsageError } from '../../errors.js';
import { progressPrinter } from '../../pipeline/progress.js';
import type { Command } from '../args.js';
import { interruptible, type Io } from '../io.js';
import { jobOptions, optionsFromArgv, paramOptions, progressMode } from '../options.js';
import { table } from '../report.js';

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

function storeDir(argv: Record<string, unknown>): string {
  const d = argv.cache === undefined ? defaultCacheDir() : String(argv.cache);
  if (!d) throw new UsageError('no cache: pass --cache <dir> ($ATC_CACHE_DIR is off)');
  return d;
}

/** Open the store and a database, run `f`, close both. */
async function withStore<T>(argv: Record<string, unknown>, lock: 'shared' | 'exclusive', io: Io, f: (s: CacheStore, conn: Awaited<ReturnType<typeof openDb>>['conn']) => Promise<T>): Promise<T> {
  const store = CacheStore.open(storeDir(argv), lock, (m) => io.err(`atc: ${m}\n`));
  const db = await openDb();
  try {
    return await f(store, db.conn);
  } finally {
    db.close();
    store.close();
  }
}

export function cacheCommand(io: Io): Command {
  return {
    name: 'cache',
    describe: 'inspect and maintain the result cache: stats | ls | verify | gc | clear',
    positionals: [{ name: 'action', choices: ['stats', 'ls', 'verify', 'gc', 'clear'] }],
    flags: {
      cache: { type: 'string', describe: 'the cache directory [$ATC_CACHE_DIR or ~/.cache/atc-backtest]' },
      json: { type: 'boolean', default: false },
      limit: { type: 'number', default: 50, describe: 'ls: entries shown, most recently used first' },
      'max-size': { type: 'string', describe: 'gc: evict least recently used entries until the cache is at most this size (e.g. 10GB)' },
      'older-than': { type: 'string', describe: 'gc: evict entries not used for this long (e.g. 30d); without either, gc only drops duplicate entries' },
    },
    run: async (argv) => {
      const action = String(argv.action);
      const json = Boolean(argv.json);
      if (action === 'stats') {
        const s = await withStore(argv, 'shared', io, (store, conn) => cacheStats(conn, store));
        if (json) io.out(JSON.stringify(s) + '\n');
        else
          io.out(
            table(
              ['cache', 'entries', 'symbols', 'param sets', 'segments', 'size', 'hits', 'oldest', 'last used'],
              [[s.dir, s.entries, s.symbols, s.paramSets, s.segments, mb(s.bytes), s.hits, s.oldest, s.lastUsed]],
            ),
          );
      } else if (action === 'ls') {
        const limit = Number(argv.limit);
        const rows = await withStore(argv, 'shared', io, async (store, conn) =>
          (
            await conn.runAndReadAll(
              `SELECT left(key, 12) AS key, symbol, param_id, bars, CAST(last_ts AS VARCHAR) AS last_ts, bytes, CAST(created AS VARCHAR) AS created, CAST(last_used AS VARCHAR) AS last_used, hits
               FROM (${cacheViewSql(store)}) ORDER BY last_used DESC, symbol, param_id LIMIT ${Math.max(0, Math.floor(limit))}`,
            )
          ).getRowObjectsJson(),
        );
        if (json) io.out(JSON.stringify(rows) + '\n');
        else io.out(table(['key', 'symbol', 'param_id', 'bars', 'last_ts', 'bytes', 'created', 'last_used', 'hits'], rows.map((r) => Object.entries(r).map(([k, v]) => (k !== 'key' && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)))));
      } else if (action === 'verify') {
        const r = await withStore(argv, 'exclusive', io, (store, conn) => verifyCache(conn, store));
        if (json) io.out(JSON.stringify(r) + '\n');
        else io.out(`atc cache verify: ${r.segments} segments checked, ${r.droppedSegments.length} failed their sha256 and were removed; ${r.entries} entries remain\n`);
        if (r.droppedSegments.length > 0) io.status = 1;
      } else if (action === 'gc') {
        const opts = {
          ...(argv['max-size'] !== undefined ? { maxBytes: parseSize(String(argv['max-size'])) } : {}),
          ...(argv['older-than'] !== undefined ? { olderThanMs: parseAge(String(argv['older-than'])) } : {}),
        };
        const r = await withStore(argv, 'exclusive', io, (store, conn) => gcCache(conn, store, opts));
        if (json) io.out(JSON.stringify(r) + '\n');
        else io.out(`atc cache gc: ${r.entriesBefore} -> ${r.entriesAfter} entries (${r.evicted} evicted, ${r.duplicates} duplicates), ${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)}\n`);
      } else {
        const n = await withStore(argv, 'exclusive', io, async (store) => clearCache(store));
        if (json) io.out(JSON.stringify({ removedFiles: n }) + '\n');
        else io.out(`atc cache clear: ${n} files removed\n`);
      }
    },
  };
}

export function warmCommand(io: Io): Command {
  return {
    name: 'warm',
    describe: 'precompute a parameter grid over a bar source into the cache (resumable: rerun after a kill)',
    flags: {
      ...paramOptions(),
      ...jobOptions(),
      json: { type: 'boolean', default: false, describe: 'JSON progress lines on stderr and a JSON report on stdout' },
      quiet: { type: 'boolean', default: false },
    },
    run: async (argv) => {
      const report = await interruptible(io, (signal) => warmWith(optionsFromArgv(argv), 'flags', { signal, onProgress: progressPrinter(progressMode(argv), io.err, 'atc warm'), logger: (m) => io.err(`atc: ${m}\n`) }));
      if (!report) return;
      if (argv.json) io.out(JSON.stringify(report) + '\n');
      else if (!argv.quiet) {
        io.out(`atc warm: ${report.entries} entries (${report.symbols} symbols x ${report.sets} sets) in ${report.seconds.toFixed(2)} s\n`);
        io.out(table(['already present', 'updated incrementally', 'computed', 'stored'], [[report.present, report.incremental, report.computed, report.stored]]));
      }
    },
  };
}
