// Cache benchmark: 10,000 symbols x 5,000 daily bars (summary + stats), through the CLI:
//   cold     a run that fills an empty cache (fingerprints, computes, stores)
//   no cache the same run with --no-cache (what the cache costs a cold run)
//   cached   a rerun over unchanged data into a fresh --out (every entry a hit)
//   +1, +100 the data with 1 and 100 more bars per symbol, against a full --no-cache recompute
//            of the same data, in two layouts (a copy of the filled cache per run):
//              file  the source is one file, rewritten with the new bars
//              dir   the source is a directory; the update is a new file beside the history
//                    (whose fingerprints the cache has: only the new file is read)
// Correctness first: the cached rerun's tables are byte-identical to the cold run's, and each
// incremental update's tables are byte-identical to the full recompute's; nothing is reported
// otherwise. Medians of --runs runs; ratios from the same session. Also the cache's size on
// disk per symbol.
//
//   npm run bench:cache -- [--dir <scratch dir outside the repo>] [--symbols 10000] [--bars 5000]
//                          [--workers 2] [--runs 3]
//
// The datasets are generated into --dir (once: reused when present).

import { cpSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, sqlString } from '../src/data/duckdb.js';
import { arg, median, runCli } from './util.js';

const symbols = Number(arg('symbols', '10000'));
const bars = Number(arg('bars', '5000'));
const workers = arg('workers', '2') as string;
const runs = Number(arg('runs', '3'));
const dir = arg('dir', join(tmpdir(), `atc-bench-cache-${symbols}x${bars}`)) as string;
mkdirSync(dir, { recursive: true });

// Datasets: one generated series of bars + 100, cut by time (every symbol shares the calendar).
const all = join(dir, `all.parquet`);
const base = join(dir, 'base.parquet');
const plus = (k: number) => join(dir, `plus${k}.parquet`);
const add = (k: number) => join(dir, `add${k}.parquet`);
if (!existsSync(all)) {
  const g = await runCli(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars + 100), '--freq', '1d', '--seed', '11', '--to', all, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const db = await openDb();
const t0 = `(SELECT min(ts) FROM read_parquet(${sqlString(all)}))`;
for (const [file, from, n] of [[base, 0, bars], [plus(1), 0, bars + 1], [plus(100), 0, bars + 100], [add(1), bars, 1], [add(100), bars, 100]] as const) {
  if (existsSync(file)) continue;
  await db.conn.run(
    `COPY (SELECT * FROM read_parquet(${sqlString(all)}) WHERE ts >= ${t0} + INTERVAL ${from} DAY AND ts < ${t0} + INTERVAL ${from + n} DAY)
     TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
  );
  // an old file, as a day's data is by the time it is backtested (the cache memoises only
  // files not modified in the last seconds)
  utimesSync(file, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
}
// the directory layout: the history, and (per run) the day's file
const daily = join(dir, 'daily');
mkdirSync(daily, { recursive: true });
if (!existsSync(join(daily, '1-history.parquet'))) linkSync(base, join(daily, '1-history.parquet'));

interface Res {
  seconds: number;
  bars: number;
  symbols: number;
  cache?: { hits: number; incremental: number; computed: number; stored: number; memo: boolean };
}
const common = ['--workers', workers, '--outputs', 'summary,stats', '--json', '--quiet'];
let seq = 0;
async function run(data: string, cache: string | null): Promise<{ res: Res; wall: number; out: string }> {
  const out = join(dir, `out-${++seq}`);
  rmSync(out, { recursive: true, force: true });
  const r = await runCli(['run', '--data', data, '--out', out, ...common, ...(cache ? ['--cache', cache] : ['--no-cache'])]);
  if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
  return { res: JSON.parse(r.stdout) as Res, wall: r.seconds, out };
}
async function same(a: string, b: string): Promise<void> {
  for (const t of ['summary', 'stats']) {
    if (!readFileSync(join(a, `${t}.parquet`)).equals(readFileSync(join(b, `${t}.parquet`)))) throw new Error(`correctness check failed: ${t} differs between ${a} and ${b}`);
  }
}
const bytesOf = async (d: string): Promise<number> => {
  const { execSync } = await import('node:child_process');
  return Number(execSync(`du -sb ${d}`).toString().split('\t')[0]);
};

const coldCache = join(dir, 'cache-cold');
const t = { cold: [] as number[], coldJob: [] as number[], nocache: [] as number[], nocacheJob: [] as number[], hit: [] as number[], hitJob: [] as number[] };
let coldOut = '';
for (let r = 0; r < runs; r++) {
  rmSync(coldCache, { recursive: true, force: true });
  const c = await run(base, coldCache);
  if (c.res.cache?.computed !== c.res.symbols) throw new Error(`cold run: expected every symbol computed, got ${JSON.stringify(c.res.cache)}`);
  t.cold.push(c.wall);
  t.coldJob.push(c.res.seconds);
  coldOut = c.out;
  const n = await run(base, null);
  await same(c.out, n.out);
  t.nocache.push(n.wall);
  t.nocacheJob.push(n.res.seconds);
}
for (let r = 0; r < runs; r++) {
  const h = await run(base, coldCache);
  if (h.res.cache?.hits !== h.res.symbols) throw new Error(`cached rerun: expected every symbol a hit, got ${JSON.stringify(h.res.cache)}`);
  await same(h.out, coldOut);
  t.hit.push(h.wall);
  t.hitJob.push(h.res.seconds);
}
const cacheBytes = await bytesOf(coldCache);

// the directory layout's cache: filled once by a run over the history alone
const dailyCache = join(dir, 'cache-daily');
rmSync(join(daily, '2-update.parquet'), { force: true });
rmSync(dailyCache, { recursive: true, force: true });
await run(daily, dailyCache);

type Append = { incremental: number[]; incrementalJob: number[]; full: number[]; fullJob: number[] };
const appends: Record<string, Append> = {};
for (const k of [1, 100]) {
  for (const layout of ['file', 'dir'] as const) {
    const a: Append = { incremental: [], incrementalJob: [], full: [], fullJob: [] };
    for (let r = 0; r < runs; r++) {
      const c = join(dir, 'cache-append');
      rmSync(c, { recursive: true, force: true });
      cpSync(layout === 'file' ? coldCache : dailyCache, c, { recursive: true });
      if (layout === 'dir') linkSync(add(k), join(daily, '2-update.parquet'));
      const i = await run(layout === 'file' ? plus(k) : daily, c);
      if (layout === 'dir') rmSync(join(daily, '2-update.parquet'));
      if (i.res.cache?.incremental !== i.res.symbols) throw new Error(`+${k} (${layout}): expected every symbol incremental, got ${JSON.stringify(i.res.cache)}`);
      const f = await run(plus(k), null);
      await same(i.out, f.out);
      a.incremental.push(i.wall);
      a.incrementalJob.push(i.res.seconds);
      a.full.push(f.wall);
      a.fullJob.push(f.res.seconds);
    }
    appends[`plus${k}_${layout}`] = a;
  }
}
db.close();

const m = (xs: number[]) => +median(xs).toFixed(3);
const result: { ratios: Record<string, unknown>; [k: string]: unknown } = {
  bench: 'cache',
  symbols,
  bars,
  workers: Number(workers),
  runs,
  seconds: {
    cold: { wall: m(t.cold), job: m(t.coldJob), runs: t.coldJob.map((x) => +x.toFixed(3)) },
    noCache: { wall: m(t.nocache), job: m(t.nocacheJob) },
    cachedRerun: { wall: m(t.hit), job: m(t.hitJob), runs: t.hitJob.map((x) => +x.toFixed(3)) },
    ...Object.fromEntries(
      Object.entries(appends).map(([k, a]) => [k, { incremental: { wall: m(a.incremental), job: m(a.incrementalJob), runs: a.incrementalJob.map((x) => +x.toFixed(3)) }, fullRecompute: { wall: m(a.full), job: m(a.fullJob) } }]),
    ),
  },
  ratios: {
    coldOverCachedRerun: { wall: +(median(t.cold) / median(t.hit)).toFixed(1), job: +(median(t.coldJob) / median(t.hitJob)).toFixed(1) },
    coldOverNoCache: +(median(t.coldJob) / median(t.nocacheJob)).toFixed(3),
    ...Object.fromEntries(
      Object.entries(appends).map(([k, a]) => [`fullOverIncremental_${k}`, { wall: +(median(a.full) / median(a.incremental)).toFixed(1), job: +(median(a.fullJob) / median(a.incrementalJob)).toFixed(1) }]),
    ),
  },
  cache: { bytes: cacheBytes, bytesPerSymbol: Math.round(cacheBytes / symbols) },
};
const row = (label: string, wall: number, job: number, note = '') => `${label.padEnd(30)}${String(wall).padStart(9)} ${String(job).padStart(9)}   ${note}`;
const lines = [
  row('cold (fills the cache)', m(t.cold), m(t.coldJob)),
  row('no cache', m(t.nocache), m(t.nocacheJob)),
  row('cached rerun', m(t.hit), m(t.hitJob), `cold / cached: ${JSON.stringify(result.ratios.coldOverCachedRerun)}`),
  ...Object.entries(appends).flatMap(([k, a]) => [
    row(`${k.replace('plus', '+').replace('_', ' bars, ')}: incremental`, m(a.incremental), m(a.incrementalJob), `full / incremental: ${JSON.stringify(result.ratios[`fullOverIncremental_${k}`])}`),
    row(`${k.replace('plus', '+').replace('_', ' bars, ')}: full recompute`, m(a.full), m(a.fullJob)),
  ]),
];
console.log(`
correctness: cached rerun == cold run; every incremental update == the full recompute of its data (summary and stats, byte for byte)
${symbols} symbols x ${bars} bars, ${workers} workers, medians of ${runs} (wall = process, job = inside the run)

                                  wall s     job s
${lines.join('\n')}
cache on disk: ${(cacheBytes / 1e6).toFixed(1)} MB, ${Math.round(cacheBytes / symbols)} bytes per symbol`);
console.log(JSON.stringify(result));
