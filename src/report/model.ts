// What the report builder hands to the page: one JSON object inlined in the HTML. The page
// script (page/app.ts) imports these types only, so builder and page cannot drift.
//
// Numbers that are shown are plain JSON numbers (shortest round-trip form: the exact doubles
// of the run's Parquet). Series that are only drawn travel as base64 typed arrays, downsampled
// to min/max per bucket (see downsample.ts): `Plot`.

/** How a number is shown: a fraction as a percentage, a ratio, an integer, or a price. */
export type Fmt = 'pct' | 'num' | 'int' | 'price' | 'text';

export interface Column {
  key: string;
  label: string;
  fmt: Fmt;
  /** its sign is good or bad news (returns, Sharpe): shown in green or red */
  signed?: boolean;
}

/** Series drawn against one time axis. */
export interface Plot {
  /** epoch seconds, base64 of a Float64Array (little endian) */
  x: string;
  /** y series by name, base64 of Float32Arrays the length of x (NaN: a gap) */
  y: Record<string, string>;
}

export interface Portfolio {
  plot: Plot; // y: equity, drawdown, sharpe
  /** bars in the rolling Sharpe window (about a year) */
  window: number;
  /** compounded monthly returns, one row per year (null: no bar that month) */
  monthly: { years: number[]; values: (number | null)[][] };
  yearly: { years: number[]; values: number[] };
  /** the portfolio_stats row of the set */
  stats: [Column, number | null][];
}

export interface Universe {
  columns: Column[];
  /** columnar: data[c][row], rows in symbol order */
  data: (string | number | null)[][];
  /** the column symbols are ranked by (sharpe; Average_Signal without stats) */
  rankBy: string;
}

/** A strategy's own pane under the price: its per-bar outputs and reference levels. */
export interface Overlay {
  label: string;
  /** series of SymbolView.plot.y drawn in the pane */
  series: string[];
  /** horizontal lines (thresholds) */
  levels: number[];
}

export interface SymbolView {
  symbol: string;
  source: 'signals' | 'recomputed';
  bars: number;
  /** y: close, equity, drawdown and the overlay's series */
  plot: Plot;
  /** position changes: epoch seconds, price, and what happened (1 long entry, -1 short entry,
   *  0 exit; a flip is an exit and an entry at the same bar) */
  marks: { t: number[]; price: number[]; kind: number[] };
}

export interface SweepParam {
  key: string;
  label: string;
  values: (number | string)[];
}

export interface Sweep {
  /** the parameters the grid varies */
  params: SweepParam[];
  /** per-set metrics, aggregated across symbols (and the portfolio's, when it was written) */
  metrics: (Column & { better: 1 | -1 })[];
  /** one per set: its index into each param's values, and its metrics (metrics order) */
  sets: { id: string; at: number[]; m: (number | null)[] }[];
}

export interface ReportData {
  title: string;
  generated: string;
  /** run header: label, value */
  header: [string, string][];
  /** the set shown in the portfolio, universe and symbol views */
  set: { id: string; why: string; params: [string, string][] };
  portfolio: Portfolio | null;
  /** why there is no portfolio, when there is none */
  portfolioNote: string;
  universe: Universe | null;
  symbols: SymbolView[];
  overlay: Overlay;
  /** where the per-bar data came from, or why there is none */
  symbolsNote: string;
  sweep: Sweep | null;
}
