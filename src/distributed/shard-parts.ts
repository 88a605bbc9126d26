// A shard's results must all be files: the summary and stats rows a run answers from the cache
// are SQL that finalize reads (stages/persist/cached.ts), so a shard writes them as parts.

import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../data/duckdb.js';
import type { RunDir } from '../results/run-dir.js';
import { PARQUET_OPTIONS } from '../results/schema.js';

export async function commitCachedRows(conn: DuckDBConnection, rd: RunDir, cached: { summary: string[]; stats: string[] }): Promise<void> {
  const files = [];
  const name = `part-cache-${randomUUID().slice(0, 13)}.parquet`;
  for (const [dir, sqls] of [['parts/summary', cached.summary], ['parts/stats', cached.stats]] as const) {
    if (sqls.length === 0) continue;
    const f = rd.tempFile(dir, name);
    await conn.run(`COPY (${sqls.map((q) => `(${q})`).join(' UNION ALL ')}) TO ${sqlString(f.temp)} (${PARQUET_OPTIONS})`);
    files.push(f);
  }
  if (files.length > 0) rd.commit({ group: 0, symbols: [], files, bars: 0, rejects: 0 });
}
