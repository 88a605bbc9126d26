//! One bar of W symbols at once (one symbol per lane), in the spec's evaluation order.
//!
//! Layout: every per-symbol quantity is a `V<W>` (lane l = the symbol in lane l). The history
//! is a double-written ring of H = max_len + 1 closes, so x[i-k] = hist[base - k] is always
//! contiguous. Running window sums are kept as *prefix chains*: slot j holds, for the chain
//! that started (cpos - j) mod depth bars ago, sum(x), sum(p*x) and sum(|dx|) from its start
//! bar to now, each accumulated oldest -> newest from 0. A window of length l ending now is the chain of
//! age l-1, so it has exactly the bits of the direct oldest-first sum the spec prescribes,
//! at max_len additions per bar instead of the sum of all window lengths. WMA windows are
//! weighted newest first (spec: sum over j of (l-j)*x[i-j]) and have no shared prefix: they
//! are summed directly.
//!
//! NaN is Pine's na. The history and the chains of bars before bar 0 are NaN, so windows that
//! reach before bar 0 come out NaN without a branch; the few warm-up rules that need one
//! (EMA/DEMA seeds, seed-profile KAMA, the cutout) are applied only in the general variant
//! (`STEADY = false`). The caller uses the steady variant only when every lane is past
//! `plan.steady_bar`, the return r is finite and every equity is finite, where those selects
//! provably change nothing.

use crate::lanes::V;
use crate::plan::{Plan, Switches, DEMA, EMA, HMA, KAMA, LSMA, N_LEN, N_MA, N_TYPES, WMA};

const KAMA_FAST: f64 = 0.666;
const KAMA_SLOW: f64 = 0.064;
const CUT: f64 = 0.49;

pub(crate) struct TickOut<const W: usize> {
    pub avg: V<W>,
    pub xsig: [V<W>; N_TYPES],
    pub eq2: [V<W>; N_TYPES],
    pub dir: V<W>,
    pub alert: V<W>,
}

/// Per-length constants of one MA type, precomputed once, as vectors so that they fold into
/// the arithmetic as memory operands.
struct Lens<const W: usize> {
    l: [usize; N_LEN],
    lf: [f64; N_LEN],
    vl: [V<W>; N_LEN],
    /// l - 1
    vlm1: [V<W>; N_LEN],
    /// EMA alpha = 2/(l+1) and 1 - alpha
    va: [V<W>; N_LEN],
    vb: [V<W>; N_LEN],
    /// LSMA (Pine): sum of x = l(l-1)/2 and the denominator l*sum(x^2) - sum(x)^2
    sx: [V<W>; N_LEN],
    den: [V<W>; N_LEN],
}

impl<const W: usize> Lens<W> {
    fn new(l: [usize; N_LEN]) -> Self {
        let lf = l.map(|v| v as f64);
        let a = lf.map(|v| 2.0 / (v + 1.0));
        let sx = lf.map(|v| v * (v - 1.0) / 2.0);
        let sx2 = lf.map(|v| (v - 1.0) * v * (2.0 * v - 1.0) / 6.0);
        Lens {
            l,
            lf,
            vl: lf.map(V::splat),
            vlm1: lf.map(|v| V::splat(v - 1.0)),
            va: a.map(V::splat),
            vb: a.map(|v| V::splat(1.0 - v)),
            sx: sx.map(V::splat),
            den: std::array::from_fn(|k| V::splat(lf[k] * sx2[k] - sx[k] * sx[k])),
        }
    }
}

/// Weights of nine WMAs: rows[j * 9 + k] = max(l_k - (maxl - 1 - j), 0), the weight of the
/// close at window position j (0 = oldest of the longest window) in WMA k.
struct WTab<const W: usize> {
    lens: [usize; N_LEN],
    maxl: usize,
    norm: [f64; N_LEN],
    rows: Vec<[V<W>; N_LEN]>,
}

impl<const W: usize> WTab<W> {
    fn new(lens: [usize; N_LEN]) -> Self {
        let maxl = lens.iter().copied().max().unwrap_or(1);
        let rows = (0..maxl).map(|j| lens.map(|l| V::splat(l.saturating_sub(maxl - 1 - j) as f64))).collect();
        let norm = lens.map(|l| {
            let l = l as f64;
            l * (l + 1.0) / 2.0
        });
        WTab { lens, maxl, norm, rows }
    }
}

/// Running sums of one prefix chain: from its start bar to now, sum(x), sum(p*x) with p the
/// bar's offset from the start, and sum(|x - x_prev|).
#[derive(Clone, Copy)]
struct Chain<const W: usize> {
    y: V<W>,
    py: V<W>,
    noise: V<W>,
}

pub(crate) struct Group<const W: usize> {
    lens: [Lens<W>; N_TYPES],
    /// the 54 MA values of the current bar (type-major, diflen order)
    ma: [V<W>; N_MA],
    wma_tab: WTab<W>,
    /// the seed's Hull MA: wma(l/2) and wma(l) of the HMA lengths
    hull_half: WTab<W>,
    hull_full: WTab<W>,
    h: usize,
    depth: usize,
    hist: Vec<V<W>>,
    hpos: usize,
    /// slot j holds the chain that started age(j) = (cpos - j) mod depth bars ago
    chains: Vec<Chain<W>>,
    cpos: usize,
    ema: [V<W>; N_LEN],
    e1: [V<W>; N_LEN],
    e2: [V<W>; N_LEN],
    dacc: [V<W>; N_LEN],
    kama: [V<W>; N_LEN],
    hull: Vec<V<W>>,
    hull_off: [usize; N_LEN],
    hull_pos: [usize; N_LEN],
    ma_prev: [V<W>; N_MA],
    sig: [V<W>; N_MA],
    eq1: [V<W>; N_MA],
    xsig_prev: [V<W>; N_TYPES],
    eq2: [V<W>; N_TYPES],
    a2: [V<W>; N_TYPES],
    avg_prev: V<W>,
    dir: V<W>,
    /// every equity of every lane was finite after the last bar (a steady-variant precondition)
    pub eq_finite: bool,
}

impl<const W: usize> Group<W> {
    pub fn new(plan: &Plan) -> Self {
        let nan = V::splat(f64::NAN);
        let h = plan.hist_len;
        let depth = plan.max_len;
        let mut hull_off = [0usize; N_LEN];
        let mut at = 0;
        for k in 0..N_LEN {
            hull_off[k] = at;
            at += 2 * plan.hull_q[k];
        }
        Group {
            lens: std::array::from_fn(|t| Lens::new(plan.lens[t])),
            ma: [nan; N_MA],
            wma_tab: WTab::new(plan.lens[WMA]),
            hull_half: WTab::new(plan.lens[HMA].map(|l| (l / 2).max(1))),
            hull_full: WTab::new(plan.lens[HMA]),
            h,
            depth,
            hist: vec![nan; 2 * h],
            hpos: 0,
            chains: vec![Chain { y: nan, py: nan, noise: nan }; depth],
            cpos: 0,
            ema: [nan; N_LEN],
            e1: [nan; N_LEN],
            e2: [nan; N_LEN],
            dacc: [nan; N_LEN],
            kama: [nan; N_LEN],
            hull: vec![nan; at],
            hull_off,
            hull_pos: [0; N_LEN],
            ma_prev: [nan; N_MA],
            sig: [nan; N_MA],
            eq1: [nan; N_MA],
            xsig_prev: [nan; N_TYPES],
            eq2: [nan; N_TYPES],
            a2: [nan; N_TYPES],
            avg_prev: nan,
            dir: nan,
            eq_finite: false,
        }
    }

    /// The close of the previous bar in every lane.
    #[inline(always)]
    pub fn newest(&self) -> V<W> {
        self.hist[self.hpos + self.h]
    }

    #[inline(always)]
    fn set_hist(&mut self, l: usize, back: usize, v: f64) {
        let idx = self.hpos + self.h - back;
        let mirror = if idx >= self.h { idx - self.h } else { idx + self.h };
        self.hist[idx].0[l] = v;
        self.hist[mirror].0[l] = v;
    }

    /// Put a serialised payload (bars seen: `bars`) into lane `l`, rebuilding its chains.
    pub fn load_lane(&mut self, plan: &Plan, l: usize, p: &[f64], bars: u64) {
        let lay = &plan.layout;
        let h = self.h;
        let hx = |q: usize| p[lay.hist + h - 1 - q]; // x[i - q], i = bars - 1
        for q in 0..h {
            self.set_hist(l, q, hx(q));
        }
        for j in 0..self.depth {
            let a = (self.cpos + self.depth - j) % self.depth;
            let (mut sy, mut spy, mut nz) = (f64::NAN, f64::NAN, f64::NAN);
            if bars > 0 && (a as u64) < bars {
                sy = 0.0;
                spy = 0.0;
                nz = 0.0;
                for p in 0..=a {
                    let xv = hx(a - p);
                    sy += xv;
                    spy += (p as f64) * xv;
                    nz += (xv - hx(a - p + 1)).abs();
                }
            }
            let c = &mut self.chains[j];
            c.y.0[l] = sy;
            c.py.0[l] = spy;
            c.noise.0[l] = nz;
        }
        for k in 0..N_LEN {
            self.ema[k].0[l] = p[lay.ema + k];
            self.e1[k].0[l] = p[lay.dema_e1 + k];
            self.e2[k].0[l] = p[lay.dema_e2 + k];
            self.dacc[k].0[l] = p[lay.dema_acc + k];
            self.kama[k].0[l] = p[lay.kama + k];
        }
        let mut src = lay.hull;
        for k in 0..N_LEN {
            let q = plan.hull_q[k];
            let (off, pos) = (self.hull_off[k], self.hull_pos[k]);
            for kk in 0..q {
                let v = p[src + q - 1 - kk];
                let idx = pos + q - kk;
                let mirror = if idx >= q { idx - q } else { idx + q };
                self.hull[off + idx].0[l] = v;
                self.hull[off + mirror].0[l] = v;
            }
            src += q;
        }
        for m in 0..N_MA {
            self.ma_prev[m].0[l] = p[lay.ma_prev + m];
            self.sig[m].0[l] = p[lay.sig + m];
            self.eq1[m].0[l] = p[lay.eq1 + m];
        }
        for t in 0..N_TYPES {
            self.xsig_prev[t].0[l] = p[lay.xsig_prev + t];
            self.eq2[t].0[l] = p[lay.eq2 + t];
            self.a2[t].0[l] = p[lay.a2 + t];
        }
        self.avg_prev.0[l] = p[lay.avg_prev];
        self.dir.0[l] = p[lay.direction];
        // A restored state may hold a non-finite equity: let the next bar take the general path.
        self.eq_finite = false;
    }

    /// Serialise lane `l` into a payload (the inverse of `load_lane`; chains are not stored).
    pub fn store_lane(&self, plan: &Plan, l: usize, p: &mut [f64]) {
        let lay = &plan.layout;
        let h = self.h;
        for q in 0..h {
            p[lay.hist + h - 1 - q] = self.hist[self.hpos + h - q].0[l];
        }
        for k in 0..N_LEN {
            p[lay.ema + k] = self.ema[k].0[l];
            p[lay.dema_e1 + k] = self.e1[k].0[l];
            p[lay.dema_e2 + k] = self.e2[k].0[l];
            p[lay.dema_acc + k] = self.dacc[k].0[l];
            p[lay.kama + k] = self.kama[k].0[l];
        }
        let mut dst = lay.hull;
        for k in 0..N_LEN {
            let q = plan.hull_q[k];
            let (off, pos) = (self.hull_off[k], self.hull_pos[k]);
            for kk in 0..q {
                p[dst + q - 1 - kk] = self.hull[off + pos + q - kk].0[l];
            }
            dst += q;
        }
        for m in 0..N_MA {
            p[lay.ma_prev + m] = self.ma_prev[m].0[l];
            p[lay.sig + m] = self.sig[m].0[l];
            p[lay.eq1 + m] = self.eq1[m].0[l];
        }
        for t in 0..N_TYPES {
            p[lay.xsig_prev + t] = self.xsig_prev[t].0[l];
            p[lay.eq2 + t] = self.eq2[t].0[l];
            p[lay.a2 + t] = self.a2[t].0[l];
        }
        p[lay.avg_prev] = self.avg_prev.0[l];
        p[lay.direction] = self.dir.0[l];
    }

    /// A lane with no symbol: finite, harmless values (close 1.0 forever), so that it never
    /// forces the general variant on the lanes that still work.
    pub fn set_idle(&mut self, l: usize) {
        for v in self.hist.iter_mut() {
            v.0[l] = 1.0;
        }
        for c in self.chains.iter_mut() {
            c.y.0[l] = 1.0;
            c.py.0[l] = 1.0;
            c.noise.0[l] = 1.0;
        }
        for v in self.hull.iter_mut() {
            v.0[l] = 1.0;
        }
        for a in [&mut self.ema, &mut self.e1, &mut self.e2, &mut self.dacc, &mut self.kama] {
            for v in a.iter_mut() {
                v.0[l] = 1.0;
            }
        }
        for a in [&mut self.ma_prev, &mut self.sig, &mut self.eq1] {
            for v in a.iter_mut() {
                v.0[l] = 1.0;
            }
        }
        for a in [&mut self.xsig_prev, &mut self.eq2, &mut self.a2] {
            for v in a.iter_mut() {
                v.0[l] = 1.0;
            }
        }
        self.avg_prev.0[l] = 0.0;
        self.dir.0[l] = 1.0;
    }

    /// Nine WMAs (spec 1.5): for each length l, sum over kk = 0..l of (l - kk) * x[i - kk],
    /// newest first, / (l(l+1)/2). The nine accumulators advance together (kk outer) so they
    /// overlap in the pipeline; each still adds its terms in its own newest-first order.
    ///
    /// STEADY: every window is padded to the longest one with weight-0 terms (`WTab`). Past
    /// warm-up the history holds finite closes > 0 only, so a padded term is +0.0 and adding
    /// it to the (non-negative) accumulator changes no bit; the loop is branch-free.
    #[inline(always)]
    fn wma9<const STEADY: bool>(&self, base: usize, tab: &WTab<W>) -> [V<W>; N_LEN] {
        let mut acc = [V::splat(0.0); N_LEN];
        let maxl = tab.maxl;
        let win = &self.hist[base + 1 - maxl..=base]; // win[maxl - 1 - kk] = x[i - kk]
        if STEADY {
            for (row, x) in tab.rows.iter().zip(win.iter()).rev() {
                for k in 0..N_LEN {
                    acc[k] = acc[k].add(row[k].mul(*x));
                }
            }
        } else {
            for k in 0..N_LEN {
                let mut wk = tab.lens[k] as f64;
                for kk in 0..tab.lens[k] {
                    acc[k] = acc[k].add(V::splat(wk).mul(win[maxl - 1 - kk]));
                    wk -= 1.0;
                }
            }
        }
        let mut out = acc;
        for k in 0..N_LEN {
            out[k] = acc[k].div(V::splat(tab.norm[k]));
        }
        out
    }

    /// One bar for every lane. `x`: the closes, `xp`: the previous closes (`newest()` before
    /// this call), `bi`: bar indices, `r`: R * g (computed by the caller, which chose the variant).
    #[inline(always)]
    pub fn tick<const STEADY: bool>(&mut self, plan: &Plan, x: V<W>, xp: V<W>, bi: V<W>, r: V<W>) -> TickOut<W> {
        let sw = plan.switches;
        let h = self.h;
        let depth = self.depth;
        let z = V::splat(0.0);
        let one = V::splat(1.0);
        let mone = V::splat(-1.0);
        let nan = V::splat(f64::NAN);

        // History and prefix chains.
        self.hpos = if self.hpos + 1 == h { 0 } else { self.hpos + 1 };
        self.hist[self.hpos] = x;
        self.hist[self.hpos + h] = x;
        let base = self.hpos + h;
        self.cpos = if self.cpos + 1 == depth { 0 } else { self.cpos + 1 };
        self.chains[self.cpos] = Chain { y: z, py: z, noise: z };
        let nx = x.sub(xp).abs();
        // Slots 0..=cpos have ages cpos..0, slots cpos+1.. have ages depth-1 ..= cpos+1.
        let (head, tail) = self.chains.split_at_mut(self.cpos + 1);
        let step = |c: &mut Chain<W>, age: f64| {
            c.y = c.y.add(x);
            c.py = c.py.add(V::splat(age).mul(x));
            c.noise = c.noise.add(nx);
        };
        let mut age = self.cpos as f64;
        for c in head.iter_mut() {
            step(c, age);
            age -= 1.0;
        }
        let mut age = (depth - 1) as f64;
        for c in tail.iter_mut() {
            step(c, age);
            age -= 1.0;
        }

        // The 54 moving averages (spec 1.5), one type at a time.
        let cpos = self.cpos;
        let slot = |age: usize| {
            let i = cpos + depth - age;
            if i >= depth {
                i - depth
            } else {
                i
            }
        };
        let chains = &self.chains[..depth];
        let sma = |c: &Lens<W>, k: usize| chains[slot(c.l[k] - 1)].y.div(c.vl[k]);
        // WMA
        let wmas = self.wma9::<STEADY>(base, &self.wma_tab);
        self.ma[WMA * N_LEN..(WMA + 1) * N_LEN].copy_from_slice(&wmas);
        // EMA: seeded with the mean of the first l closes at bar l-1, then a*x + (1-a)*prev.
        let c = &self.lens[EMA];
        for k in 0..N_LEN {
            let mut e = c.va[k].mul(x).add(c.vb[k].mul(self.ema[k]));
            if !STEADY {
                e = bi.eq(c.vlm1[k]).select(sma(c, k), e);
            }
            self.ema[k] = e;
            self.ma[EMA * N_LEN + k] = e;
        }
        // "HMA": a plain SMA in Pine, a true Hull MA in the seed profile.
        let c = &self.lens[HMA];
        if !sw.has(Switches::HMA_HULL) {
            for k in 0..N_LEN {
                self.ma[HMA * N_LEN + k] = sma(c, k);
            }
        } else {
            let (half, full) = (self.wma9::<STEADY>(base, &self.hull_half), self.wma9::<STEADY>(base, &self.hull_full));
            for k in 0..N_LEN {
                let raw = V::splat(2.0).mul(half[k]).sub(full[k]);
                let q = plan.hull_q[k];
                let off = self.hull_off[k];
                let pos = if self.hull_pos[k] + 1 == q { 0 } else { self.hull_pos[k] + 1 };
                self.hull_pos[k] = pos;
                self.hull[off + pos] = raw;
                self.hull[off + pos + q] = raw;
                let mut acc = z;
                let mut w = q as f64;
                for kk in 0..q {
                    acc = acc.add(V::splat(w).mul(self.hull[off + pos + q - kk]));
                    w -= 1.0;
                }
                let qf = q as f64;
                self.ma[HMA * N_LEN + k] = acc.div(V::splat(qf * (qf + 1.0) / 2.0));
            }
        }
        // DEMA = 2*e1 - e2, e1 = ema(close), e2 = ema(e1)
        let c = &self.lens[DEMA];
        for k in 0..N_LEN {
            let mut e1 = c.va[k].mul(x).add(c.vb[k].mul(self.e1[k]));
            if !STEADY {
                e1 = bi.eq(c.vlm1[k]).select(sma(c, k), e1);
            }
            self.e1[k] = e1;
            let mut e2 = c.va[k].mul(e1).add(c.vb[k].mul(self.e2[k]));
            if !STEADY {
                let lf = c.lf[k];
                if !sw.has(Switches::DEMA_SEED_FIRST) {
                    // Pine: the inner ema skips e1's na, so its seed is mean(e1[l-1 .. 2l-2]).
                    let last = V::splat(2.0 * lf - 2.0);
                    let window = bi.ge(c.vlm1[k]).and(bi.le(last));
                    self.dacc[k] = window.select(self.dacc[k].add(e1), self.dacc[k]);
                    e2 = bi.lt(last).select(nan, bi.eq(last).select(self.dacc[k].div(c.vl[k]), e2));
                } else {
                    e2 = bi.lt(c.vlm1[k]).select(nan, bi.eq(c.vlm1[k]).select(e1, e2));
                }
            }
            self.e2[k] = e2;
            self.ma[DEMA * N_LEN + k] = V::splat(2.0).mul(e1).sub(e2);
        }
        // LSMA: least squares over the last l closes, x = 0 (oldest) .. l-1 (newest)
        let c = &self.lens[LSMA];
        if !sw.has(Switches::LSMA_SECOND_NEWEST) {
            for k in 0..N_LEN {
                let ch = &chains[slot(c.l[k] - 1)];
                let m = c.vl[k].mul(ch.py).sub(c.sx[k].mul(ch.y)).div(c.den[k]);
                let b = ch.y.sub(m.mul(c.sx[k])).div(c.vl[k]);
                self.ma[LSMA * N_LEN + k] = b.add(m.mul(c.vlm1[k]));
            }
        } else {
            for k in 0..N_LEN {
                // pandas_ta 0.3.14b linreg: x = 1..l, value m*(l-1) + b (the second-newest bar)
                let (l, lf) = (c.l[k], c.lf[k]);
                let (mut ys, mut xys) = (z, z);
                let mut w = 1.0;
                for xv in &self.hist[base + 1 - l..=base] {
                    ys = ys.add(*xv);
                    xys = xys.add(V::splat(w).mul(*xv));
                    w += 1.0;
                }
                let xsum = 0.5 * lf * (lf + 1.0);
                let x2sum = xsum * (2.0 * lf + 1.0) / 3.0;
                let div = V::splat(lf * x2sum - xsum * xsum);
                let m = c.vl[k].mul(xys).sub(V::splat(xsum).mul(ys)).div(div);
                let b = ys.mul(V::splat(x2sum)).sub(V::splat(xsum).mul(xys)).div(div);
                self.ma[LSMA * N_LEN + k] = m.mul(c.vlm1[k]).add(b);
            }
        }
        // KAMA (noise is NaN until bar l, which makes the ratio 0 as Pine's `na != 0` does)
        let c = &self.lens[KAMA];
        let (fs, slow) = (V::splat(KAMA_FAST - KAMA_SLOW), V::splat(KAMA_SLOW));
        let hist = &self.hist[..];
        for k in 0..N_LEN {
            let noise = chains[slot(c.l[k] - 1)].noise;
            let signal = x.sub(hist[base - c.l[k]]).abs();
            let ratio = noise.gt(z).select(signal.div(noise), z);
            let t = ratio.mul(fs).add(slow);
            let smooth = t.mul(t);
            let kp = self.kama[k];
            let mut kv = kp.add(smooth.mul(x.sub(kp)));
            if !STEADY && sw.has(Switches::KAMA_FIRST_CLOSE) {
                kv = bi.eq(z).select(x, bi.lt(c.vl[k]).select(kp, kv));
            }
            self.kama[k] = kv;
            self.ma[KAMA * N_LEN + k] = kv;
        }

        // Crossovers (1.6), Layer-1 equities (1.8) and signals (1.9).
        let dv = V::splat(plan.d);
        let floor = V::splat(0.25);
        let before_cutout = bi.lt(V::splat(plan.cutout as f64));
        let rn = r.neg();
        let mut fin = crate::lanes::M([u64::MAX; W]);
        let mut xsig = [z; N_TYPES];
        for t in 0..N_TYPES {
            let mut num = z;
            let mut den = z;
            for k in 0..N_LEN {
                let m = t * N_LEN + k;
                let v = self.ma[m];
                let so = self.sig[m];
                let up = x.gt(v).and(xp.le(self.ma_prev[m]));
                let dn = x.lt(v).and(xp.ge(self.ma_prev[m]));
                let s = dn.select(mone, up.select(one, so));
                let e = if STEADY {
                    // r finite: so * r is exactly the select below (0 * r is +-0 and 1 + -0 == 1)
                    let e = self.eq1[m].mul(dv).mul(one.add(so.mul(r)));
                    e.lt(floor).select(floor, e)
                } else {
                    // Layer 1's `var a` only keeps a value before the first crossover, where it is 0.
                    let a = so.gt(z).select(r, so.lt(z).select(rn, z));
                    let ep = self.eq1[m];
                    let e = ep.is_nan().select(one, ep.mul(dv).mul(one.add(a)));
                    before_cutout.select(nan, e.lt(floor).select(floor, e))
                };
                self.ma_prev[m] = v;
                self.sig[m] = s;
                self.eq1[m] = e;
                num = num.add(s.mul(e));
                den = den.add(e);
            }
            fin = fin.and(den.is_finite());
            let u = num.div(den).mul(V::splat(100.0));
            let rounded = if sw.has(Switches::ROUND_HALF_EVEN) { u.round_half_even() } else { u.add(V::splat(0.5)).floor() };
            xsig[t] = rounded.div(V::splat(100.0));
        }

        // Layer 2 (1.10) and Average_Signal (1.11).
        let (hi, lo) = if sw.has(Switches::CUT_AT_THRESHOLDS) {
            (plan.long_threshold, plan.short_threshold)
        } else {
            (CUT, -CUT)
        };
        let (hi, lo) = (V::splat(hi), V::splat(lo));
        let mut num = z;
        let mut den = z;
        for t in 0..N_TYPES {
            let so = self.xsig_prev[t];
            let keep = if sw.has(Switches::LAYER2_RESET_A) { z } else { self.a2[t] };
            let an = so.gt(z).select(r, so.lt(z).select(rn, keep));
            let e = if STEADY {
                self.a2[t] = an;
                let e = self.eq2[t].mul(dv).mul(one.add(an));
                e.lt(floor).select(floor, e)
            } else {
                let a = before_cutout.select(self.a2[t], an);
                self.a2[t] = a;
                let ep = self.eq2[t];
                let e = ep.is_nan().select(V::splat(plan.weights[t]), ep.mul(dv).mul(one.add(a)));
                before_cutout.select(nan, e.lt(floor).select(floor, e))
            };
            self.eq2[t] = e;
            self.xsig_prev[t] = xsig[t];
            let c = xsig[t].gt(hi).select(one, xsig[t].lt(lo).select(mone, z));
            num = num.add(c.mul(e));
            den = den.add(e);
        }
        fin = fin.and(den.is_finite());
        let mut avg = num.div(den);
        if sw.has(Switches::AVERAGE_NA_ZERO) {
            avg = avg.is_finite().select(avg, z);
        }

        // Direction and alerts (1.12).
        let lt = V::splat(plan.long_threshold);
        let st = V::splat(plan.short_threshold);
        let up = avg.gt(lt).and(self.avg_prev.le(lt));
        let dn = avg.lt(st).and(self.avg_prev.ge(st));
        let dir_old = self.dir;
        let dir = dn.select(mone, up.select(one, dir_old));
        let alert = up.and(dir_old.eq(mone)).select(one, dn.and(dir_old.eq(one)).select(mone, z));
        self.avg_prev = avg;
        self.dir = dir;
        self.eq_finite = fin.all();
        TickOut { avg, xsig, eq2: self.eq2, dir, alert }
    }
}
