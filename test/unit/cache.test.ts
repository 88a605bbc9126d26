// The result cache's pieces on their own: the store's layout and format, its locks (this host
// and another), segments named by their sha256 (an altered one is dropped), and entries written
// by the writer and found again by the fields their key hashes.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshAccount } from '../../src/backtest/accounting.js';
import { blobBytes, f64, findExact, keyTables, readPayloads } from '../../src/cache/entries.js';
import { CacheStore } from '../../src/cache/store.js';
import { CacheWriter } from '../../src/cache/writer.js';
import { expandGrid } from '../../src/config/grid.js';
import { type Db, openDb } from '../../src/data/duckdb.js';
import { tempDir } from '../helpers/cli.js';

describe('the cache store', () => {
  it('creates its layout; refuses another format', () => {
    const dir = tempDir();
    CacheStore.open(dir, 'shared').close();
    expect(readdirSync(dir).sort()).toEqual(['CACHE_VERSION', 'locks', 'segments', 'sources', 'usage']);
    writeFileSync(join(dir, 'CACHE_VERSION'), 'atc-cache/0\n');
    expect(() => CacheStore.open(dir, 'shared')).toThrowError(expect.objectContaining({ code: 'ATC_ERR_CACHE' }));
  });

  it('a run (shared) keeps gc (exclusive) out; a lock left by a dead process of this host does not', () => {
    const dir = tempDir();
    const run = CacheStore.open(dir, 'shared');
    expect(() => CacheStore.open(dir, 'exclusive')).toThrowError(expect.objectContaining({ code: 'ATC_ERR_CACHE_BUSY' }));
    run.close();
    writeFileSync(join(dir, 'locks', 'shared-999999-dead'), JSON.stringify({ host: hostname(), pid: 999_999 }));
    const gc = CacheStore.open(dir, 'exclusive');
    expect(readdirSync(join(dir, 'locks'))).toEqual(['exclusive']);
    gc.close();
  });

  it("another host's lock is never taken for dead by its pid", () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'locks'), { recursive: true });
    writeFileSync(join(dir, 'locks', 'shared-999999-remote'), JSON.stringify({ host: `${hostname()}-elsewhere`, pid: 999_999 }));
    expect(() => CacheStore.open(dir, 'exclusive')).toThrowError(expect.objectContaining({ code: 'ATC_ERR_CACHE_BUSY', message: expect.stringMatching(/on .*-elsewhere/) }));
  });
});

describe('entries and segments', () => {
  let db: Db;
  const dir = tempDir();
  const sets = expandGrid({ lambda: '0.01,0.02' });
  beforeAll(async () => {
    db = await openDb();
    await db.conn.run(`CREATE TABLE prints AS SELECT * FROM (VALUES (0, 'AAA', 10, 100, 1000, '5', '7'), (1, 'BBB', 20, 50, 900, '6', '8')) v(code, symbol, bars, first_ts, last_ts, h, hr)`);
  });
  afterAll(() => db.close());

  it('what the writer stores, a lookup by the same fingerprint finds (and no other); an altered segment is dropped', async () => {
    const store = CacheStore.open(dir, 'shared');
    const keys = keyTables('prints', sets);
    const w = new CacheWriter(store, db.conn, keys);
    const account = freshAccount();
    account[0] = 10;
    for (const [code, symbol] of ['AAA', 'BBB'].entries()) {
      for (const [k, s] of sets.entries()) {
        w.add({
          code,
          k,
          summary: { symbol, param_id: s.id, last_close: 42 + code, Average_Signal: 0.5, direction: 1, long_alerts: 3, short_alerts: 2 },
          stats: { symbol, param_id: s.id, bars: 10, total_return: 0.1 * (k + 1), trades: 4 },
          account,
          trades: null,
          state: Uint8Array.of(code, k, 7),
        });
      }
    }
    await w.flush();
    expect(w.stored).toBe(4);
    const files = store.segments.files();
    expect(files).toHaveLength(1);
    const wants = `(SELECT p.code, v.k, p.symbol, v.set_sha, p.bars, p.first_ts, p.last_ts, p.h, p.hr FROM prints p CROSS JOIN ${keys.sets} v)`;
    const found = await findExact(db.conn, store.segments, wants, 'found', sets.length, false);
    expect(found.codes).toEqual([0, 1]);
    const rows = await readPayloads(db.conn, store.segments, found, { code: 'e.code', k: 'e.k', ret: 's.st_total_return', close: 's.last_close', account: 's.account' }, 'e.code, e.k', false);
    expect(rows.map((r) => [r.code, r.k, r.ret, r.close, Array.from(blobBytes(r.state))])).toEqual([
      [0, 0, 0.1, 42, [0, 0, 7]],
      [0, 1, 0.2, 42, [0, 1, 7]],
      [1, 0, 0.1, 43, [1, 0, 7]],
      [1, 1, 0.2, 43, [1, 1, 7]],
    ]);
    expect(Array.from(f64(blobBytes(rows[0]?.account)))).toEqual(Array.from(account));
    // a different fingerprint (one more bar) is not these entries
    const other = `(SELECT p.code, v.k, p.symbol, v.set_sha, p.bars + 1 AS bars, p.first_ts, p.last_ts, p.h, p.hr FROM prints p CROSS JOIN ${keys.sets} v)`;
    expect((await findExact(db.conn, store.segments, other, 'found2', sets.length, false)).codes).toEqual([]);
    // with trades wanted, entries stored without them are not used
    expect((await findExact(db.conn, store.segments, wants, 'found3', sets.length, true)).codes).toEqual([]);
    store.close();

    // another process: the segment's bytes no longer match its name
    const again = CacheStore.open(dir, 'shared');
    writeFileSync(files[0] as string, 'not what it was');
    const after = await findExact(db.conn, again.segments, wants, 'found4', sets.length, false);
    expect(after.codes).toEqual([]);
    expect(again.segments.dropped).toEqual(files);
    again.close();
  });
});
