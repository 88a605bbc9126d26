// Cache benchmark: 10,000 symbols x 5,000 daily bars (summary + stats), through the CLI:
//   cold     a run that fills an empty cache (fingerprints, computes, stores)
//   no cache the same run with --no-cache (what the cache costs a cold run)
//   cached   a rerun over unchanged data into a fresh --out (every entry a hit)
//   +1, +100 the data with 1 and 100 more bars per symbol: from the cold cache (a copy per
//            run) the update computes only the new bars; against a full --no-cache recompute
// Correctness first: the cached rerun's tables are byte-identical to the cold run's, and each
// incremental update's tables are byte-identical to the full recompute's; nothing is reported
// otherwise. Medians of --runs runs; ratios from the same session. Also the cache's size on
// disk per symbol.
//
//   npm run bench:cache -- [--dir <scratch dir outside the repo>] [--symbols 10000] [--bars 5000]
//                          [--workers 2] [--runs 3]
//
// The datasets are generated into --dir (once: reused when present).

import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
if (!existsSync(all)) {
  const g = await runCli(['data', 'generate', '--symbols', String(symbols), '--bars', String(bars + 100), '--freq', '1d', '--seed', '11', '--to', all, '--quiet']);
  if (g.code !== 0) throw new Error(`generate failed: ${g.stderr}`);
}
const db = await openDb();
for (const [file, n] of [[base, bars], [plus(1), bars + 1], [plus(100), bars + 100]] as const) {
  if (existsSync(file)) continue;
  await db.conn.run(
    `COPY (SELECT * FROM read_parquet(${sqlString(all)}) WHERE ts < (SELECT min(ts) FROM read_parquet(${sqlString(all)})) + INTERVAL ${n} DAY)
     TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
  );
}

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

const appends: Record<string, { incremental: number[]; incrementalJob: number[]; full: number[]; fullJob: number[] }> = {};
for (const k of [1, 100]) {
  const a = { incremental: [] as number[], incrementalJob: [] as number[], full: [] as number[], fullJob: [] as number[] };
  for (let r = 0; r < runs; r++) {
    const c = join(dir, 'cache-append');
    rmSync(c, { recursive: true, force: true });
    cpSync(coldCache, c, { recursive: true });
    const i = await run(plus(k), c);
    if (i.res.cache?.incremental !== i.res.symbols) throw new Error(`+${k}: expected every symbol incremental, got ${JSON.stringify(i.res.cache)}`);
    const f = await run(plus(k), null);
    await same(i.out, f.out);
    a.incremental.push(i.wall);
    a.incrementalJob.push(i.res.seconds);
    a.full.push(f.wall);
    a.fullJob.push(f.res.seconds);
  }
  appends[`plus${k}`] = a;
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
    cold: { wall: m(t.cold), job: m(t.coldJob) },
    noCache: { wall: m(t.nocache), job: m(t.nocacheJob) },
    cachedRerun: { wall: m(t.hit), job: m(t.hitJob), runs: t.hit.map((x) => +x.toFixed(3)) },
    ...Object.fromEntries(Object.entries(appends).map(([k, a]) => [k, { incremental: { wall: m(a.incremental), job: m(a.incrementalJob) }, fullRecompute: { wall: m(a.full), job: m(a.fullJob) } }])),
  },
  ratios: {
    coldOverCachedRerun: { wall: +(median(t.cold) / median(t.hit)).toFixed(1), job: +(median(t.coldJob) / median(t.hitJob)).toFixed(1) },
    coldOverNoCache: +(median(t.cold) / median(t.nocache)).toFixed(3),
    ...Object.fromEntries(Object.entries(appends).map(([k, a]) => [`fullOverIncremental_${k}`, { wall: +(median(a.full) / median(a.incremental)).toFixed(1), job: +(median(a.fullJob) / median(a.incrementalJob)).toFixed(1) }])),
  },
  cache: { bytes: cacheBytes, bytesPerSymbol: Math.round(cacheBytes / symbols) },
};
const s = result.seconds as { cold: { wall: number; job: number }; noCache: { wall: number; job: number }; cachedRerun: { wall: number; job: number } };
console.log(`
correctness: cached rerun == cold run, +1 and +100 incremental == full recompute (summary and stats, byte for byte)
${symbols} symbols x ${bars} bars, ${workers} workers, medians of ${runs} (wall = process, job = inside the run)

                           wall s     job s
cold (fills the cache)  ${String(s.cold.wall).padStart(9)} ${String(s.cold.job).padStart(9)}
no cache                ${String(s.noCache.wall).padStart(9)} ${String(s.noCache.job).padStart(9)}
cached rerun            ${String(s.cachedRerun.wall).padStart(9)} ${String(s.cachedRerun.job).padStart(9)}   cold / cached: ${JSON.stringify(result.ratios.coldOverCachedRerun)}
+1 bar, incremental     ${String(appends.plus1 ? m(appends.plus1.incremental) : '').padStart(9)} ${String(appends.plus1 ? m(appends.plus1.incrementalJob) : '').padStart(9)}   full / incremental: ${JSON.stringify(result.ratios.fullOverIncremental_plus1)}
+1 bar, full recompute  ${String(appends.plus1 ? m(appends.plus1.full) : '').padStart(9)} ${String(appends.plus1 ? m(appends.plus1.fullJob) : '').padStart(9)}
+100, incremental       ${String(appends.plus100 ? m(appends.plus100.incremental) : '').padStart(9)} ${String(appends.plus100 ? m(appends.plus100.incrementalJob) : '').padStart(9)}   full / incremental: ${JSON.stringify(result.ratios.fullOverIncremental_plus100)}
+100, full recompute    ${String(appends.plus100 ? m(appends.plus100.full) : '').padStart(9)} ${String(appends.plus100 ? m(appends.plus100.fullJob) : '').padStart(9)}
cache on disk: ${(cacheBytes / 1e6).toFixed(1)} MB, ${Math.round(cacheBytes / symbols)} bytes per symbol`);
console.log(JSON.stringify(result));
