// Persist small row sets (summary rows, rejects) as Parquet through a DuckDB appender.

import { type DuckDBConnection, DuckDBTimestampValue } from '@duckdb/node-api';
import { sqlString } from '../../data/duckdb.js';
import { columnsDdl, PARQUET_OPTIONS } from '../../results/schema.js';

let seq = 0;

/** Write `rows` (values in column order; null = NULL; TIMESTAMP as epoch microseconds) to `file`. */
export async function writeRows(conn: DuckDBConnection, cols: [string, string][], rows: readonly (readonly unknown[])[], file: string, orderBy = ''): Promise<void> {
  const t = `atc_rows_${process.pid}_${++seq}`;
  await conn.run(`CREATE TABLE ${t} (${columnsDdl(cols)})`);
  try {
    const app = await conn.createAppender(t);
    for (const row of rows) {
      cols.forEach(([, type], i) => {
        const v = row[i];
        if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) app.appendNull();
        else if (type === 'VARCHAR') app.appendVarchar(String(v));
        else if (type === 'DOUBLE') app.appendDouble(Number(v));
        else if (type === 'BIGINT') app.appendBigInt(BigInt(v as number | bigint));
        else if (type === 'INTEGER') app.appendInteger(Number(v));
        else if (type === 'TINYINT') app.appendTinyInt(Number(v));
        else if (type === 'TIMESTAMP') app.appendTimestamp(new DuckDBTimestampValue(BigInt(v as number | bigint)));
        else throw new Error(`writeRows: unsupported type ${type}`);
      });
      app.endRow();
    }
    app.closeSync();
    await conn.run(`COPY (SELECT * FROM ${t} ${orderBy ? `ORDER BY ${orderBy}` : ''}) TO ${sqlString(file)} (${PARQUET_OPTIONS})`);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${t}`);
  }
}
