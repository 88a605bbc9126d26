//! The parameter half of a bar, W symbols at once: Layer-1 equities and signals (spec 1.8-1.9),
//! Layer 2 (1.10), Average_Signal (1.11), direction and alerts (1.12). Its inputs are the 54
//! crossover signals of the bar (from front.rs, directly or replayed from a sweep's buffer) and
//! r = R * g; everything that depends on lambda, decay, cutout, weights and thresholds is here.
//!
//! The caller uses the steady variant only when every lane is past `steady_bar()`, r is finite
//! in every lane and every equity was finite after the previous bar (`eq_finite`), where the
//! general variant's selects provably change nothing.

use crate::front::Signals;
use crate::lanes::{M, V};
use crate::plan::{Layout, Plan, Switches, N_LEN, N_MA, N_TYPES};

const CUT: f64 = 0.49;

pub(crate) struct TickOut<const W: usize> {
    pub avg: V<W>,
    pub xsig: [V<W>; N_TYPES],
    pub eq2: [V<W>; N_TYPES],
    pub dir: V<W>,
    pub alert: V<W>,
}

pub(crate) struct Back<const W: usize> {
    switches: Switches,
    d: V<W>,
    cutout: V<W>,
    cutout_bar: u64,
    weights: [V<W>; N_TYPES],
    /// the Cut thresholds of Average_Signal (1.11) and the direction thresholds (1.12)
    cut_hi: V<W>,
    cut_lo: V<W>,
    long: V<W>,
    short: V<W>,
    eq1: [V<W>; N_MA],
    xsig_prev: [V<W>; N_TYPES],
    eq2: [V<W>; N_TYPES],
    a2: [V<W>; N_TYPES],
    avg_prev: V<W>,
    dir: V<W>,
    /// every equity of every lane was finite after the last bar (a steady-variant precondition)
    pub eq_finite: bool,
}

impl<const W: usize> Back<W> {
    pub fn new(plan: &Plan) -> Self {
        let nan = V::splat(f64::NAN);
        let (hi, lo) = if plan.switches.has(Switches::CUT_AT_THRESHOLDS) {
            (plan.long_threshold, plan.short_threshold)
        } else {
            (CUT, -CUT)
        };
        Back {
            switches: plan.switches,
            d: V::splat(plan.d),
            cutout: V::splat(plan.cutout as f64),
            cutout_bar: plan.cutout,
            weights: plan.weights.map(V::splat),
            cut_hi: V::splat(hi),
            cut_lo: V::splat(lo),
            long: V::splat(plan.long_threshold),
            short: V::splat(plan.short_threshold),
            eq1: [nan; N_MA],
            xsig_prev: [nan; N_TYPES],
            eq2: [nan; N_TYPES],
            a2: [nan; N_TYPES],
            avg_prev: nan,
            dir: nan,
            eq_finite: false,
        }
    }

    /// From this bar index on no warm-up rule of the back applies (past the cutout's first bar).
    pub fn steady_bar(&self) -> u64 {
        self.cutout_bar + 1
    }

    pub fn load_lane(&mut self, l: usize, p: &[f64], lay: &Layout) {
        for m in 0..N_MA {
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

    /// Serialise lane `l`'s sections (the signals are the front's).
    pub fn store_lane(&self, l: usize, p: &mut [f64], lay: &Layout) {
        for m in 0..N_MA {
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

    pub fn set_idle(&mut self, l: usize) {
        for v in self.eq1.iter_mut() {
            v.0[l] = 1.0;
        }
        for a in [&mut self.xsig_prev, &mut self.eq2, &mut self.a2] {
            for v in a.iter_mut() {
                v.0[l] = 1.0;
            }
        }
        self.avg_prev.0[l] = 0.0;
        self.dir.0[l] = 1.0;
    }

    /// Lane `l`'s outputs at its last bar: Average_Signal, 6 X_Signal, 6 X_S, direction (0 = na).
    pub fn last_values(&self, l: usize, out: &mut [f64]) {
        out[0] = self.avg_prev.0[l];
        for t in 0..N_TYPES {
            out[1 + t] = self.xsig_prev[t].0[l];
            out[7 + t] = self.eq2[t].0[l];
        }
        let d = self.dir.0[l];
        out[13] = if d.is_nan() { 0.0 } else { d };
    }

    /// One bar for every lane: `sig` the 54 crossover signals of this bar and the previous one,
    /// `r` = R * g, `bi` the bar indices.
    #[inline(always)]
    pub fn tick<const STEADY: bool>(&mut self, sig: &mut impl Signals<W>, r: V<W>, bi: V<W>) -> TickOut<W> {
        let sw = self.switches;
        let z = V::splat(0.0);
        let one = V::splat(1.0);
        let mone = V::splat(-1.0);
        let nan = V::splat(f64::NAN);
        let dv = self.d;
        let floor = V::splat(0.25);
        let before_cutout = bi.lt(self.cutout);
        let rn = r.neg();

        // Layer-1 equities (1.8) and signals (1.9). Each type's sums run k = 0..8 in order; the
        // six types advance together (k outer), so that each type's division chain below
        // overlaps the others' instead of stalling the loop.
        let mut num = [z; N_TYPES];
        let mut den = [z; N_TYPES];
        for k in 0..N_LEN {
            for t in 0..N_TYPES {
                let m = t * N_LEN + k;
                let (sk, so) = sig.get(t, k);
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
                self.eq1[m] = e;
                num[t] = num[t].add(sk.mul(e));
                den[t] = den[t].add(e);
            }
        }
        let mut fin = M([u64::MAX; W]);
        let mut xsig = [z; N_TYPES];
        for t in 0..N_TYPES {
            fin = fin.and(den[t].is_finite());
            let u = num[t].div(den[t]).mul(V::splat(100.0));
            let rounded = if sw.has(Switches::ROUND_HALF_EVEN) { u.round_half_even() } else { u.add(V::splat(0.5)).floor() };
            xsig[t] = rounded.div(V::splat(100.0));
        }

        // Layer 2 (1.10) and Average_Signal (1.11).
        let (hi, lo) = (self.cut_hi, self.cut_lo);
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
                let e = ep.is_nan().select(self.weights[t], ep.mul(dv).mul(one.add(a)));
                before_cutout.select(nan, e.lt(floor).select(floor, e))
            };
            self.eq2[t] = e;
            self.xsig_prev[t] = xsig[t];
            let c = xsig[t].gt(hi).select(one, xsig[t].lt(lo).select(mone, z));
            num = num.add(c.mul(e));
            den = den.add(e);
        }
        let fin = fin.and(den.is_finite());
        let mut avg = num.div(den);
        if sw.has(Switches::AVERAGE_NA_ZERO) {
            avg = avg.is_finite().select(avg, z);
        }

        // Direction and alerts (1.12).
        let (lt, st) = (self.long, self.short);
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
