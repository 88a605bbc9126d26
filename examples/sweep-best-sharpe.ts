// A parameter sweep from a script: 3 x 3 sets over the embedded sample, then the set with the
// best median Sharpe across symbols, read back as typed rows.
//
//   node dist/examples/sweep-best-sharpe.js [out-dir]

import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { backtest, openResults } from 'atc-backtest';

const out = process.argv[2] ?? join(tmpdir(), 'atc-example-sweep');
const report = await backtest({
  out,
  overwrite: true,
  params: { lambda: [0.01, 0.02, 0.03], decay: '0.01:0.05:0.02' },
  onProgress: (p) => p.done && console.error(`swept ${p.symbols} symbol passes in ${p.seconds} s`),
});
console.error(`${report.sets} parameter sets, ${report.symbols} symbols, engine ${report.engine.engine}`);

const results = await openResults(report.out);
// median Sharpe per set, computed here from the typed rows
const bySet = new Map<string, number[]>();
for (const s of await results.stats({ where: 'sharpe IS NOT NULL' })) bySet.set(s.param_id, [...(bySet.get(s.param_id) ?? []), s.sharpe as number]);
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};
const ranked = [...bySet].map(([id, xs]) => ({ id, median: median(xs) })).sort((a, b) => b.median - a.median || a.id.localeCompare(b.id));
const best = ranked[0];
if (!best) throw new Error('no statistics');
const [params] = await results.params({ where: `param_id = '${best.id}'` });
results.close();
console.log(JSON.stringify({ best: best.id, medianSharpe: best.median, lambda: params?.la, decay: params?.decay, out: report.out }));
