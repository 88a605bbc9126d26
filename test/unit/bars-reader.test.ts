// The bars reader reads the next range of symbols ahead while the current one is consumed: a
// failure of that read belongs to the range (a coded error where it is taken), never an
// unhandled rejection (which ends a process). Ranges read without their symbol column (codes
// from the index's counts) give every row the symbol it has in the file, and only where the
// index proved each symbol's rows one block.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSource } from '../../src/cache/fingerprint.js';
import { type BarChunk, indexSource, NULL_CODE, readBars, type SourceIndex } from '../../src/data/bars-reader.js';
import { type Db, openDb } from '../../src/data/duckdb.js';
import { type BarSource, openBarSource } from '../../src/data/source.js';
import { tempDir } from '../helpers/cli.js';

const ROWS = 20_000; // per symbol and per row group: symbol A is row group 0, B row group 1

/** Symbols A and B in a row group each, B's close pages scrambled (the footer and its statistics
 *  stay intact: reading A skips them). */
async function damagedTwoSymbols(db: Db, file: string): Promise<string> {
  await db.conn.run(
    `COPY (SELECT CASE WHEN i < ${ROWS} THEN 'A' ELSE 'B' END AS symbol, TIMESTAMP '2020-01-01' + (i % ${ROWS}) * INTERVAL 1 HOUR AS ts, 100 + sin(i) AS close
           FROM range(${2 * ROWS}) t(i) ORDER BY symbol, ts) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE ${ROWS})`,
  );
  const md = (await db.conn.runAndReadAll(`SELECT data_page_offset AS at, total_compressed_size AS n FROM parquet_metadata('${file}') WHERE row_group_id = 1 AND path_in_schema = 'close'`)).getRowObjects()[0] as { at: bigint; n: bigint };
  const b = readFileSync(file);
  for (let i = Number(md.at) + 64; i < Number(md.at + md.n) - 64; i++) b[i] = (b[i] as number) ^ 0x5a;
  writeFileSync(file, b);
  return file;
}

describe('the bars reader reading ahead', () => {
  const dir = tempDir();
  let db: Db;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
    return () => void process.off('unhandledRejection', onUnhandled);
  });
  afterEach(() => db?.close());

  it('a range whose read failed while the previous one was consumed throws there, coded; nothing is unhandled', async () => {
    db = await openDb();
    const src = await openBarSource(db.conn, await damagedTwoSymbols(db, join(dir, 'damaged.parquet')));
    const index = await indexSource(db.conn, src);
    expect(index.symbols).toEqual(['A', 'B']);
    const chunks: BarChunk[] = [];
    const read = async (): Promise<void> => {
      for await (const c of readBars(db, src, index, { rangeRows: ROWS })) {
        // a slow consumer: B's read (started ahead) fails meanwhile
        if (chunks.length === 0) await new Promise((r) => setTimeout(r, 500));
        chunks.push(c);
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'ATC_ERR_DATA_READ', message: expect.stringContaining('damaged.parquet') });
    expect(chunks.reduce((n, c) => n + c.n, 0)).toBe(ROWS); // all of A, nothing of B
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  });
});

describe('ranges read without their symbol column', () => {
  const dir = tempDir();
  let db: Db;
  afterEach(() => db?.close());

  /** A file of (symbol, ts, close) rows in the order given, row groups of `groupRows`. */
  async function file(name: string, rows: readonly (string | null)[], groupRows = 4): Promise<string> {
    const f = join(dir, name);
    mkdirSync(join(f, '..'), { recursive: true });
    const values = rows.map((s, i) => `(${i}, ${s === null ? 'NULL' : `'${s}'`})`).join(', ');
    await db.conn.run(
      `COPY (SELECT s AS symbol, TIMESTAMP '2020-01-01' + i * INTERVAL 1 HOUR AS ts, 100.0 + i AS close FROM (VALUES ${values}) v(i, s) ORDER BY i)
       TO '${f}' (FORMAT parquet, ROW_GROUP_SIZE ${groupRows})`,
    );
    return f;
  }

  /** Each row read as [symbol, close], in the order the reader gives them. */
  async function read(src: BarSource, index: SourceIndex, rangeRows = 1000): Promise<[string | null, number][]> {
    const out: [string | null, number][] = [];
    for await (const c of readBars(db, src, index, { rangeRows })) {
      for (let i = 0; i < c.n; i++) out.push([c.sym[i] === NULL_CODE ? null : (index.symbols[c.sym[i] as number] as string), c.close[i] as number]);
    }
    return out;
  }

  /** The rows of the file as [symbol, close] in file order, rows without a symbol first (as the reader gives them). */
  async function inFile(f: string): Promise<[string | null, number][]> {
    const rows = (await db.conn.runAndReadAll(`SELECT symbol, close FROM read_parquet('${f}') ORDER BY symbol IS NOT NULL, file_row_number`)).getRows();
    return rows.map((r) => [r[0] === null ? null : String(r[0]), Number(r[1])]);
  }

  it('a file of symbol blocks: the index knows it; every row keeps its symbol, as when the symbol column is read', async () => {
    db = await openDb();
    const rows = ['A', null, 'A', 'A', null, 'B', 'B', 'C', 'C', 'C', 'C', 'C', null, 'D', 'E', 'E'];
    const f = await file('blocks.parquet', rows);
    const src = await openBarSource(db.conn, f);
    const index = await indexSource(db.conn, src);
    expect(index.blocksOf).toBe(src.relation);
    const want = await inFile(f);
    // ranges of several symbols, of one symbol, and symbols larger than a range (streamed)
    for (const rangeRows of [1000, 4, 1]) {
      expect(await read(src, index, rangeRows)).toEqual(want);
      expect(await read(src, { ...index, blocksOf: undefined }, rangeRows)).toEqual(want);
    }
    // the cache's index (fingerprints) knows it too
    expect((await fingerprintSource(db.conn, src)).blocksOf).toBe(src.relation);
  });

  it('symbols that interleave within a row group: read with the symbol column', async () => {
    db = await openDb();
    for (const [name, rows] of [
      ['interleaved.parquet', ['A', 'B', 'A', 'B', 'C', 'C', 'C', 'C']],
      ['comes-back.parquet', ['A', 'A', 'B', 'B', 'C', 'C', 'A', 'C']],
    ] as const) {
      const f = await file(name, rows, 8);
      const src = await openBarSource(db.conn, f);
      expect(await src.symbolSorted()).toBe(true); // one row group: ranges are read
      const index = await indexSource(db.conn, src);
      expect(index.blocksOf).toBeUndefined();
      expect((await fingerprintSource(db.conn, src)).blocksOf).toBeUndefined();
      expect(await read(src, index)).toEqual(await inFile(f));
    }
  });

  it('several files: a symbol continued in the next file is one block; a symbol that comes back is not', async () => {
    db = await openDb();
    await file('cont/a.parquet', ['A', 'A', 'B', 'B']);
    await file('cont/b.parquet', ['B', 'C', 'C']);
    await file('back/a.parquet', ['A', 'A', 'B', 'B']);
    await file('back/b.parquet', ['B', 'C', 'A']);
    const cont = await openBarSource(db.conn, join(dir, 'cont'));
    const prints = await fingerprintSource(db.conn, cont);
    expect(prints.blocksOf).toBe(cont.relation);
    expect(await read(cont, prints)).toEqual([['A', 100], ['A', 101], ['B', 102], ['B', 103], ['B', 100], ['C', 101], ['C', 102]]);
    const back = await openBarSource(db.conn, join(dir, 'back'));
    expect((await fingerprintSource(db.conn, back)).blocksOf).toBeUndefined();
  });

  it('a range whose row count is not the index\'s is a coded error before any of its rows', async () => {
    db = await openDb();
    const src = await openBarSource(db.conn, await file('changed.parquet', ['A', 'A', 'B', 'B', 'B', 'C']));
    const index = await indexSource(db.conn, src);
    // as if A had one row more when indexed (the file changed since)
    const stale: SourceIndex = { ...index, rows: [3, 3, 1], totalRows: 7 };
    const seen: number[] = [];
    const go = async (): Promise<void> => {
      for await (const c of readBars(db, src, stale)) seen.push(c.n);
    };
    await expect(go()).rejects.toMatchObject({ code: 'ATC_ERR_DATA_READ', message: expect.stringMatching(/read 6 rows of A \.\. C where 7 were expected/) });
    expect(seen).toEqual([]);
  });
});
