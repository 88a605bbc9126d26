// Shards of a run: consecutive symbol ranges of about equal bars whose boundaries fall where
// a one-machine run starts a new chunk (stages/load packs whole symbols into chunks of
// `chunkBars`). A shard computed on its own then loads exactly the chunks the one-machine run
// loads, so its parts (signals parts included) are the same files, and the merged run is the
// same bytes. A boundary can only fall between chunks: a shard holds whole chunks, and shards
// beyond the number of chunks are empty.
//
// The packing is replayed from the source index (rows per symbol): dropped rows (--bad-rows
// drop) shift the one-machine chunks, and then the signals parts are cut elsewhere (same rows).

import type { SourceIndex } from '../data/bars-reader.js';
import { UsageError } from '../errors.js';

/** bars per shard unless --shard-bars says otherwise: 8 chunks of the default 524288 bars */
export const DEFAULT_SHARD_BARS = 4_194_304;

export interface ShardSpec {
  /** 0-based */
  index: number;
  count: number;
}

export interface ShardRange {
  /** symbol codes [from, to) */
  from: number;
  to: number;
  bars: number;
}

/** `i/n`: shard i (0 <= i < n, as Kubernetes' JOB_COMPLETION_INDEX and AWS_BATCH_JOB_ARRAY_INDEX count) of n. */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index < count)) throw new UsageError(`--shard must be i/n with 0 <= i < n, got ${text}`);
  return { index, count };
}

/** Symbol codes where a one-machine run starts a chunk (code 0 first), with the bars before each. */
export function chunkStarts(rows: readonly number[], chunkBars: number, minBars: number, maxSeries = Infinity): { code: number; before: number }[] {
  const starts = [{ code: 0, before: 0 }];
  let n = 0;
  let series = 0;
  let total = 0;
  rows.forEach((r, code) => {
    if (r === 0) return;
    if (n >= chunkBars || series >= maxSeries) {
      starts.push({ code, before: total });
      n = 0;
      series = 0;
    }
    const symStart = n;
    const fits = n + r <= chunkBars;
    if (fits) n += r;
    else {
      // the symbol moves to a chunk of its own (and is cut into blocks when longer than one)
      if (symStart > 0) starts.push({ code, before: total });
      n = ((r - 1) % chunkBars) + 1;
      series = 0;
    }
    if (r < minBars) n = fits ? symStart : 0; // a symbol too short is withdrawn
    else series++;
    total += r;
  });
  return starts.filter((s, i) => i === 0 || s.code !== starts[i - 1]?.code);
}

/** The shard count for shards of about `shardBars` bars. */
export function shardCount(index: SourceIndex, shardBars: number): number {
  return Math.max(1, Math.ceil(index.totalRows / shardBars));
}

/** The symbol range of every shard of `count`. */
export function planShards(index: Pick<SourceIndex, 'rows'>, count: number, chunkBars: number, minBars: number, maxSeries = Infinity): ShardRange[] {
  const starts = chunkStarts(index.rows, chunkBars, minBars, maxSeries);
  const total = index.rows.reduce((a, b) => a + b, 0);
  const end = index.rows.length;
  // boundary k: the chunk start nearest k * total / count (boundaries never go back)
  const cuts = [0];
  let s = 0;
  for (let k = 1; k < count; k++) {
    const target = (k * total) / count;
    while (s + 1 < starts.length && Math.abs((starts[s + 1] as { before: number }).before - target) <= Math.abs((starts[s] as { before: number }).before - target)) s++;
    cuts.push(Math.max(cuts[k - 1] as number, s === 0 ? 0 : (starts[s] as { code: number }).code));
  }
  cuts.push(end);
  const ranges: ShardRange[] = [];
  for (let k = 0; k < count; k++) {
    const from = cuts[k] as number;
    const to = Math.max(from, cuts[k + 1] as number);
    ranges.push({ from, to, bars: index.rows.slice(from, to).reduce((a, b) => a + b, 0) });
  }
  return ranges;
}
