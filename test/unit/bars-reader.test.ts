// The bars reader reads the next range of symbols ahead while the current one is consumed: a
// failure of that read belongs to the range (a coded error where it is taken), never an
// unhandled rejection (which ends a process).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BarChunk, indexSource, readBars } from '../../src/data/bars-reader.js';
import { type Db, openDb } from '../../src/data/duckdb.js';
import { openBarSource } from '../../src/data/source.js';
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
