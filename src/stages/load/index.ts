// Load stage: bar chunks in file order -> batches of series, written into pool slots.
//
// A batch holds up to `slot.capacity` bars and `maxSeries` series. A symbol is never split across batches unless it
// alone has more bars than a batch holds; such a symbol is cut into time blocks and the kernel
// state is carried from block to block (same bits as one call).
//
// Every row is checked here, where file, symbol and timestamp are known. Symbols must arrive
// grouped and sorted (always an error otherwise). Row faults (NULL symbol/ts/close, close not
// finite and > 0, a timestamp equal to or before the previous one of its symbol) and short
// symbols follow the bad-row policy: `error` stops with a coded error; `drop` drops the row
// (and skips a symbol left too short); `skip-symbol` skips the whole symbol at its first fault.
// Every dropped row and skipped symbol is recorded with its reason.

import { type BarChunk, NULL_CODE } from '../../data/bars-reader.js';
import { type AtcErrorCode, DataError } from '../../errors.js';
import type { Slot } from '../../pool/slots.js';
import type { InputCheck, StrategyInput } from '../../strategies/types.js';

export const BAD_ROW_POLICIES = ['error', 'drop', 'skip-symbol'] as const;
export type BadRowPolicy = (typeof BAD_ROW_POLICIES)[number];

export interface Reject {
  file: string;
  /** NULL when the symbol itself is missing */
  symbol: string | null;
  /** epoch microseconds; null when missing or when the whole symbol is meant */
  ts: number | null;
  reason: AtcErrorCode;
  detail: string;
  action: 'dropped row' | 'skipped symbol';
}

export interface SeriesSlice {
  symbol: string;
  /** index in the sorted symbol dictionary of the source */
  code: number;
  /** index of this series' first bar in the slot */
  start: number;
  length: number;
  /** absolute bar index of the first bar (0 unless continuing a long symbol) */
  barStart: number;
  /** the slice ends the symbol */
  last: boolean;
}

export interface Batch {
  seq: number;
  slot: Slot;
  series: SeriesSlice[];
  n: number;
  rejects: Reject[];
  /** symbols whose earlier blocks went out in previous batches and that were then skipped */
  aborted: string[];
}

export interface LoadOptions {
  symbols: readonly string[];
  /** a symbol with fewer bars is ATC_ERR_TOO_FEW_BARS */
  minBars: number;
  file: string;
  policy: BadRowPolicy;
  /** a buffer for the next batch (may wait for one to be free) */
  acquire: () => Promise<Slot>;
  /** gives back a buffer the loader took but did not fill (at the end, or when the stream is closed early) */
  release?: (slot: Slot) => void;
  /** per symbol code: 1 = already finished by an earlier run of the same job; its rows are ignored */
  done?: Uint8Array;
  /** symbols continued from a cached state: bars already computed and the last ts they reach;
   *  rows up to that ts are skipped (the cache verified that they are those bars) */
  continueFrom?: ReadonlyMap<number, { bars: number; lastTs: number }>;
  /** per symbol code, its rows in the source: a symbol without faults must keep all of them
   *  (else the source changed while it was read) */
  expectedRows?: readonly number[];
  /** the strategy's input columns besides close, as the chunks carry them (BarChunk.inputs),
   *  copied into the slot's planes of the same names and checked by their rule */
  inputs?: readonly StrategyInput[];
  /** at most this many series a batch (maxSeriesPerChunk): a batch of many short symbols is
   *  cut before its bars fill the slot */
  maxSeries?: number;
}

/** The kernel's per-series results of a chunk (states, last values, accounts) stay below this. */
const CHUNK_RESULT_BYTES = 16 << 20;

/**
 * Series a chunk may hold when each costs `bytesPerSeries` of results (a group's state records,
 * last values and accounts): a universe of a million tiny symbols keeps the memory of one of
 * long ones. (distributed/shards.ts replays the packing with the same cap.)
 */
export function maxSeriesPerChunk(bytesPerSeries: number): number {
  return Math.max(256, Math.floor(CHUNK_RESULT_BYTES / Math.max(1, bytesPerSeries)));
}

/** Why input value x (column `name`) breaks its rule, or undefined. NaN stands for NULL. */
function inputFault(check: InputCheck, name: string, x: number): { reason: AtcErrorCode; detail: string } | undefined {
  if (x !== x) return check === 'direction' ? undefined : { reason: 'ATC_ERR_NULL_VALUE', detail: `${name} is NULL` };
  switch (check) {
    case 'price':
      return x > 0 && x < Infinity ? undefined : { reason: 'ATC_ERR_BAD_VALUE', detail: `${name} must be finite and > 0, got ${x}` };
    case 'nonnegative':
      return x >= 0 && x < Infinity ? undefined : { reason: 'ATC_ERR_BAD_VALUE', detail: `${name} must be finite and >= 0, got ${x}` };
    case 'direction':
      return x === 1 || x === 0 || x === -1 ? undefined : { reason: 'ATC_ERR_BAD_VALUE', detail: `${name} must be 1, 0, -1 or NULL, got ${x}` };
    case 'finite':
      return x > -Infinity && x < Infinity ? undefined : { reason: 'ATC_ERR_BAD_VALUE', detail: `${name} must be finite, got ${x}` };
  }
}

export function tsString(us: number): string {
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace('T', ' ').replace(/\.000Z$/, '').replace(/Z$/, '') : String(us);
}

/**
 * The end of the run of rows from i (below limit) that continue symbol `code` cleanly: no NULL,
 * ts rising past `prev`, close finite and > 0. A function of its own, so that it is optimised
 * as a plain loop (inside the async generator it ran at ~27 ns a row).
 */
function cleanRun(ch: BarChunk, i: number, limit: number, code: number, prev: number): number {
  const { sym, ts, close, tsNull, closeNull } = ch;
  let j = i;
  if (tsNull === null && closeNull === null) {
    for (; j < limit; j++) {
      const t = ts[j] as number;
      const x = close[j] as number;
      if (sym[j] !== code || !(t > prev) || !(x > 0 && x < Infinity)) break;
      prev = t;
    }
    return j;
  }
  for (; j < limit; j++) {
    const t = ts[j] as number;
    const x = close[j] as number;
    if (sym[j] !== code || !(t > prev) || !(x > 0 && x < Infinity) || tsNull?.[j] || closeNull?.[j]) break;
    prev = t;
  }
  return j;
}

/**
 * The first row in [i, end) whose strategy inputs are not all present and valid (a NULL, a value
 * its rule refuses, high below low), or `end`: the fast path's test of a run of rows, a column
 * at a time.
 */
function cleanInputsUntil(ch: BarChunk, i: number, end: number, inputs: readonly StrategyInput[], hi: number, lo: number): number {
  for (let k = 0; k < inputs.length; k++) {
    const x = ch.inputs[k] as Float64Array;
    const nulls = ch.inputNulls[k];
    const { check, name } = inputs[k] as StrategyInput;
    for (let r = i; r < end; r++) {
      if (nulls?.[r] || inputFault(check, name, x[r] as number) !== undefined) {
        end = r;
        break;
      }
    }
  }
  if (hi >= 0 && lo >= 0) {
    const h = ch.inputs[hi] as Float64Array;
    const l = ch.inputs[lo] as Float64Array;
    for (let r = i; r < end; r++) {
      if ((h[r] as number) < (l[r] as number)) {
        end = r;
        break;
      }
    }
  }
  return end;
}

/** Group a stream of bar chunks into batches of whole (or block-split) symbols. */
export async function* loadBatches(chunks: AsyncIterable<BarChunk>, opts: LoadOptions): AsyncGenerator<Batch> {
  const { policy, file } = opts;
  let slot = await opts.acquire();
  // the loader holds `slot` (not yet handed out in a batch): it gives it back when it stops
  let held = true;
  let n = 0;
  let seq = 0;
  let series: SeriesSlice[] = [];
  let rejects: Reject[] = [];
  let aborted: string[] = [];
  // The symbol being read.
  let code = -1;
  let symStart = 0; // where its rows start in the current slot
  let symBars = 0; // bars kept so far (all blocks)
  let barStart = 0; // absolute bar index of symStart
  let skipping = false; // the symbol is skipped (policy) or already done (resume)
  let lastTs = 0;
  let started = false; // lastTs is meaningful
  let symFaults = 0; // rows of the symbol dropped or faulty
  let cont: { bars: number; lastTs: number } | undefined; // continued from the cache
  const maxSeries = opts.maxSeries ?? Infinity;
  const seen = new Uint8Array(opts.symbols.length);
  const inputs = opts.inputs ?? [];
  const nIn = inputs.length;
  const hi = inputs.findIndex((c) => c.name === 'high');
  const lo = inputs.findIndex((c) => c.name === 'low');
  /** the first fault of row j's inputs (NULLs read as NaN), or undefined */
  const rowFault = (ch: BarChunk, j: number): { reason: AtcErrorCode; detail: string } | undefined => {
    for (let k = 0; k < nIn; k++) {
      const c = inputs[k] as StrategyInput;
      const f = inputFault(c.check, c.name, ch.inputNulls[k]?.[j] ? NaN : (ch.inputs[k]?.[j] as number));
      if (f) return f;
    }
    if (hi >= 0 && lo >= 0 && (ch.inputs[hi]?.[j] as number) < (ch.inputs[lo]?.[j] as number)) {
      return { reason: 'ATC_ERR_BAD_VALUE', detail: `high ${ch.inputs[hi]?.[j]} is below low ${ch.inputs[lo]?.[j]}` };
    }
    return undefined;
  };
  const fail = (reason: AtcErrorCode, symbol: string | null, t: number | null, detail: string): never => {
    const where = `${file}: ${symbol ?? '(NULL symbol)'}${t !== null ? ` at ${tsString(t)}` : ''}`;
    throw new DataError(reason, `${where}: ${detail}`, { file, ...(symbol !== null ? { symbol } : {}), ...(t !== null ? { ts: tsString(t) } : {}) });
  };

  /** Apply the policy to a faulty row of the current symbol; returns true if the row is dropped. */
  const badRow = (reason: AtcErrorCode, symbol: string, t: number | null, detail: string): void => {
    symFaults++;
    if (policy === 'error') fail(reason, symbol, t, detail);
    if (policy === 'drop') {
      rejects.push({ file, symbol, ts: t, reason, detail, action: 'dropped row' });
      return;
    }
    skipSymbol(reason, symbol, t, detail);
  };

  const skipSymbol = (reason: AtcErrorCode, symbol: string, t: number | null, detail: string): void => {
    rejects.push({ file, symbol, ts: t, reason, detail, action: 'skipped symbol' });
    skipping = true;
    n = symStart; // its rows in this batch are withdrawn
    if (barStart > 0) aborted.push(symbol); // and its earlier blocks discarded
  };

  const endSymbol = (): void => {
    if (code < 0 || skipping) return;
    const symbol = opts.symbols[code] as string;
    if (symBars < opts.minBars) {
      const detail = `${symBars} bars; these parameters need at least ${opts.minBars}`;
      if (policy === 'error') fail('ATC_ERR_TOO_FEW_BARS', symbol, null, detail);
      skipSymbol('ATC_ERR_TOO_FEW_BARS', symbol, null, detail);
      return;
    }
    const expected = opts.expectedRows?.[code];
    if (symFaults === 0 && expected !== undefined && symBars !== expected) {
      throw new DataError('ATC_ERR_DATA_READ', `${file}: ${symbol}: read ${symBars} bars where ${expected} were counted (did the source change while it was read?)`, { file, symbol });
    }
    series.push({ symbol, code, start: symStart, length: n - symStart, barStart, last: true });
  };

  async function* flush(): AsyncGenerator<Batch> {
    if (series.length === 0 && rejects.length === 0 && aborted.length === 0) return;
    const batch: Batch = { seq: seq++, slot, series, n, rejects, aborted };
    series = [];
    rejects = [];
    aborted = [];
    held = false; // the consumer releases a batch's slot
    yield batch;
    slot = await opts.acquire();
    held = true;
    n = 0;
  }

  try {
    for await (const ch of chunks) {
      const { sym, ts, close, tsNull, closeNull } = ch;
      let i = 0;
      while (i < ch.n) {
        // Fast path: a run of good rows of the current symbol that fits the slot, checked in a
        // tight loop and copied with one set() per column.
        if (!skipping && code >= 0 && started) {
          const limit = Math.min(ch.n, i + (slot.capacity - n));
          let j = cleanRun(ch, i, limit, code, lastTs);
          if (nIn > 0) j = cleanInputsUntil(ch, i, j, inputs, hi, lo);
          if (j > i) {
            const prev = ts[j - 1] as number;
            slot.ts.set(ts.subarray(i, j), n);
            slot.closes.set(close.subarray(i, j), n);
            for (let k = 0; k < nIn; k++) (slot.inputs[(inputs[k] as StrategyInput).name] as Float64Array).set((ch.inputs[k] as Float64Array).subarray(i, j), n);
            n += j - i;
            symBars += j - i;
            lastTs = prev;
            i = j;
            if (i >= ch.n) break;
          }
        }
        // Slow path: one row that starts a symbol, is faulty, fills the slot, or is skipped.
        const c = sym[i] as number;
        const t = tsNull?.[i] ? null : (ts[i] as number);
        const x = close[i] as number;
        const xNull = closeNull?.[i] === 1;
        i++;
        if (c === NULL_CODE) {
          if (policy === 'error') fail('ATC_ERR_NULL_VALUE', null, t, 'symbol is NULL');
          rejects.push({ file, symbol: null, ts: t, reason: 'ATC_ERR_NULL_VALUE', detail: 'symbol is NULL', action: 'dropped row' });
          continue;
        }
        const symbol = opts.symbols[c] as string;
        if (c !== code) {
          if (c < code || seen[c]) {
            fail('ATC_ERR_UNSORTED_SYMBOLS', symbol, t, `rows are not sorted by symbol (${symbol} after ${opts.symbols[code]}); \`atc data import\` sorts them`);
          }
          endSymbol();
          seen[c] = 1;
          code = c;
          cont = opts.continueFrom?.get(c);
          symBars = cont?.bars ?? 0;
          barStart = symBars;
          started = cont !== undefined;
          lastTs = cont?.lastTs ?? 0;
          symFaults = 0;
          skipping = opts.done?.[c] === 1;
          if (n >= slot.capacity || series.length >= maxSeries) yield* flush();
          symStart = n;
        }
        if (skipping) continue;
        // rows of the cached bars (until the first new one is kept)
        if (cont && t !== null && t <= cont.lastTs && symBars === cont.bars) continue;
        if (t === null) {
          badRow('ATC_ERR_NULL_VALUE', symbol, null, 'ts is NULL');
          continue;
        }
        if (started && t <= lastTs) {
          if (t === lastTs) badRow('ATC_ERR_DUPLICATE_TS', symbol, t, 'duplicate timestamp');
          else badRow('ATC_ERR_UNSORTED_TS', symbol, t, `timestamp goes back (previous ${tsString(lastTs)})`);
          continue;
        }
        if (xNull) {
          badRow('ATC_ERR_NULL_VALUE', symbol, t, 'close is NULL');
          continue;
        }
        if (!(x > 0 && x < Infinity)) {
          badRow('ATC_ERR_BAD_CLOSE', symbol, t, `close must be finite and > 0, got ${x}`);
          continue;
        }
        const fault = nIn > 0 ? rowFault(ch, i - 1) : undefined;
        if (fault) {
          badRow(fault.reason, symbol, t, fault.detail);
          continue;
        }
        if (n >= slot.capacity) {
          if (symStart > 0) {
            // The symbol may fit a batch of its own: move its rows to the next batch.
            const moveTs = slot.ts.slice(symStart, n);
            const moveCl = slot.closes.slice(symStart, n);
            const moveIn = inputs.map((c) => (slot.inputs[c.name] as Float64Array).slice(symStart, n));
            n = symStart;
            yield* flush();
            slot.ts.set(moveTs);
            slot.closes.set(moveCl);
            inputs.forEach((c, k) => (slot.inputs[c.name] as Float64Array).set(moveIn[k] as Float64Array));
            n = moveTs.length;
          } else {
            // One symbol fills the whole batch: a block; its state carries to the next batch.
            series.push({ symbol, code, start: 0, length: n, barStart, last: false });
            barStart += n;
            yield* flush();
          }
          symStart = 0;
        }
        slot.ts[n] = t;
        slot.closes[n] = x;
        for (let k = 0; k < nIn; k++) (slot.inputs[(inputs[k] as StrategyInput).name] as Float64Array)[n] = ch.inputNulls[k]?.[i - 1] ? NaN : (ch.inputs[k]?.[i - 1] as number);
        n++;
        symBars++;
        lastTs = t;
        started = true;
      }
    }
    endSymbol();
    yield* flush();
  } finally {
    if (held) opts.release?.(slot);
  }
}
