// Progress of a long job as events (the library's onProgress), and the CLI's rendering of them:
// a live line on a terminal, periodic log lines (plain or JSON) otherwise, nothing with --quiet.

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export interface ProgressTotals {
  symbols: number;
  bars: number;
}

/** Where a job stands. Symbols and bars count (symbol, pass) pairs: a sweep in 3 passes counts every symbol 3 times. */
export interface ProgressEvent {
  symbols: number;
  symbolsTotal: number;
  bars: number;
  barsTotal: number;
  barsPerSecond: number;
  /** seconds left at the current rate (0 when done) */
  etaSeconds: number;
  seconds: number;
  done: boolean;
}

export class Progress {
  private readonly t0 = performance.now();
  private symbols = 0;
  private bars = 0;
  private readonly startBars: number;

  constructor(
    private readonly totals: ProgressTotals,
    private readonly listener: (e: ProgressEvent) => void,
    done: ProgressTotals = { symbols: 0, bars: 0 },
  ) {
    this.symbols = done.symbols;
    this.bars = done.bars;
    this.startBars = done.bars;
  }

  add(symbols: number, bars: number): void {
    this.symbols += symbols;
    this.bars += bars;
    this.listener(this.event(false));
  }

  finish(): void {
    this.listener(this.event(true));
  }

  private event(done: boolean): ProgressEvent {
    const seconds = (performance.now() - this.t0) / 1000;
    const rate = (this.bars - this.startBars) / Math.max(seconds, 1e-9);
    const eta = (this.totals.bars - this.bars) / Math.max(rate, 1e-9);
    return {
      symbols: this.symbols,
      symbolsTotal: this.totals.symbols,
      bars: this.bars,
      barsTotal: this.totals.bars,
      barsPerSecond: Math.round(rate),
      etaSeconds: done ? 0 : Math.round(eta),
      seconds: +seconds.toFixed(2),
      done,
    };
  }
}

function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** Renders events for a person (`mode`), at most every 200 ms on a terminal and every 5 s otherwise. */
export function progressPrinter(mode: ProgressMode, write: (s: string) => void, what = 'atc run'): (e: ProgressEvent) => void {
  let last = 0;
  return (e) => {
    if (mode === 'quiet') return;
    const now = performance.now();
    if (!e.done && now - last < (mode === 'tty' ? 200 : 5000)) return;
    last = now;
    if (mode === 'json') {
      const { done, ...rest } = e;
      write(JSON.stringify({ event: done ? 'done' : 'progress', ...rest }) + '\n');
      return;
    }
    const text = `${e.symbols}/${e.symbolsTotal} symbols, ${fmtCount(e.bars)}/${fmtCount(e.barsTotal)} bars, ${fmtCount(e.barsPerSecond)} bars/s, ${e.done ? `done in ${fmtDuration(e.seconds)}` : `ETA ${fmtDuration(e.etaSeconds)}`}`;
    if (mode === 'tty') write(`\r\x1b[2K${what}: ${text}${e.done ? '\n' : ''}`);
    else write(`${what}: ${text}\n`);
  };
}
