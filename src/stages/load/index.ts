// Load stage: bar chunks in file order -> batches of series for the kernel.
//
// A batch holds up to `capacity` bars. Symbols are never split across batches unless a single
// symbol has more bars than a batch holds; such a symbol is cut into time blocks and the
// executor carries the kernel state from block to block (same bits as one call).
// Every row is checked here, where the symbol and timestamp are known, so that errors name
// them: symbols must arrive grouped and sorted, timestamps strictly increasing per symbol,
// closes finite and > 0, and a symbol needs enough bars for the parameters.

import { type BarChunk, NULL_CODE } from '../../data/bars-reader.js';
import { DataError } from '../../errors.js';

export interface SeriesSlice {
  symbol: string;
  /** index of this series' first bar inside the batch arrays */
  start: number;
  length: number;
  /** absolute bar index of the first bar (0 unless continuing a long symbol) */
  barStart: number;
  /** the slice ends the symbol */
  last: boolean;
}

export interface Batch {
  seq: number;
  series: SeriesSlice[];
  n: number;
  ts: BigInt64Array;
  closes: Float64Array;
}

export interface LoadOptions {
  symbols: readonly string[];
  /** bars per batch (kernel call) */
  capacity: number;
  /** a symbol with fewer bars is ATC_ERR_TOO_FEW_BARS */
  minBars: number;
  file: string;
}

export function tsString(us: bigint): string {
  const ms = Number(us / 1000n);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.000Z$/, '').replace(/Z$/, '') : String(us);
}

/** Group a stream of bar chunks into batches of whole (or block-split) symbols. */
export async function* loadBatches(chunks: AsyncIterable<BarChunk>, opts: LoadOptions): AsyncGenerator<Batch> {
  const cap = Math.max(1, opts.capacity);
  let ts = new BigInt64Array(cap);
  let closes = new Float64Array(cap);
  let n = 0;
  let seq = 0;
  let series: SeriesSlice[] = [];
  // The symbol being read: where it starts in the current batch and how many bars it has.
  let code = -1;
  let symStart = 0;
  let symBars = 0;
  let barStart = 0;
  let lastTs = 0n;
  const doneCodes = new Set<number>();

  const bad = (codeName: 'ATC_ERR_UNSORTED_TS' | 'ATC_ERR_DUPLICATE_TS' | 'ATC_ERR_NULL_VALUE', msg: string, sym: string, t?: bigint): never => {
    throw new DataError(codeName, `${opts.file}: ${sym}${t !== undefined ? ` at ${tsString(t)}` : ''}: ${msg}`, {
      file: opts.file,
      symbol: sym,
      ...(t !== undefined ? { ts: tsString(t) } : {}),
    });
  };

  const endSymbol = (): void => {
    if (code < 0) return;
    const symbol = opts.symbols[code] as string;
    if (symBars < opts.minBars) {
      throw new DataError('ATC_ERR_TOO_FEW_BARS', `${opts.file}: ${symbol} has ${symBars} bars; these parameters need at least ${opts.minBars}`, {
        file: opts.file,
        symbol,
      });
    }
    series.push({ symbol, start: symStart, length: n - symStart, barStart, last: true });
    doneCodes.add(code);
  };

  function* flush(): Generator<Batch> {
    if (series.length === 0) return;
    yield { seq: seq++, series, n, ts: ts.subarray(0, n), closes: closes.subarray(0, n) };
    // The consumer is done with the batch when it asks for the next one; fresh buffers keep
    // batches independent for consumers that hold on to them.
    ts = new BigInt64Array(cap);
    closes = new Float64Array(cap);
    n = 0;
    series = [];
  }

  for await (const ch of chunks) {
    for (let i = 0; i < ch.n; i++) {
      const c = ch.sym[i] as number;
      if (c === NULL_CODE) bad('ATC_ERR_NULL_VALUE', 'symbol is NULL', '(null)', ch.ts[i]);
      const symbol = opts.symbols[c] as string;
      const t = ch.ts[i] as bigint;
      if (ch.tsNull?.[i]) bad('ATC_ERR_NULL_VALUE', 'ts is NULL', symbol);
      if (c !== code) {
        if (c < code || doneCodes.has(c)) {
          bad('ATC_ERR_UNSORTED_TS', `rows are not sorted by symbol (${symbol} after ${opts.symbols[code]}); run \`atc data import\` to sort`, symbol, t);
        }
        endSymbol();
        if (n >= cap) yield* flush();
        code = c;
        symStart = n;
        symBars = 0;
        barStart = 0;
      } else if (t <= lastTs) {
        if (t === lastTs) bad('ATC_ERR_DUPLICATE_TS', 'duplicate timestamp', symbol, t);
        bad('ATC_ERR_UNSORTED_TS', `timestamp goes back (previous ${tsString(lastTs)})`, symbol, t);
      }
      const x = ch.close[i] as number;
      if (ch.closeNull?.[i]) bad('ATC_ERR_NULL_VALUE', 'close is NULL', symbol, t);
      if (!(x > 0 && x < Infinity)) {
        throw new DataError('ATC_ERR_BAD_CLOSE', `${opts.file}: ${symbol} at ${tsString(t)}: close must be finite and > 0, got ${x}`, {
          file: opts.file,
          symbol,
          ts: tsString(t),
        });
      }
      if (n >= cap) {
        if (symStart > 0) {
          // The symbol would fit in a batch of its own: move its rows to the next batch.
          const moveTs = ts.slice(symStart, n);
          const moveCl = closes.slice(symStart, n);
          n = symStart;
          yield* flush();
          ts.set(moveTs);
          closes.set(moveCl);
          n = moveTs.length;
        } else {
          // One symbol fills the whole batch: emit it as a block and continue it in the next
          // batch (the executor carries its kernel state).
          series.push({ symbol, start: 0, length: n, barStart, last: false });
          barStart += n;
          yield* flush();
        }
        symStart = 0;
      }
      ts[n] = t;
      closes[n] = x;
      n++;
      symBars++;
      lastTs = t;
    }
  }
  endSymbol();
  yield* flush();
}
