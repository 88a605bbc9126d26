// Statistics as an Apache Arrow table: one backtest, then SQL over its results answered as
// Arrow (columns are typed arrays), and the table written as an Arrow IPC file that pyarrow,
// Polars or DuckDB can read.
//
//   node dist/examples/stats-arrow.js [out-dir]

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tableToIPC } from 'apache-arrow';
import { backtest, openResults } from 'atc-backtest';

const out = process.argv[2] ?? join(tmpdir(), 'atc-example-arrow');
await backtest({ out, overwrite: true, outputs: ['summary', 'stats'] });
const results = await openResults(out);
const table = await results.query('SELECT symbol, sharpe, total_return, max_drawdown FROM stats WHERE sharpe IS NOT NULL ORDER BY symbol');
results.close();

// a column is a typed array: the mean total return without a row object in sight
const ret = table.getChild('total_return')?.toArray() as Float64Array;
let sum = 0;
for (const r of ret) sum += r;
writeFileSync(join(out, 'stats.arrow'), tableToIPC(table, 'file'));
console.log(JSON.stringify({ rows: table.numRows, meanTotalReturn: sum / ret.length, file: join(out, 'stats.arrow') }));
