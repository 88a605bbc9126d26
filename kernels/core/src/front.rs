//! The price-only half of a bar, W symbols at once (one per lane): history, prefix chains, the
//! moving averages and their crossover signals (spec 1.5-1.6). Nothing here depends on lambda,
//! decay, cutout, weights or thresholds, so a parameter sweep computes it once per (MA type,
//! length, robustness) and feeds every parameter set from it (see job.rs).
//!
//! The MAs are organised as *specs*: one MA type with its nine lengths. A single parameter set
//! has six specs (one per type); a sweep has the union of the specs its sets use.
//!
//! Layout: every per-symbol quantity is a `V<W>` (lane l = the symbol in lane l). The history
//! is a double-written ring of H = max_len + 1 closes, so x[i-k] = hist[base - k] is always
//! contiguous. Running window sums are kept as *prefix chains*: slot j holds, for the chain
//! that started (cpos - j) mod depth bars ago, sum(x), sum(p*x) and sum(|dx|) from its start
//! bar to now, each accumulated oldest -> newest from 0. A window of length l ending now is the
//! chain of age l-1, so it has exactly the bits of the direct oldest-first sum the spec
//! prescribes, at max_len additions per bar instead of the sum of all window lengths. A chain's
//! value does not depend on how many chains there are, so specs sharing a front get the bits
//! they would get alone. WMA windows are weighted newest first (spec: sum over j of
//! (l-j)*x[i-j]) and have no shared prefix: they are summed directly.
//!
//! NaN is Pine's na. The history and the chains of bars before bar 0 are NaN, so windows that
//! reach before bar 0 come out NaN without a branch; the few warm-up rules that need one
//! (EMA/DEMA seeds, seed-profile KAMA) are applied only in the general variant
//! (`STEADY = false`). The caller uses the steady variant only when every lane is past
//! `steady_bar()`, where those selects provably change nothing.

use crate::lanes::V;
use crate::plan::{Layout, Switches, DEMA, EMA, HMA, KAMA, LSMA, N_LEN, N_TYPES, WMA};

const KAMA_FAST: f64 = 0.666;
const KAMA_SLOW: f64 = 0.064;


/// Per-length constants, precomputed once, as vectors so that they fold into the arithmetic
/// as memory operands.
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

/// Weights of nine WMAs: rows[j][k] = max(l_k - (maxl - 1 - j), 0), the weight of the close at
/// window position j (0 = oldest of the longest window) in WMA k.
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

/// The seed profile's Hull MA: wma(2*wma(l/2) - wma(l), floor(sqrt(l))), with a
/// double-written ring of the raw series per length.
struct Hull<const W: usize> {
    half: WTab<W>,
    full: WTab<W>,
    q: [usize; N_LEN],
    off: [usize; N_LEN],
    pos: [usize; N_LEN],
    ring: Vec<V<W>>,
}

/// Running sums of one prefix chain: from its start bar to now, sum(x), sum(p*x) with p the
/// bar's offset from the start, and sum(|x - x_prev|).
#[derive(Clone, Copy)]
struct Chain<const W: usize> {
    y: V<W>,
    py: V<W>,
    noise: V<W>,
}

impl<const W: usize> Chain<W> {
    /// Add this bar's close (at offset `age` from the chain's start) and its |change|.
    #[inline(always)]
    fn step(&mut self, x: V<W>, nx: V<W>, age: f64) {
        self.y = self.y.add(x);
        self.py = self.py.add(V::splat(age).mul(x));
        self.noise = self.noise.add(nx);
    }
}

/// One spec's constants and recurrence state.
pub(crate) struct Spec<const W: usize> {
    lens: Lens<W>,
    wtab: Option<WTab<W>>,
    hull: Option<Hull<W>>,
    /// EMA value, DEMA e1 or KAMA value
    st: [V<W>; N_LEN],
    /// DEMA e2
    st2: [V<W>; N_LEN],
    /// DEMA seed accumulator
    acc: [V<W>; N_LEN],
    ma: [V<W>; N_LEN],
    ma_prev: [V<W>; N_LEN],
    /// the persistent crossover signal (spec 1.6): after this bar in sig[cur], after the
    /// previous one in sig[1 - cur] (double-buffered instead of copied: the back reads both)
    sig: [[V<W>; N_LEN]; 2],
}

/// One bar's inputs shared by every spec.
struct Bar<'a, const W: usize> {
    x: V<W>,
    xp: V<W>,
    bi: V<W>,
    hist: &'a [V<W>],
    /// hist[base - k] = x[i - k]
    base: usize,
    chains: &'a [Chain<W>],
    cpos: usize,
    sw: Switches,
    /// the half of `Spec::sig` receiving this bar's signals
    cur: usize,
}

impl<const W: usize> Bar<'_, W> {
    /// The chain of the window of length l ending now (the chain of age l - 1).
    #[inline(always)]
    fn window(&self, l: usize) -> &Chain<W> {
        let depth = self.chains.len();
        let i = self.cpos + depth - (l - 1);
        &self.chains[if i >= depth { i - depth } else { i }]
    }
}

impl<const W: usize> Spec<W> {
    /// Crossovers (1.6): the persistent signal flips on a cross of close over the MA.
    #[inline(always)]
    fn cross(&mut self, b: &Bar<W>) {
        for k in 0..N_LEN {
            self.cross_one(k, b.x, b.xp, b.cur);
        }
    }

    /// MA k's crossover at this bar (its MA value is computed): updates the signal and the
    /// previous MA, returns the signal now and before.
    #[inline(always)]
    pub fn cross_one(&mut self, k: usize, x: V<W>, xp: V<W>, cur: usize) -> (V<W>, V<W>) {
        let v = self.ma[k];
        let up = x.gt(v).and(xp.le(self.ma_prev[k]));
        let dn = x.lt(v).and(xp.ge(self.ma_prev[k]));
        let [s0, s1] = &mut self.sig;
        let (old, now) = if cur == 1 { (&*s0, s1) } else { (&*s1, s0) };
        let so = old[k];
        let s = dn.select(V::splat(-1.0), up.select(V::splat(1.0), so));
        now[k] = s;
        self.ma_prev[k] = v;
        (s, so)
    }

    #[inline(always)]
    fn wma<const STEADY: bool>(&mut self, b: &Bar<W>) {
        if let Some(tab) = self.wtab.as_ref() {
            self.ma = wma9::<STEADY, W>(b.hist, b.base, tab);
        }
    }

    /// EMA k: seeded with the mean of the first l closes at bar l-1, then a*x + (1-a)*prev.
    #[inline(always)]
    fn ema_k<const STEADY: bool>(&mut self, k: usize, b: &Bar<W>) {
        let c = &self.lens;
        let mut e = c.va[k].mul(b.x).add(c.vb[k].mul(self.st[k]));
        if !STEADY {
            e = b.bi.eq(c.vlm1[k]).select(b.window(c.l[k]).y.div(c.vl[k]), e);
        }
        self.st[k] = e;
        self.ma[k] = e;
    }

    /// "HMA" k in Pine: a plain SMA.
    #[inline(always)]
    fn sma_k(&mut self, k: usize, b: &Bar<W>) {
        let c = &self.lens;
        self.ma[k] = b.window(c.l[k]).y.div(c.vl[k]);
    }

    /// The seed profile's "HMA": a true Hull MA.
    #[inline(always)]
    fn hull<const STEADY: bool>(&mut self, b: &Bar<W>) {
        let Some(hu) = self.hull.as_mut() else { return };
        let (half, full) = (wma9::<STEADY, W>(b.hist, b.base, &hu.half), wma9::<STEADY, W>(b.hist, b.base, &hu.full));
        for k in 0..N_LEN {
            let raw = V::splat(2.0).mul(half[k]).sub(full[k]);
            let q = hu.q[k];
            let off = hu.off[k];
            let pos = if hu.pos[k] + 1 == q { 0 } else { hu.pos[k] + 1 };
            hu.pos[k] = pos;
            hu.ring[off + pos] = raw;
            hu.ring[off + pos + q] = raw;
            let mut acc = V::splat(0.0);
            let mut w = q as f64;
            for kk in 0..q {
                acc = acc.add(V::splat(w).mul(hu.ring[off + pos + q - kk]));
                w -= 1.0;
            }
            let qf = q as f64;
            self.ma[k] = acc.div(V::splat(qf * (qf + 1.0) / 2.0));
        }
    }

    /// DEMA k = 2*e1 - e2, e1 = ema(close), e2 = ema(e1)
    #[inline(always)]
    fn dema_k<const STEADY: bool>(&mut self, k: usize, b: &Bar<W>) {
        let c = &self.lens;
        let bi = b.bi;
        let mut e1 = c.va[k].mul(b.x).add(c.vb[k].mul(self.st[k]));
        if !STEADY {
            e1 = bi.eq(c.vlm1[k]).select(b.window(c.l[k]).y.div(c.vl[k]), e1);
        }
        self.st[k] = e1;
        let mut e2 = c.va[k].mul(e1).add(c.vb[k].mul(self.st2[k]));
        if !STEADY {
            let lf = c.lf[k];
            if !b.sw.has(Switches::DEMA_SEED_FIRST) {
                // Pine: the inner ema skips e1's na, so its seed is mean(e1[l-1 .. 2l-2]).
                let last = V::splat(2.0 * lf - 2.0);
                let window = bi.ge(c.vlm1[k]).and(bi.le(last));
                self.acc[k] = window.select(self.acc[k].add(e1), self.acc[k]);
                e2 = bi.lt(last).select(V::splat(f64::NAN), bi.eq(last).select(self.acc[k].div(c.vl[k]), e2));
            } else {
                e2 = bi.lt(c.vlm1[k]).select(V::splat(f64::NAN), bi.eq(c.vlm1[k]).select(e1, e2));
            }
        }
        self.st2[k] = e2;
        self.ma[k] = V::splat(2.0).mul(e1).sub(e2);
    }

    /// LSMA k (Pine): least squares over the last l closes, x = 0 (oldest) .. l-1 (newest)
    #[inline(always)]
    fn lsma_k(&mut self, k: usize, b: &Bar<W>) {
        let c = &self.lens;
        let ch = b.window(c.l[k]);
        let m = c.vl[k].mul(ch.py).sub(c.sx[k].mul(ch.y)).div(c.den[k]);
        let bb = ch.y.sub(m.mul(c.sx[k])).div(c.vl[k]);
        self.ma[k] = bb.add(m.mul(c.vlm1[k]));
    }

    /// The seed profile's LSMA: pandas_ta 0.3.14b linreg, x = 1..l, value m*(l-1) + b (the
    /// second-newest bar).
    #[inline(always)]
    fn lsma_seed(&mut self, b: &Bar<W>) {
        let c = &self.lens;
        let z = V::splat(0.0);
        for k in 0..N_LEN {
            let (l, lf) = (c.l[k], c.lf[k]);
            let (mut ys, mut xys) = (z, z);
            let mut w = 1.0;
            for xv in &b.hist[b.base + 1 - l..=b.base] {
                ys = ys.add(*xv);
                xys = xys.add(V::splat(w).mul(*xv));
                w += 1.0;
            }
            let xsum = 0.5 * lf * (lf + 1.0);
            let x2sum = xsum * (2.0 * lf + 1.0) / 3.0;
            let div = V::splat(lf * x2sum - xsum * xsum);
            let m = c.vl[k].mul(xys).sub(V::splat(xsum).mul(ys)).div(div);
            let bb = ys.mul(V::splat(x2sum)).sub(V::splat(xsum).mul(xys)).div(div);
            self.ma[k] = m.mul(c.vlm1[k]).add(bb);
        }
    }

    /// KAMA k (noise is NaN until bar l, which makes the ratio 0 as Pine's `na != 0` does)
    #[inline(always)]
    fn kama_k<const STEADY: bool>(&mut self, k: usize, b: &Bar<W>) {
        let c = &self.lens;
        let (x, z) = (b.x, V::splat(0.0));
        let (fs, slow) = (V::splat(KAMA_FAST - KAMA_SLOW), V::splat(KAMA_SLOW));
        let noise = b.window(c.l[k]).noise;
        let signal = x.sub(b.hist[b.base - c.l[k]]).abs();
        let ratio = noise.gt(z).select(signal.div(noise), z);
        let t = ratio.mul(fs).add(slow);
        let smooth = t.mul(t);
        let kp = self.st[k];
        let mut kv = kp.add(smooth.mul(x.sub(kp)));
        if !STEADY && b.sw.has(Switches::KAMA_FIRST_CLOSE) {
            kv = b.bi.eq(z).select(x, b.bi.lt(c.vl[k]).select(kp, kv));
        }
        self.st[k] = kv;
        self.ma[k] = kv;
    }

    /// All nine MAs of this spec, of type `t` (WMA has its own table code).
    #[inline(always)]
    fn mas<const STEADY: bool>(&mut self, t: usize, b: &Bar<W>) {
        match t {
            WMA => self.wma::<STEADY>(b),
            HMA if self.hull.is_some() => self.hull::<STEADY>(b),
            LSMA if b.sw.has(Switches::LSMA_SECOND_NEWEST) => self.lsma_seed(b),
            _ => {
                for k in 0..N_LEN {
                    match t {
                        EMA => self.ema_k::<STEADY>(k, b),
                        HMA => self.sma_k(k, b),
                        DEMA => self.dema_k::<STEADY>(k, b),
                        LSMA => self.lsma_k(k, b),
                        _ => self.kama_k::<STEADY>(k, b),
                    }
                }
            }
        }
    }
}

/// The specs of one MA type: every parameter set has one, so the first is stored inline (the
/// single-set hot path then addresses it at fixed offsets); a sweep's others follow.
struct Specs<const W: usize> {
    first: Spec<W>,
    more: Vec<Spec<W>>,
}

impl<const W: usize> Specs<W> {
    fn get(&self, i: usize) -> &Spec<W> {
        if i == 0 {
            &self.first
        } else {
            &self.more[i - 1]
        }
    }
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Spec<W>> {
        std::iter::once(&mut self.first).chain(self.more.iter_mut())
    }
}

/// Nine WMAs (spec 1.5): for each length l, sum over kk = 0..l of (l - kk) * x[i - kk], newest
/// first, / (l(l+1)/2). The nine accumulators advance together (kk outer) so they overlap in
/// the pipeline; each still adds its terms in its own newest-first order.
///
/// STEADY: every window is padded to the longest one with weight-0 terms (`WTab`). Past warm-up
/// the history holds finite closes > 0 only, so a padded term is +0.0 and adding it to the
/// (non-negative) accumulator changes no bit; the loop is branch-free.
#[inline(always)]
fn wma9<const STEADY: bool, const W: usize>(hist: &[V<W>], base: usize, tab: &WTab<W>) -> [V<W>; N_LEN] {
    let mut acc = [V::splat(0.0); N_LEN];
    let maxl = tab.maxl;
    let win = &hist[base + 1 - maxl..=base]; // win[maxl - 1 - kk] = x[i - kk]
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

pub(crate) struct Front<const W: usize> {
    switches: Switches,
    /// specs[t]: the specs of MA type t
    specs: [Specs<W>; N_TYPES],
    pub max_len: usize,
    h: usize,
    depth: usize,
    hist: Vec<V<W>>,
    hpos: usize,
    /// slot j holds the chain that started age(j) = (cpos - j) mod depth bars ago
    chains: Vec<Chain<W>>,
    cpos: usize,
    /// which half of every spec's `sig` holds this bar's signals
    cur: usize,
}

/// floor(sqrt(l)) per length of the seed profile's Hull MA.
pub(crate) fn hull_q(lens: [usize; N_LEN]) -> [usize; N_LEN] {
    lens.map(crate::plan::isqrt)
}

impl<const W: usize> Front<W> {
    /// A front for the given lengths of each MA type: lens[t] lists the specs of type t.
    pub fn new(switches: Switches, lens: &[Vec<[usize; N_LEN]>; N_TYPES]) -> Self {
        let nan = V::splat(f64::NAN);
        let max_len = lens.iter().flatten().flatten().copied().max().unwrap_or(1);
        let h = max_len + 1;
        let specs = std::array::from_fn(|t| {
            let mut list = lens[t].iter().map(|&ls| {
                    let hull = (t == HMA && switches.has(Switches::HMA_HULL)).then(|| {
                        let q = hull_q(ls);
                        let mut off = [0usize; N_LEN];
                        let mut at = 0;
                        for k in 0..N_LEN {
                            off[k] = at;
                            at += 2 * q[k];
                        }
                        Hull {
                            half: WTab::new(ls.map(|l| (l / 2).max(1))),
                            full: WTab::new(ls),
                            q,
                            off,
                            pos: [0; N_LEN],
                            ring: vec![nan; at],
                        }
                    });
                    Spec {
                        lens: Lens::new(ls),
                        wtab: (t == WMA).then(|| WTab::new(ls)),
                        hull,
                        st: [nan; N_LEN],
                        st2: [nan; N_LEN],
                        acc: [nan; N_LEN],
                        ma: [nan; N_LEN],
                        ma_prev: [nan; N_LEN],
                        sig: [[nan; N_LEN]; 2],
                    }
                });
            let first = list.next().expect("every MA type has a spec");
            Specs { first, more: list.collect() }
        });
        Front {
            switches,
            specs,
            max_len,
            h,
            depth: max_len,
            hist: vec![nan; 2 * h],
            hpos: 0,
            chains: vec![Chain { y: nan, py: nan, noise: nan }; max_len],
            cpos: 0,
            cur: 0,
        }
    }

    /// From this bar index on no warm-up rule of the front applies (every MA seeded).
    pub fn steady_bar(&self) -> u64 {
        2 * self.max_len as u64
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

    /// Put a symbol that has seen `bars` bars into lane `l`: `hist` holds its last max_len + 1
    /// closes oldest first (NaN before bar 0), `src(t, i)` a serialised state holding spec i
    /// of type t (a payload and its layout). Chains are rebuilt from the history.
    pub fn load_lane<'a>(&mut self, l: usize, bars: u64, hist: &[f64], src: impl Fn(usize, usize) -> (&'a [f64], &'a Layout)) {
        let h = self.h;
        debug_assert_eq!(hist.len(), h);
        let hx = |q: usize| hist[h - 1 - q]; // x[i - q], i = bars - 1
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
        let cur = self.cur;
        for (t, list) in self.specs.iter_mut().enumerate() {
          for (i, sp) in list.iter_mut().enumerate() {
            let (p, lay) = src(t, i);
            let (st, st2, acc) = match t {
                EMA => (Some(lay.ema), None, None),
                DEMA => (Some(lay.dema_e1), Some(lay.dema_e2), Some(lay.dema_acc)),
                KAMA => (Some(lay.kama), None, None),
                _ => (None, None, None),
            };
            for k in 0..N_LEN {
                let m = t * N_LEN + k;
                sp.ma_prev[k].0[l] = p[lay.ma_prev + m];
                sp.sig[cur][k].0[l] = p[lay.sig + m];
                if let Some(o) = st {
                    sp.st[k].0[l] = p[o + k];
                }
                if let Some(o) = st2 {
                    sp.st2[k].0[l] = p[o + k];
                }
                if let Some(o) = acc {
                    sp.acc[k].0[l] = p[o + k];
                }
            }
            if let Some(hu) = sp.hull.as_mut() {
                let mut src = lay.hull;
                for k in 0..N_LEN {
                    let q = hu.q[k];
                    let (off, pos) = (hu.off[k], hu.pos[k]);
                    for kk in 0..q {
                        let v = p[src + q - 1 - kk];
                        let idx = pos + q - kk;
                        let mirror = if idx >= q { idx - q } else { idx + q };
                        hu.ring[off + idx].0[l] = v;
                        hu.ring[off + mirror].0[l] = v;
                    }
                    src += q;
                }
            }
          }
        }
    }

    /// The last `hist.len()` closes of lane `l`, oldest first.
    pub fn store_hist(&self, l: usize, hist: &mut [f64]) {
        let n = hist.len();
        for q in 0..n {
            hist[n - 1 - q] = self.hist[self.hpos + self.h - q].0[l];
        }
    }

    /// Serialise spec i of type t, lane `l`, into a payload with layout `lay`.
    pub fn store_spec(&self, t: usize, i: usize, l: usize, p: &mut [f64], lay: &Layout) {
        let sp = self.specs[t].get(i);
        for k in 0..N_LEN {
            let m = t * N_LEN + k;
            p[lay.ma_prev + m] = sp.ma_prev[k].0[l];
            p[lay.sig + m] = sp.sig[self.cur][k].0[l];
            match t {
                EMA => p[lay.ema + k] = sp.st[k].0[l],
                DEMA => {
                    p[lay.dema_e1 + k] = sp.st[k].0[l];
                    p[lay.dema_e2 + k] = sp.st2[k].0[l];
                    p[lay.dema_acc + k] = sp.acc[k].0[l];
                }
                KAMA => p[lay.kama + k] = sp.st[k].0[l],
                _ => {}
            }
        }
        if let Some(hu) = sp.hull.as_ref() {
            let mut dst = lay.hull;
            for k in 0..N_LEN {
                let q = hu.q[k];
                let (off, pos) = (hu.off[k], hu.pos[k]);
                for kk in 0..q {
                    p[dst + q - 1 - kk] = hu.ring[off + pos + q - kk].0[l];
                }
                dst += q;
            }
        }
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
        for sp in self.specs.iter_mut().flat_map(|l| l.iter_mut()) {
            if let Some(hu) = sp.hull.as_mut() {
                for v in hu.ring.iter_mut() {
                    v.0[l] = 1.0;
                }
            }
            let [s0, s1] = &mut sp.sig;
            for a in [&mut sp.st, &mut sp.st2, &mut sp.acc, &mut sp.ma_prev, s0, s1] {
                for v in a.iter_mut() {
                    v.0[l] = 1.0;
                }
            }
        }
    }

    /// One bar for every lane: `x` the closes, `xp` the previous closes (`newest()` before this
    /// call), `bi` the bar indices. With CROSS, `sig(t, i)` then holds the signals of this bar;
    /// without, the MAs are computed and the caller runs the crossovers (`Fused`).
    #[inline(always)]
    pub fn tick<const STEADY: bool, const CROSS: bool>(&mut self, x: V<W>, xp: V<W>, bi: V<W>) {
        let sw = self.switches;
        let cur = 1 - self.cur;
        self.cur = cur;
        let h = self.h;
        let depth = self.depth;
        let z = V::splat(0.0);

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
        let mut age = self.cpos as f64;
        for c in head.iter_mut() {
            c.step(x, nx, age);
            age -= 1.0;
        }
        let mut age = (depth - 1) as f64;
        for c in tail.iter_mut() {
            c.step(x, nx, age);
            age -= 1.0;
        }

        let b = Bar { x, xp, bi, hist: &self.hist, base, chains: &self.chains, cpos: self.cpos, sw, cur };
        let [ema, hma, wma, dema, lsma, kama] = &mut self.specs;
        // The first spec of every type: the recurrences of the five k-indexed types advance
        // together (k outer), so that one MA's divisions overlap the others' arithmetic.
        wma.first.wma::<STEADY>(&b);
        let sma = hma.first.hull.is_none();
        if !sma {
            hma.first.hull::<STEADY>(&b);
        }
        let lsma_pine = !sw.has(Switches::LSMA_SECOND_NEWEST);
        if !lsma_pine {
            lsma.first.lsma_seed(&b);
        }
        for k in 0..N_LEN {
            ema.first.ema_k::<STEADY>(k, &b);
            if sma {
                hma.first.sma_k(k, &b);
            }
            dema.first.dema_k::<STEADY>(k, &b);
            if lsma_pine {
                lsma.first.lsma_k(k, &b);
            }
            kama.first.kama_k::<STEADY>(k, &b);
        }
        // A sweep's other specs.
        for (t, list) in [ema, hma, wma, dema, lsma, kama].into_iter().enumerate() {
            for sp in list.more.iter_mut() {
                sp.mas::<STEADY>(t, &b);
            }
            if CROSS {
                for sp in list.iter_mut() {
                    sp.cross(&b);
                }
            }
        }
    }
}

/// Where the back gets the 54 crossover signals of a bar: `get(t, k)` = (now, before).
pub(crate) trait Signals<const W: usize> {
    fn get(&mut self, t: usize, k: usize) -> (V<W>, V<W>);
}

/// Signals the front computed (`tick::<_, true>`): shared by every set of a sweep.
pub(crate) struct Computed<'a, const W: usize> {
    pub now: [&'a [V<W>; N_LEN]; N_TYPES],
    pub before: [&'a [V<W>; N_LEN]; N_TYPES],
}

impl<const W: usize> Signals<W> for Computed<'_, W> {
    #[inline(always)]
    fn get(&mut self, t: usize, k: usize) -> (V<W>, V<W>) {
        (self.now[t][k], self.before[t][k])
    }
}

/// A single set's signals, computed as the back consumes them (`tick::<_, false>`): the same
/// arithmetic without the round trip through memory.
pub(crate) struct Fused<'a, const W: usize> {
    specs: [&'a mut Spec<W>; N_TYPES],
    x: V<W>,
    xp: V<W>,
    cur: usize,
}

impl<const W: usize> Signals<W> for Fused<'_, W> {
    #[inline(always)]
    fn get(&mut self, t: usize, k: usize) -> (V<W>, V<W>) {
        self.specs[t].cross_one(k, self.x, self.xp, self.cur)
    }
}

impl<const W: usize> Front<W> {
    /// The signals of specs `spec[t]` after `tick::<_, true>`.
    #[inline(always)]
    pub fn computed(&self, spec: &[usize; N_TYPES]) -> Computed<'_, W> {
        let c = self.cur;
        let pick = |t: usize| {
            let [s0, s1] = &self.specs[t].get(spec[t]).sig;
            if c == 1 {
                (s1, s0)
            } else {
                (s0, s1)
            }
        };
        Computed { now: std::array::from_fn(|t| pick(t).0), before: std::array::from_fn(|t| pick(t).1) }
    }

    /// The first spec of each type, to run its crossovers after `tick::<_, false>`.
    #[inline(always)]
    pub fn fused(&mut self, x: V<W>, xp: V<W>) -> Fused<'_, W> {
        let cur = self.cur;
        let [a, b, c, d, e, f] = &mut self.specs;
        Fused { specs: [&mut a.first, &mut b.first, &mut c.first, &mut d.first, &mut e.first, &mut f.first], x, xp, cur }
    }
}
