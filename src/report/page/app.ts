// The report page's script, inlined into the HTML by ../html.ts (compiled by
// tsconfig.page.json, with the DOM library). It reads the JSON the builder wrote (../model.ts),
// draws time series and bars with uPlot (inlined before this script: the global `uPlot`) and
// heatmaps with a small canvas routine of its own, and shows the universe in a table that
// renders only its visible rows.
//
// Every number printed comes from the JSON as the builder computed it from the full data;
// a cell's title holds the exact value. Curves arrive downsampled to min/max per bucket.

import type { Column, Fmt, Plot, ReportData, Sweep, SymbolView, Universe } from '../model.js';

const data = JSON.parse((document.getElementById('report-data') as HTMLElement).textContent as string) as ReportData;

const C = { line: '#2563eb', up: '#15803d', down: '#c0392b', muted: '#8a94a3', downFill: 'rgba(192,57,43,0.22)', lineFill: 'rgba(37,99,235,0.07)', level: '#d97706' };
type Value = string | number | null;

// ---------------------------------------------------------------------------------------------
// small helpers

function fmt(v: Value | undefined, f: Fmt): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  switch (f) {
    case 'pct':
      return `${(v * 100).toFixed(2)}%`;
    case 'num':
      return v.toFixed(3);
    case 'int':
      return Math.round(v).toLocaleString('en-US');
    case 'price':
      return Math.abs(v) >= 1000 ? v.toFixed(2) : String(Number(v.toPrecision(6)));
    default:
      return String(v);
  }
}

/** Gains green, losses red: only for columns whose sign means that (returns, Sharpe, ...). */
const signClass = (v: Value | undefined, c: Column): string => (typeof v === 'number' && c.signed ? (v < 0 ? 'neg' : v > 0 ? 'pos' : '') : '');

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function select(label: string, options: [string, string][], value: string, onChange: (v: string) => void): HTMLLabelElement {
  const s = h('select');
  for (const [v, text] of options) s.append(h('option', { value: v }, text));
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  return h('label', {}, `${label} `, s);
}

function bytes(b64: string): ArrayBuffer {
  const s = atob(b64);
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u.buffer;
}

interface Decoded {
  x: Float64Array;
  y: Record<string, (number | null)[]>;
}

function decode(p: Plot): Decoded {
  const y: Record<string, (number | null)[]> = {};
  for (const [k, v] of Object.entries(p.y)) y[k] = Array.from(new Float32Array(bytes(v)), (x) => (Number.isNaN(x) ? null : x));
  return { x: new Float64Array(bytes(p.x)), y };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

// ---------------------------------------------------------------------------------------------
// charts: uPlot for series and bars, a canvas routine for heatmaps; all redrawn on resize

const live = new Map<HTMLElement, () => void>();
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => live.forEach((redraw) => redraw()), 150);
});

interface Line {
  label: string;
  values: ArrayLike<number | null>;
  color: string;
  fill?: string;
  fillTo?: number;
  width?: number;
  stepped?: boolean;
}

interface ChartOpts {
  height: number;
  yFmt: Fmt;
  sync?: string;
  log?: boolean;
  /** x is a category-like number (years, bins): no time axis, bars */
  bars?: { step: number; xFmt: (v: number) => string };
  yRange?: [number, number];
  draw?: (u: uPlot) => void;
}

const axisFmt = (f: Fmt) => (_u: uPlot, vals: number[]) => vals.map((v) => (v === null || v === undefined ? '' : f === 'pct' ? `${Number((v * 100).toFixed(2))}%` : String(Number(v.toPrecision(6)))));

function chart(host: HTMLElement, x: ArrayLike<number>, lines: Line[], o: ChartOpts): void {
  const bars = o.bars;
  const barPaths = bars ? uPlot.paths.bars?.({ size: [0.85, 80] }) : undefined;
  const opts: uPlot.Options = {
    width: Math.max(240, host.clientWidth),
    height: o.height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    scales: {
      x: bars ? { time: false, range: (_u, lo, hi) => [lo - bars.step / 2, hi + bars.step / 2] } : { time: true },
      y: { distr: o.log ? 3 : 1, ...(o.yRange ? { range: o.yRange } : {}) },
    },
    cursor: o.sync ? { sync: { key: o.sync } } : {},
    axes: [bars ? { values: (_u, vals) => vals.map((v) => (v === null ? '' : bars.xFmt(v))) } : {}, { size: 70, values: axisFmt(o.yFmt) }],
    series: [
      bars ? { value: (_u, v) => (v === null ? '–' : bars.xFmt(v)) } : {},
      ...lines.map(
        (l): uPlot.Series => ({
          label: l.label,
          stroke: l.color,
          width: l.width ?? 1.25,
          points: { show: false },
          value: (_u, v) => fmt(v, o.yFmt),
          ...(l.fill ? { fill: l.fill } : {}),
          ...(l.fillTo !== undefined ? { fillTo: l.fillTo } : {}),
          ...(l.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : barPaths ? { paths: barPaths } : {}),
        }),
      ),
    ],
    hooks: o.draw ? { draw: [o.draw] } : {},
  };
  host.replaceChildren();
  const u = new uPlot(opts, [x, ...lines.map((l) => l.values)] as uPlot.AlignedData, host);
  live.set(host, () => u.setSize({ width: Math.max(240, host.clientWidth), height: o.height }));
}

interface HeatOpts {
  rows: string[];
  cols: string[];
  values: (number | null)[][];
  fmt: Fmt;
  /** colours diverge from this value (returns: 0); else from the middle of the range */
  center?: number;
  better: 1 | -1;
  rowTitle: string;
  colTitle: string;
}

/** A heatmap on a canvas; its values are also in a table inside the canvas (for screen readers). */
function heatmap(host: HTMLElement, o: HeatOpts): void {
  const canvas = h('canvas', { class: 'heat', role: 'img', 'aria-label': `${o.rowTitle} by ${o.colTitle}` });
  const table = h('table', {}, h('tr', {}, h('th', {}, o.rowTitle ? `${o.rowTitle} \\ ${o.colTitle}` : o.colTitle), ...o.cols.map((c) => h('th', {}, c))));
  o.rows.forEach((r, i) => table.append(h('tr', {}, h('th', {}, r), ...o.cols.map((_, j) => {
    const v = o.values[i]?.[j] ?? null;
    return h('td', { 'data-v': v === null ? '' : String(v) }, fmt(v, o.fmt));
  }))));
  canvas.append(table);
  const finite = o.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const left = Math.max(48, ...o.rows.map((r) => r.length * 7 + 12));
  const top = 22;
  const cellH = 24;
  let cellW = 0;
  const tone = (v: number): string => {
    let t: number;
    if (o.center !== undefined) {
      const m = Math.max(Math.abs(lo - o.center), Math.abs(hi - o.center)) || 1;
      t = (v - o.center) / m;
    } else t = hi > lo ? (2 * (v - lo)) / (hi - lo) - 1 : 0;
    t *= o.better;
    const [r, g, b] = t >= 0 ? [21, 128, 61] : [192, 57, 43];
    const a = 0.12 + 0.78 * Math.min(1, Math.abs(t));
    const mix = (c: number) => Math.round(255 + (c - 255) * a);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  };
  const draw = (): void => {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(260, host.clientWidth);
    cellW = Math.min(110, Math.max(30, (w - left) / Math.max(1, o.cols.length)));
    const width = left + cellW * o.cols.length;
    const height = top + cellH * o.rows.length + 2;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    ctx.fillStyle = '#66707c';
    o.cols.forEach((c, j) => ctx.fillText(c, left + cellW * (j + 0.5), top / 2, cellW - 2));
    o.rows.forEach((r, i) => {
      ctx.textAlign = 'right';
      ctx.fillStyle = '#66707c';
      ctx.fillText(r, left - 6, top + cellH * (i + 0.5));
      ctx.textAlign = 'center';
      o.cols.forEach((_, j) => {
        const v = o.values[i]?.[j] ?? null;
        const x = left + cellW * j;
        const y = top + cellH * i;
        ctx.fillStyle = v === null || !Number.isFinite(v) ? '#f1f3f5' : tone(v);
        ctx.fillRect(x + 1, y + 1, cellW - 2, cellH - 2);
        if (v !== null && cellW >= 44) {
          ctx.fillStyle = '#1d232b';
          ctx.fillText(fmt(v, o.fmt), x + cellW / 2, y + cellH / 2, cellW - 4);
        }
      });
    });
  };
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const j = Math.floor((e.clientX - r.left - left) / cellW);
    const i = Math.floor((e.clientY - r.top - top) / cellH);
    const v = o.values[i]?.[j];
    canvas.title = j >= 0 && i >= 0 && i < o.rows.length && j < o.cols.length ? `${o.rowTitle} ${o.rows[i]}, ${o.colTitle} ${o.cols[j]}: ${fmt(v ?? null, o.fmt)}` : '';
  });
  host.replaceChildren(canvas);
  draw();
  live.set(host, draw);
}

function statsTable(rows: [Column, Value][]): HTMLTableElement {
  const t = h('table', { class: 'stats' });
  for (const [c, v] of rows) t.append(h('tr', {}, h('th', {}, c.label), h('td', { class: signClass(v, c), title: v === null ? '' : String(v), 'data-key': c.key }, fmt(v, c.fmt))));
  return t;
}

// ---------------------------------------------------------------------------------------------
// sections

function section(id: string, title: string, ...kids: (Node | string)[]): HTMLElement {
  return h('section', { id }, h('h2', {}, title), ...kids);
}

function runSection(): HTMLElement {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of data.header) dl.append(h('dt', {}, k), h('dd', {}, v));
  const params = h('dl', { class: 'kv params' });
  for (const [k, v] of data.set.params) params.append(h('dt', {}, k), h('dd', {}, v));
  return section('run', 'Run', dl, h('h3', {}, `Parameter set ${data.set.id}: ${data.set.why}`), params);
}

function portfolioSection(): HTMLElement {
  const p = data.portfolio;
  if (!p) return section('portfolio', 'Portfolio', h('p', { class: 'note' }, data.portfolioNote || 'The portfolio has no bars for this set.'));
  const d = decode(p.plot);
  const equity = d.y.equity as (number | null)[];
  const eqHost = h('div', { class: 'chart', id: 'pf-equity' });
  const canLog = equity.every((v) => v === null || v > 0);
  const logBtn = h('button', { class: 'toggle', type: 'button' }, 'log scale');
  if (!canLog) {
    logBtn.setAttribute('disabled', '');
    logBtn.title = 'equity reaches zero or below: no log scale';
  }
  let log = false;
  const drawEquity = (): void => {
    chart(eqHost, d.x, [{ label: 'equity', values: equity, color: C.line, fill: C.lineFill }], { height: 260, yFmt: 'price', sync: 'pf', log });
  };
  logBtn.addEventListener('click', () => {
    log = !log;
    logBtn.classList.toggle('on', log);
    drawEquity();
  });
  const ddHost = h('div', { class: 'chart', id: 'pf-drawdown' });
  const shHost = h('div', { class: 'chart', id: 'pf-sharpe' });
  const monthHost = h('div', { class: 'heat-wrap', id: 'pf-monthly' });
  const yearHost = h('div', { class: 'chart', id: 'pf-yearly' });
  const el = section(
    'portfolio',
    'Portfolio',
    h('p', { class: 'note' }, `Equal-weight portfolio of every symbol, rebalanced every bar (set ${data.set.id}).`),
    h('div', { class: 'grid2' }, h('div', {}, h('h3', {}, 'statistics'), statsTable(p.stats)), h('div', {}, h('div', { class: 'controls' }, h('h3', { style: 'margin:0' }, 'equity'), logBtn), eqHost)),
    h('h3', {}, 'underwater (drawdown from the running peak)'),
    ddHost,
    h('h3', {}, `rolling Sharpe (${p.window} bars, about a year)`),
    shHost,
    h('div', { class: 'grid2' }, h('div', {}, h('h3', {}, 'monthly returns'), monthHost), h('div', {}, h('h3', {}, 'yearly returns'), yearHost)),
  );
  later.push(() => {
    drawEquity();
    chart(ddHost, d.x, [{ label: 'drawdown', values: d.y.drawdown as (number | null)[], color: C.down, fill: C.downFill, fillTo: 0 }], { height: 150, yFmt: 'pct', sync: 'pf' });
    chart(shHost, d.x, [{ label: 'rolling Sharpe', values: d.y.sharpe as (number | null)[], color: '#7c3aed' }], { height: 180, yFmt: 'num', sync: 'pf' });
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    heatmap(monthHost, { rows: p.monthly.years.map(String), cols: months, values: p.monthly.values, fmt: 'pct', center: 0, better: 1, rowTitle: 'year', colTitle: 'month' });
    const ys = p.yearly;
    chart(
      yearHost,
      ys.years,
      [
        { label: 'gain', values: ys.values.map((v) => (v >= 0 ? v : null)), color: C.up, fill: C.up },
        { label: 'loss', values: ys.values.map((v) => (v < 0 ? v : null)), color: C.down, fill: C.down },
      ],
      { height: 24 * Math.max(6, p.monthly.years.length) + 22, yFmt: 'pct', bars: { step: 1, xFmt: (v) => String(Math.round(v)) } },
    );
  });
  return el;
}

const ROW = 24;

/** The universe's table: sorted and filtered in place, only the rows in view are in the DOM. */
class VirtualTable {
  private order: number[];
  private sortCol = -1;
  private asc = false;
  private selected: string | null = null;
  private queued = false;
  readonly el: HTMLElement;
  private readonly body: HTMLDivElement;
  private readonly rowsEl: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly head: HTMLDivElement;
  private readonly count: HTMLSpanElement;
  private readonly n: number;

  constructor(
    private readonly u: Universe,
    private readonly onPick: (symbol: string) => void,
  ) {
    this.n = (u.data[0] as Value[]).length;
    this.order = Array.from({ length: this.n }, (_, i) => i);
    const width = 110 + 96 * (u.columns.length - 1);
    this.head = h('div', { class: 'vt-head', style: `min-width:${width}px;position:sticky;top:0;z-index:1` });
    u.columns.forEach((c, i) => {
      const s = h('span', { title: c.key, 'data-col': c.key }, c.label);
      s.addEventListener('click', () => this.sort(i));
      this.head.append(s);
    });
    this.rowsEl = h('div', { class: 'vt-rows', style: `min-width:${width}px` });
    this.spacer = h('div', { style: `position:relative;min-width:${width}px` }, this.rowsEl);
    this.body = h('div', { class: 'vt-body' }, this.head, this.spacer);
    this.body.addEventListener('scroll', () => this.queue());
    this.body.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest('.vt-row') as HTMLElement | null;
      if (row?.dataset.symbol) this.onPick(row.dataset.symbol);
    });
    const filter = h('input', { type: 'text', placeholder: 'filter: symbol text, or e.g. sharpe > 1 & trades >= 10', 'aria-label': 'filter symbols' });
    filter.addEventListener('input', () => this.filter(filter.value));
    this.count = h('span', { class: 'note' });
    this.el = h('div', {}, h('div', { class: 'controls' }, filter, this.count), h('div', { class: 'vt' }, this.body));
    const rank = u.columns.findIndex((c) => c.key === u.rankBy);
    if (rank >= 0) this.sort(rank);
    else this.render();
  }

  private col(i: number): Value[] {
    return this.u.data[i] as Value[];
  }

  sort(i: number): void {
    this.asc = this.sortCol === i ? !this.asc : this.u.columns[i]?.fmt === 'text';
    this.sortCol = i;
    const v = this.col(i);
    const dir = this.asc ? 1 : -1;
    this.order.sort((a, b) => {
      const x = v[a] ?? null;
      const y = v[b] ?? null;
      if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a - b;
    });
    this.head.querySelectorAll('span').forEach((s, k) => {
      s.classList.toggle('sorted', k === i);
      s.classList.toggle('asc', k === i && this.asc);
    });
    this.render();
  }

  /** "sharpe > 1 & trades >= 10": numeric conditions on columns (by key or label); other text matches symbols */
  filter(text: string): void {
    const tests: ((r: number) => boolean)[] = [];
    for (const term of text.split('&').map((t) => t.trim()).filter(Boolean)) {
      const m = /^([A-Za-z_][\w ]*?)\s*(<=|>=|<|>|=)\s*(-?[\d.]+(?:e-?\d+)?)(%?)$/.exec(term);
      const ci = m ? this.u.columns.findIndex((c) => c.key.toLowerCase() === (m[1] as string).toLowerCase() || c.label.toLowerCase() === (m[1] as string).toLowerCase()) : -1;
      if (m && ci >= 0) {
        const col = this.col(ci);
        const x = Number(m[3]) / (m[4] ? 100 : 1);
        const op = m[2];
        tests.push((r) => {
          const v = col[r];
          if (typeof v !== 'number') return false;
          return op === '<' ? v < x : op === '>' ? v > x : op === '<=' ? v <= x : op === '>=' ? v >= x : v === x;
        });
      } else {
        const needle = term.toLowerCase();
        const sym = this.col(0);
        tests.push((r) => String(sym[r]).toLowerCase().includes(needle));
      }
    }
    this.order = Array.from({ length: this.n }, (_, i) => i).filter((r) => tests.every((t) => t(r)));
    const s = this.sortCol;
    this.sortCol = -1;
    if (s >= 0) {
      this.asc = !this.asc;
      this.sort(s);
    } else this.render();
  }

  select(symbol: string): void {
    this.selected = symbol;
    this.render();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.render();
    });
  }

  render(): void {
    const n = this.order.length;
    this.spacer.style.height = `${n * ROW}px`;
    this.count.textContent = `${n.toLocaleString('en-US')} of ${this.n.toLocaleString('en-US')} symbols`;
    const top = Math.max(0, this.body.scrollTop - ROW);
    const first = Math.max(0, Math.floor(top / ROW) - 6);
    const last = Math.min(n, Math.ceil((top + (this.body.clientHeight || 432)) / ROW) + 6);
    this.rowsEl.style.transform = `translateY(${first * ROW}px)`;
    const cols = this.u.columns;
    let html = '';
    for (let k = first; k < last; k++) {
      const r = this.order[k] as number;
      const sym = String(this.col(0)[r]);
      html += `<div class="vt-row${sym === this.selected ? ' sel' : ''}" data-symbol="${esc(sym)}">`;
      cols.forEach((c, i) => {
        const v = this.col(i)[r] ?? null;
        html += `<span class="${signClass(v, c)}" title="${v === null ? '' : esc(String(v))}">${esc(fmt(v, c.fmt))}</span>`;
      });
      html += '</div>';
    }
    this.rowsEl.innerHTML = html;
  }
}

/** Histogram of a column across symbols: 40 bins between its 1st and 99th percentiles (the
 *  rest counted in the end bins). */
function histogram(host: HTMLElement, values: Value[], c: Column): void {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) {
    host.append(h('p', { class: 'note' }, `no ${c.label} values`));
    return;
  }
  let lo = xs[Math.floor(0.01 * (xs.length - 1))] as number;
  let hi = xs[Math.ceil(0.99 * (xs.length - 1))] as number;
  if (hi <= lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const bins = 40;
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of xs) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / w)));
    counts[b] = (counts[b] as number) + 1;
  }
  const centers = counts.map((_, i) => lo + w * (i + 0.5));
  const xf = (v: number): string => fmt(v, c.fmt === 'int' ? 'num' : c.fmt);
  chart(host, centers, [{ label: 'symbols', values: counts, color: C.line, fill: 'rgba(37,99,235,0.55)' }], { height: 170, yFmt: 'int', bars: { step: w, xFmt: xf } });
}

function universeSection(pick: (s: string) => void): { el: HTMLElement; table: VirtualTable | null } {
  const u = data.universe;
  if (!u) return { el: section('universe', 'Universe', h('p', { class: 'note' }, 'The run wrote neither stats nor summary.')), table: null };
  const table = new VirtualTable(u, pick);
  const grid = h('div', { class: 'grid3' });
  for (const key of ['sharpe', 'total_return', 'max_drawdown']) {
    const i = u.columns.findIndex((c) => c.key === key);
    if (i < 0) continue;
    const host = h('div', { class: 'chart', id: `dist-${key}` });
    grid.append(h('div', {}, h('h3', {}, `${u.columns[i]?.label} across symbols`), host));
    later.push(() => histogram(host, u.data[i] as Value[], u.columns[i] as Column));
  }
  const el = section(
    'universe',
    'Universe',
    h('p', { class: 'note' }, `Every symbol's statistics under set ${data.set.id}. Click a column to sort, a row to draw the symbol.`),
    table.el,
    grid,
  );
  return { el, table };
}

function symbolSection(table: VirtualTable | null): { el: HTMLElement; show: (s: string) => void } {
  const views = new Map(data.symbols.map((s) => [s.symbol, s]));
  const title = h('span', { class: 'sym-title', id: 'sym-title' });
  const info = h('span', { class: 'note', id: 'sym-info' });
  const hosts = {
    price: h('div', { class: 'chart', id: 'sym-price' }),
    overlay: h('div', { class: 'chart', id: 'sym-overlay' }),
    equity: h('div', { class: 'chart', id: 'sym-equity' }),
    drawdown: h('div', { class: 'chart', id: 'sym-drawdown' }),
  };
  const charts = h('div', {}, hosts.price, h('h3', {}, data.overlay.label), hosts.overlay, h('h3', {}, 'equity'), hosts.equity, h('h3', {}, 'drawdown'), hosts.drawdown);
  const missing = h('p', { class: 'note', id: 'sym-missing' });
  const u = data.universe;
  const statsRow = (s: string): string => {
    if (!u) return '';
    const r = (u.data[0] as string[]).indexOf(s);
    return u.columns
      .filter((c) => ['sharpe', 'total_return', 'max_drawdown', 'trades', 'trend'].includes(c.key))
      .map((c) => `${c.label} ${fmt((u.data[u.columns.indexOf(c)] as Value[])[r] ?? null, c.fmt)}`)
      .join(' · ');
  };
  const show = (s: string): void => {
    table?.select(s);
    title.textContent = s;
    const v = views.get(s);
    picker.value = v ? s : '';
    for (const host of Object.values(hosts)) {
      live.delete(host);
      host.replaceChildren();
    }
    if (!v) {
      info.textContent = statsRow(s);
      missing.textContent = `No per-bar data for ${s} in this report: build it with --symbol ${s}.`;
      charts.style.display = 'none';
      return;
    }
    missing.textContent = '';
    charts.style.display = '';
    info.textContent = `${v.bars.toLocaleString('en-US')} bars, ${v.source === 'signals' ? 'from the run’s signals' : 'recomputed with the run’s parameters'} · ${statsRow(s)}`;
    drawSymbol(v, hosts);
  };
  const picker = h('select', { 'aria-label': 'symbol' });
  picker.append(h('option', { value: '' }, '(other)'));
  for (const s of data.symbols) picker.append(h('option', { value: s.symbol }, s.symbol));
  picker.addEventListener('change', () => picker.value && show(picker.value));
  const el = section('symbol', 'Symbol', h('p', { class: 'note' }, data.symbolsNote), h('div', { class: 'controls' }, title, h('label', {}, 'drawn symbols ', picker), info), missing, charts);
  return { el, show };
}

function drawSymbol(v: SymbolView, hosts: Record<'price' | 'overlay' | 'equity' | 'drawdown', HTMLElement>): void {
  const d = decode(v.plot);
  const m = v.marks;
  const marks = (u: uPlot): void => {
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const r = 4 * dpr;
    const b = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    for (let i = 0; i < m.t.length; i++) {
      const x = u.valToPos(m.t[i] as number, 'x', true);
      const y = u.valToPos(m.price[i] as number, 'y', true);
      const k = m.kind[i];
      ctx.beginPath();
      if (k === 0) {
        ctx.fillStyle = C.muted;
        ctx.arc(x, y, r * 0.7, 0, 2 * Math.PI);
      } else {
        const s = k === 1 ? 1 : -1;
        ctx.fillStyle = k === 1 ? C.up : C.down;
        ctx.moveTo(x, y);
        ctx.lineTo(x - r, y + s * r * 1.8);
        ctx.lineTo(x + r, y + s * r * 1.8);
        ctx.closePath();
      }
      ctx.fill();
    }
    ctx.restore();
  };
  const levels = (u: uPlot): void => {
    const ctx = u.ctx;
    const b = u.bbox;
    ctx.save();
    ctx.strokeStyle = C.level;
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = window.devicePixelRatio || 1;
    for (const lv of data.overlay.levels) {
      const y = Math.round(u.valToPos(lv, 'y', true));
      ctx.beginPath();
      ctx.moveTo(b.left, y);
      ctx.lineTo(b.left + b.width, y);
      ctx.stroke();
    }
    ctx.restore();
  };
  chart(hosts.price, d.x, [{ label: `close (▲ long, ▼ short entry, ● exit; ${m.t.length} position changes)`, values: d.y.close as (number | null)[], color: '#334155' }], { height: 280, yFmt: 'price', sync: 'sym', draw: marks });
  const palette = [C.line, C.muted, '#7c3aed', '#0891b2'];
  chart(
    hosts.overlay,
    d.x,
    data.overlay.series.map((k, i) => ({ label: k, values: d.y[k] as (number | null)[], color: palette[i % palette.length] as string, stepped: k === 'direction', width: k === 'direction' ? 1 : 1.25 })),
    { height: 170, yFmt: 'num', sync: 'sym', yRange: [-1.1, 1.1], draw: levels },
  );
  chart(hosts.equity, d.x, [{ label: 'equity', values: d.y.equity as (number | null)[], color: C.line, fill: C.lineFill }], { height: 180, yFmt: 'price', sync: 'sym' });
  chart(hosts.drawdown, d.x, [{ label: 'drawdown', values: d.y.drawdown as (number | null)[], color: C.down, fill: C.downFill, fillTo: 0 }], { height: 130, yFmt: 'pct', sync: 'sym' });
}

function sweepSection(sw: Sweep): HTMLElement {
  const ps = sw.params;
  const byCount = ps.map((p, i) => [p.values.length, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const state = {
    metric: 0,
    x: byCount[0]?.[1] ?? 0,
    y: byCount[1]?.[1] ?? -1,
    agg: 'median' as 'median' | 'max',
    fixed: ps.map(() => -1),
  };
  const heatHost = h('div', { class: 'heat-wrap', id: 'sweep-heat' });
  const fixHost = h('div', { class: 'controls' });
  const caption = h('p', { class: 'note', id: 'sweep-caption' });
  const best = h('div', { style: 'max-height:420px;overflow:auto' });
  const label = (v: number | string): string => String(v);
  const redraw = (): void => {
    const mt = sw.metrics[state.metric] as Sweep['metrics'][number];
    const px = ps[state.x] as Sweep['params'][number];
    const py = state.y >= 0 ? ps[state.y] : undefined;
    const cells = (py?.values ?? ['']).map(() => px.values.map(() => [] as number[]));
    for (const s of sw.sets) {
      if (ps.some((_, p) => p !== state.x && p !== state.y && state.fixed[p] !== -1 && s.at[p] !== state.fixed[p])) continue;
      const v = s.m[state.metric];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      cells[py ? (s.at[state.y] as number) : 0]?.[s.at[state.x] as number]?.push(v);
    }
    const values = cells.map((r) => r.map((c) => (c.length === 0 ? null : state.agg === 'max' ? Math.max(...c) : median(c))));
    heatmap(heatHost, { rows: (py?.values ?? ['all']).map(label), cols: px.values.map(label), values, fmt: mt.fmt, better: mt.better, rowTitle: py?.label ?? '', colTitle: px.label });
    const others = ps.filter((_, p) => p !== state.x && p !== state.y);
    const agg = others.filter((p) => state.fixed[ps.indexOf(p)] === -1);
    caption.textContent = `${mt.label} of each set (across symbols), over ${px.label}${py ? ` × ${py.label}` : ''}` + (agg.length ? `; each cell is the ${state.agg} over the sets that differ in ${agg.map((p) => p.label).join(', ')}` : '');
    // best sets by the metric
    const order = sw.sets.filter((s) => s.m[state.metric] !== null).sort((a, b) => ((b.m[state.metric] as number) - (a.m[state.metric] as number)) * mt.better);
    const t = h('table', { class: 'best', id: 'sweep-best' });
    t.append(h('tr', {}, h('th', {}, 'param_id'), ...ps.map((p) => h('th', {}, p.label)), ...sw.metrics.map((m) => h('th', {}, m.label))));
    for (const s of order.slice(0, 20)) {
      t.append(
        h('tr', {}, h('td', { style: 'text-align:left' }, s.id), ...ps.map((p, k) => h('td', {}, label(p.values[s.at[k] as number] ?? ''))), ...sw.metrics.map((m, k) => h('td', { class: signClass(s.m[k] ?? null, m), title: String(s.m[k]) }, fmt(s.m[k] ?? null, m.fmt)))),
      );
    }
    best.replaceChildren(h('h3', {}, `best sets by ${mt.label} (of ${sw.sets.length})`), t);
    fixHost.replaceChildren(
      ...others.map((p) => {
        const k = ps.indexOf(p);
        return select(`${p.label}:`, [['-1', `all (${state.agg})`], ...p.values.map((v, i): [string, string] => [String(i), label(v)])], String(state.fixed[k]), (v) => {
          state.fixed[k] = Number(v);
          redraw();
        });
      }),
    );
  };
  const axes = ps.map((p, i): [string, string] => [String(i), p.label]);
  const controls = h(
    'div',
    { class: 'controls' },
    select('metric', sw.metrics.map((m, i) => [String(i), m.label]), '0', (v) => {
      state.metric = Number(v);
      redraw();
    }),
    select('x', axes, String(state.x), (v) => {
      state.x = Number(v);
      if (state.y === state.x) state.y = -1;
      redraw();
    }),
    select('y', [['-1', '(none)'], ...axes], String(state.y), (v) => {
      state.y = Number(v);
      if (state.y === state.x) state.x = ps.findIndex((_, i) => i !== state.y);
      redraw();
    }),
    select('other parameters', [['median', 'median'], ['max', 'max']], 'median', (v) => {
      state.agg = v as 'median' | 'max';
      redraw();
    }),
  );
  later.push(redraw);
  return section(
    'sweep',
    'Sweep',
    h('p', { class: 'note' }, `${sw.sets.length} parameter sets; ${ps.length} parameter${ps.length === 1 ? '' : 's'} varied. Each set's metric is aggregated across symbols (median Sharpe by default).`),
    controls,
    fixHost,
    caption,
    heatHost,
    best,
  );
}

// ---------------------------------------------------------------------------------------------

/** Charts are drawn once their hosts are in the document (they size to it). */
const later: (() => void)[] = [];

function main(): void {
  const nav = h('header', { class: 'top' }, h('h1', {}, data.title));
  const main = h('main');
  const add = (el: HTMLElement, name: string) => {
    main.append(el);
    nav.append(h('a', { href: `#${el.id}` }, name));
  };
  add(runSection(), 'run');
  add(portfolioSection(), 'portfolio');
  let show: (s: string) => void = () => undefined;
  const uni = universeSection((s) => show(s));
  add(uni.el, 'universe');
  const sym = symbolSection(uni.table);
  show = sym.show;
  add(sym.el, 'symbol');
  if (data.sweep) add(sweepSection(data.sweep), 'sweep');
  nav.append(h('span', { class: 'note', style: 'margin-left:auto;color:#94a3b8' }, `generated ${data.generated}`));
  document.body.append(nav, main);
  for (const f of later) f();
  const first = data.symbols[0]?.symbol;
  if (first) show(first);
  // ready: every chart drawn (uPlot commits in a microtask, before the next frame)
  requestAnimationFrame(() => {
    document.body.dataset.ready = String(performance.now());
  });
}

main();
