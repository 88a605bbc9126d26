// Progress of a long job: a live line on a terminal, periodic log lines (plain or JSON)
// otherwise, nothing with --quiet.

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export interface ProgressTotals {
  symbols: number;
  bars: number;
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

export class Progress {
  private readonly t0 = performance.now();
  private last = 0;
  private symbols = 0;
  private bars = 0;
  private readonly startBars: number;

  constructor(
    private readonly mode: ProgressMode,
    private readonly totals: ProgressTotals,
    private readonly write: (s: string) => void,
    done: ProgressTotals = { symbols: 0, bars: 0 },
  ) {
    this.symbols = done.symbols;
    this.bars = done.bars;
    this.startBars = done.bars;
  }

  add(symbols: number, bars: number): void {
    this.symbols += symbols;
    this.bars += bars;
    const now = performance.now();
    const every = this.mode === 'tty' ? 200 : 5000;
    if (now - this.last >= every) {
      this.last = now;
      this.emit(false);
    }
  }

  finish(): void {
    this.emit(true);
  }

  private emit(final: boolean): void {
    if (this.mode === 'quiet') return;
    const secs = (performance.now() - this.t0) / 1000;
    const rate = (this.bars - this.startBars) / Math.max(secs, 1e-9);
    const eta = (this.totals.bars - this.bars) / Math.max(rate, 1e-9);
    if (this.mode === 'json') {
      this.write(JSON.stringify({ event: final ? 'done' : 'progress', symbols: this.symbols, symbolsTotal: this.totals.symbols, bars: this.bars, barsTotal: this.totals.bars, barsPerSecond: Math.round(rate), etaSeconds: final ? 0 : Math.round(eta), seconds: +secs.toFixed(2) }) + '\n');
      return;
    }
    const text = `${this.symbols}/${this.totals.symbols} symbols, ${fmtCount(this.bars)}/${fmtCount(this.totals.bars)} bars, ${fmtCount(Math.round(rate))} bars/s, ${final ? `done in ${fmtDuration(secs)}` : `ETA ${fmtDuration(eta)}`}`;
    if (this.mode === 'tty') this.write(`\r\x1b[2Katc run: ${text}${final ? '\n' : ''}`);
    else this.write(`atc run: ${text}\n`);
  }
}
