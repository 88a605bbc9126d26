//! Backtest accounting: positions from the kernel's `direction`, returns net of costs, equity,
//! drawdown, trades and the sums the statistics are made of. The same steps, in the same
//! floating-point order, as src/backtest/accounting.ts (the readable reference; tests compare
//! the two bit for bit). Conventions are stated there and in the README.
//!
//! State: ACCT_SIZE f64 per account (layout = ACCT in the TS module), so an account carries
//! across blocks of a series and across runs.

use crate::lanes::{M, V};

pub const ACCT_SIZE: usize = 27;
pub const BARS: usize = 0;
const FIRST_TS: usize = 1;
const LAST_TS: usize = 2;
const PREV_CLOSE: usize = 3;
const HELD: usize = 4;
const TARGET: usize = 5;
const EQUITY: usize = 6;
const PEAK: usize = 7;
const PEAK_BAR: usize = 8;
const MAX_DD: usize = 9;
const MAX_DD_PEAK_BAR: usize = 10;
const MAX_DD_DURATION: usize = 11;
const N_RET: usize = 12;
const MEAN: usize = 13;
const M2: usize = 14;
const DOWN_SQ: usize = 15;
const HELD_BARS: usize = 16;
const TURNOVER: usize = 17;
const TRADES: usize = 18;
const CLOSED: usize = 19;
const WINS: usize = 20;
const SUM_TRADE_RET: usize = 21;
const TRADE_SIDE: usize = 22;
const TRADE_ENTRY_BAR: usize = 23;
const TRADE_ENTRY_TS: usize = 24;
const TRADE_ENTRY_PRICE: usize = 25;
const TRADE_GROWTH: usize = 26;

/// Fields of one closed trade in a trades buffer: series, set, side, entry_ts, entry_price,
/// exit_ts, exit_price, bars_held, return.
pub const TRADE_FIELDS: usize = 9;

/// Trading rule and costs of one parameter set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AcctParams {
    /// 0 long-short, 1 long-only, 2 short-only
    pub mode: u8,
    pub fee_bps: f64,
    pub slippage_bps: f64,
}

impl AcctParams {
    pub const DEFAULT: AcctParams = AcctParams { mode: 0, fee_bps: 0.0, slippage_bps: 0.0 };

    pub fn rate(&self) -> f64 {
        (self.fee_bps + self.slippage_bps) / 10000.0
    }
}

/// The account before bar 0.
pub fn fresh_account(a: &mut [f64]) {
    a.fill(0.0);
    a[PREV_CLOSE] = f64::NAN;
    a[EQUITY] = 1.0;
    a[PEAK] = 1.0;
    a[MAX_DD_DURATION] = -1.0;
}

/// Target position from the kernel's direction (NaN while na).
#[inline(always)]
fn target_of(direction: f64, mode: u8) -> f64 {
    if direction == 1.0 {
        if mode == 2 {
            0.0
        } else {
            1.0
        }
    } else if direction == -1.0 {
        if mode == 1 {
            0.0
        } else {
            -1.0
        }
    } else {
        0.0
    }
}

/// What one bar did to an account.
#[derive(Clone, Copy)]
pub struct BarOut {
    /// position during the next bar (decided at the previous close, filled at this one)
    pub held: f64,
    /// position that earned this bar's return
    pub held_prev: f64,
    pub ret: f64,
    pub equity: f64,
}

/// Advance account `a` by one bar: close `c` at time `t`, the kernel's direction `dir` at this
/// bar. A trade that closes here is appended to `trades` (TRADE_FIELDS, tagged `tag`).
#[inline(always)]
pub fn account_bar(a: &mut [f64], rate: f64, mode: u8, dir: f64, c: f64, t: f64, trades: &mut Option<&mut Vec<f64>>, tag: (usize, usize)) -> BarOut {
    let a: &mut [f64; ACCT_SIZE] = a.try_into().expect("account record");
    let i = a[BARS];
    if i == 0.0 {
        a[FIRST_TS] = t;
    }
    let held_prev = a[HELD];
    let held = a[TARGET];
    let cost = rate * (held - held_prev).abs();
    let r = if i == 0.0 { 0.0 } else { c / a[PREV_CLOSE] - 1.0 };
    let ret = if i == 0.0 { 0.0 } else { held_prev * r - cost };
    let equity = a[EQUITY] * (1.0 + ret);
    a[EQUITY] = equity;

    if i > 0.0 {
        let n = a[N_RET] + 1.0;
        let delta = ret - a[MEAN];
        let mean = a[MEAN] + delta / n;
        a[M2] += delta * (ret - mean);
        a[MEAN] = mean;
        a[N_RET] = n;
        if ret < 0.0 {
            a[DOWN_SQ] += ret * ret;
        }
    }

    // drawdown from the running peak; the max one's duration runs from its peak to recovery
    if equity >= a[PEAK] {
        if a[MAX_DD] > 0.0 && a[MAX_DD_DURATION] == -1.0 && a[MAX_DD_PEAK_BAR] == a[PEAK_BAR] {
            a[MAX_DD_DURATION] = i - a[PEAK_BAR];
        }
        a[PEAK] = equity;
        a[PEAK_BAR] = i;
    } else {
        let dd = 1.0 - equity / a[PEAK];
        if dd > a[MAX_DD] {
            a[MAX_DD] = dd;
            a[MAX_DD_PEAK_BAR] = a[PEAK_BAR];
            a[MAX_DD_DURATION] = -1.0;
        }
    }

    // trades: the open one earns this bar's return (its position is held_prev)
    if a[TRADE_SIDE] != 0.0 {
        let side = a[TRADE_SIDE];
        if held != side {
            // exit at this bar's close: this bar's return and its own half of the exit cost
            let growth = a[TRADE_GROWTH] * (1.0 + side * r - rate);
            let tr = growth - 1.0;
            if let Some(tv) = trades.as_deref_mut() {
                tv.extend_from_slice(&[tag.0 as f64, tag.1 as f64, side, a[TRADE_ENTRY_TS], a[TRADE_ENTRY_PRICE], t, c, i - a[TRADE_ENTRY_BAR], tr]);
            }
            a[CLOSED] += 1.0;
            if tr > 0.0 {
                a[WINS] += 1.0;
            }
            a[SUM_TRADE_RET] += tr;
            a[TRADE_SIDE] = 0.0;
        } else {
            a[TRADE_GROWTH] *= 1.0 + side * r;
        }
    }
    if held != 0.0 && held != held_prev {
        a[TRADES] += 1.0;
        a[TRADE_SIDE] = held;
        a[TRADE_ENTRY_BAR] = i;
        a[TRADE_ENTRY_TS] = t;
        a[TRADE_ENTRY_PRICE] = c;
        a[TRADE_GROWTH] = 1.0 - rate;
    }

    if held != 0.0 {
        a[HELD_BARS] += 1.0;
    }
    a[TURNOVER] += (held - held_prev).abs();
    a[HELD] = held;
    a[TARGET] = target_of(dir, mode);
    a[PREV_CLOSE] = c;
    a[LAST_TS] = t;
    a[BARS] = i + 1.0;
    BarOut { held, held_prev, ret, equity }
}

/// W accounts side by side, one per SIMD lane, each field a vector: `account_bar`'s steps in
/// the same floating-point order, its branches as selects (a select keeps the bits of the side
/// it picks), so a lane gives the bits of the scalar function. A sweep advances many accounts
/// per bar; one at a time with their branches they cost more than the ATC's back.
pub struct AcctLanes<const W: usize> {
    f: [V<W>; ACCT_SIZE],
    rate: V<W>,
    /// target positions of direction +1 and -1 under the set's mode
    long: V<W>,
    short: V<W>,
}

/// What one bar did to W accounts (`BarOut` per lane), and the trade each closed (where `exit`).
pub struct BarLanes<const W: usize> {
    pub held: V<W>,
    pub held_prev: V<W>,
    pub ret: V<W>,
    pub equity: V<W>,
    pub exit: M<W>,
    pub side: V<W>,
    pub entry_ts: V<W>,
    pub entry_price: V<W>,
    pub bars_held: V<W>,
    pub trade_ret: V<W>,
}

impl<const W: usize> BarLanes<W> {
    #[inline(always)]
    pub fn lane(&self, l: usize) -> BarOut {
        BarOut { held: self.held.0[l], held_prev: self.held_prev.0[l], ret: self.ret.0[l], equity: self.equity.0[l] }
    }
    /// Lane l's closed trade (TRADE_FIELDS), tagged (series, set), closed at time t and close c.
    #[inline(always)]
    pub fn trade(&self, l: usize, tag: (usize, usize), t: f64, c: f64) -> [f64; TRADE_FIELDS] {
        [tag.0 as f64, tag.1 as f64, self.side.0[l], self.entry_ts.0[l], self.entry_price.0[l], t, c, self.bars_held.0[l], self.trade_ret.0[l]]
    }
}

impl<const W: usize> AcctLanes<W> {
    pub fn new(p: &AcctParams) -> Self {
        AcctLanes {
            f: [V::splat(0.0); ACCT_SIZE],
            rate: V::splat(p.rate()),
            long: V::splat(target_of(1.0, p.mode)),
            short: V::splat(target_of(-1.0, p.mode)),
        }
    }

    /// Lane l takes account record `a`.
    #[inline(always)]
    pub fn load(&mut self, l: usize, a: &[f64]) {
        for (k, v) in a[..ACCT_SIZE].iter().enumerate() {
            self.f[k].0[l] = *v;
        }
    }

    /// Lane l's account back to record `a`.
    #[inline(always)]
    pub fn store(&self, l: usize, a: &mut [f64]) {
        for (k, v) in a[..ACCT_SIZE].iter_mut().enumerate() {
            *v = self.f[k].0[l];
        }
    }

    /// `account_bar` in every lane: close `c` at time `t`, the kernel's direction `dir`. Lanes
    /// without a series compute on whatever they hold; their results are never stored.
    #[inline(always)]
    pub fn bar(&mut self, dir: V<W>, c: V<W>, t: V<W>) -> BarLanes<W> {
        let f = &mut self.f;
        let (z, one, minus) = (V::splat(0.0), V::splat(1.0), V::splat(-1.0));
        let i = f[BARS];
        let first = i.eq(z);
        f[FIRST_TS] = first.select(t, f[FIRST_TS]);
        let held_prev = f[HELD];
        let held = f[TARGET];
        let dh = held.sub(held_prev).abs();
        let cost = self.rate.mul(dh);
        let r = first.select(z, c.div(f[PREV_CLOSE]).sub(one));
        let ret = first.select(z, held_prev.mul(r).sub(cost));
        let equity = f[EQUITY].mul(one.add(ret));
        f[EQUITY] = equity;

        let later = i.gt(z);
        let n = f[N_RET].add(one);
        let delta = ret.sub(f[MEAN]);
        let mean = f[MEAN].add(delta.div(n));
        f[M2] = later.select(f[M2].add(delta.mul(ret.sub(mean))), f[M2]);
        f[MEAN] = later.select(mean, f[MEAN]);
        f[N_RET] = later.select(n, f[N_RET]);
        f[DOWN_SQ] = later.and(ret.lt(z)).select(f[DOWN_SQ].add(ret.mul(ret)), f[DOWN_SQ]);

        let (peak, peak_bar) = (f[PEAK], f[PEAK_BAR]);
        let up = equity.ge(peak);
        let recovered = up.and(f[MAX_DD].gt(z)).and(f[MAX_DD_DURATION].eq(minus)).and(f[MAX_DD_PEAK_BAR].eq(peak_bar));
        let duration = recovered.select(i.sub(peak_bar), f[MAX_DD_DURATION]);
        f[PEAK] = up.select(equity, peak);
        f[PEAK_BAR] = up.select(i, peak_bar);
        let dd = one.sub(equity.div(peak));
        let deeper = up.not().and(dd.gt(f[MAX_DD]));
        f[MAX_DD] = deeper.select(dd, f[MAX_DD]);
        f[MAX_DD_PEAK_BAR] = deeper.select(peak_bar, f[MAX_DD_PEAK_BAR]);
        f[MAX_DD_DURATION] = deeper.select(minus, duration);

        let side = f[TRADE_SIDE];
        let open = side.ne(z);
        let exit = open.and(held.ne(side));
        let sr = one.add(side.mul(r));
        let trade_ret = f[TRADE_GROWTH].mul(sr.sub(self.rate)).sub(one);
        let out = BarLanes {
            held,
            held_prev,
            ret,
            equity,
            exit,
            side,
            entry_ts: f[TRADE_ENTRY_TS],
            entry_price: f[TRADE_ENTRY_PRICE],
            bars_held: i.sub(f[TRADE_ENTRY_BAR]),
            trade_ret,
        };
        f[CLOSED] = exit.select(f[CLOSED].add(one), f[CLOSED]);
        f[WINS] = exit.and(trade_ret.gt(z)).select(f[WINS].add(one), f[WINS]);
        f[SUM_TRADE_RET] = exit.select(f[SUM_TRADE_RET].add(trade_ret), f[SUM_TRADE_RET]);
        f[TRADE_GROWTH] = open.and(exit.not()).select(f[TRADE_GROWTH].mul(sr), f[TRADE_GROWTH]);
        f[TRADE_SIDE] = exit.select(z, side);
        let entry = held.ne(z).and(held.ne(held_prev));
        f[TRADES] = entry.select(f[TRADES].add(one), f[TRADES]);
        f[TRADE_SIDE] = entry.select(held, f[TRADE_SIDE]);
        f[TRADE_ENTRY_BAR] = entry.select(i, f[TRADE_ENTRY_BAR]);
        f[TRADE_ENTRY_TS] = entry.select(t, f[TRADE_ENTRY_TS]);
        f[TRADE_ENTRY_PRICE] = entry.select(c, f[TRADE_ENTRY_PRICE]);
        f[TRADE_GROWTH] = entry.select(one.sub(self.rate), f[TRADE_GROWTH]);

        f[HELD_BARS] = held.ne(z).select(f[HELD_BARS].add(one), f[HELD_BARS]);
        f[TURNOVER] = f[TURNOVER].add(dh);
        f[HELD] = held;
        f[TARGET] = dir.eq(one).select(self.long, dir.eq(minus).select(self.short, z));
        f[PREV_CLOSE] = c;
        f[LAST_TS] = t;
        f[BARS] = i.add(one);
        out
    }
}

/// Portfolio partial sums per (set, timestamp): the return split into four exact limbs, net
/// and gross position, turnover. Limbs make the sum over symbols exact, so the portfolio does
/// not depend on how symbols were grouped into chunks or in which order chunks finished.
pub const PORT_FIELDS: usize = 7;

const LIMB_C: [f64; 4] = [
    1.5 * (1u64 << 58) as f64,                // multiples of 2^6
    1.5 * (1u64 << 24) as f64,                // multiples of 2^-28
    1.5 / (1u64 << 10) as f64,                // multiples of 2^-62
    1.5 / (1u64 << 44) as f64,                // multiples of 2^-96
];

/// x = l0 + l1 + l2 + l3 + (|rest| < 2^-96), each limb a multiple of its own power of two with
/// at most 34 significant bits, so up to 2^19 of them add exactly in a double, in any order.
/// src/backtest/portfolio.ts has the same steps.
#[inline(always)]
pub fn limbs(x: f64) -> [f64; 4] {
    let mut rest = x;
    let mut out = [0.0; 4];
    for (k, c) in LIMB_C.iter().enumerate() {
        let v = (rest + c) - c;
        out[k] = v;
        rest -= v;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_are_exact_and_order_free() {
        let xs = [0.1, -0.0371, 1e-9, 3.75, -0.999, 12345.678, 2.5e-17, -1e-30];
        for x in xs {
            let l = limbs(x);
            let back = ((l[0] + l[1]) + l[2]) + l[3];
            assert!((back - x).abs() <= 2f64.powi(-96), "{x}");
        }
        let mut fwd = [0.0; 4];
        let mut rev = [0.0; 4];
        for x in xs {
            let l = limbs(x);
            for k in 0..4 {
                fwd[k] += l[k];
            }
        }
        for x in xs.iter().rev() {
            let l = limbs(*x);
            for k in 0..4 {
                rev[k] += l[k];
            }
        }
        assert_eq!(fwd.map(f64::to_bits), rev.map(f64::to_bits));
    }

    /// The lane version against the scalar one: every field of every account and every trade,
    /// bit for bit, with lanes that start at different bars (as when they take new series).
    #[test]
    fn lanes_give_the_bits_of_account_bar() {
        use crate::testing::Rng;
        const W: usize = 4;
        let mut rng = Rng::new(5);
        for round in 0..40 {
            let p = AcctParams { mode: rng.below(3) as u8, fee_bps: [0.0, 1.0, 7.5][rng.below(3)], slippage_bps: [0.0, 2.0][rng.below(2)] };
            let mut scalar = [[0.0; ACCT_SIZE]; W];
            let mut lanes = AcctLanes::<W>::new(&p);
            for (l, a) in scalar.iter_mut().enumerate() {
                fresh_account(a);
                // some lanes continue an account that has seen bars
                for k in 0..rng.below(3) * 5 {
                    account_bar(a, p.rate(), p.mode, [1.0, -1.0][k % 2], 100.0 + k as f64, k as f64, &mut None, (l, 0));
                }
                lanes.load(l, a);
            }
            let mut price = [100.0; W];
            let (mut want, mut got) = (Vec::new(), Vec::new());
            for j in 0..300 {
                let mut dir = [0.0; W];
                let mut c = [0.0; W];
                for l in 0..W {
                    dir[l] = match rng.below(10) {
                        0 => f64::NAN,
                        1 | 2 => 0.0,
                        3..=5 => -1.0,
                        _ => 1.0,
                    };
                    price[l] *= 1.0 + (rng.unit() - 0.5) * [0.01, 0.3][round % 2];
                    c[l] = price[l];
                }
                let t = 1000.0 + j as f64;
                let mut tw = Some(&mut want);
                let outs: Vec<BarOut> = (0..W).map(|l| account_bar(&mut scalar[l], p.rate(), p.mode, dir[l], c[l], t, &mut tw, (l, 0))).collect();
                let b = lanes.bar(V(dir), V(c), V::splat(t));
                for l in 0..W {
                    let (x, y) = (b.lane(l), outs[l]);
                    assert_eq!([x.held, x.held_prev, x.ret, x.equity].map(f64::to_bits), [y.held, y.held_prev, y.ret, y.equity].map(f64::to_bits), "round {round} bar {j} lane {l}");
                    if b.exit.0[l] != 0 {
                        got.extend_from_slice(&b.trade(l, (l, 0), t, c[l]));
                    }
                }
            }
            for (l, a) in scalar.iter().enumerate() {
                let mut back = [0.0; ACCT_SIZE];
                lanes.store(l, &mut back);
                assert_eq!(back.map(f64::to_bits), a.map(f64::to_bits), "round {round} lane {l}: account");
            }
            assert!(!want.is_empty());
            assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "round {round}: trades");
        }
    }

    #[test]
    fn hand_checked_account() {
        // closes 100, 110, 99, 99; direction: long from bar 0, short from bar 1
        let mut a = [0.0; ACCT_SIZE];
        fresh_account(&mut a);
        let mut tv = Vec::new();
        let mut tr = Some(&mut tv);
        let rate = 10.0 / 10000.0;
        let o0 = account_bar(&mut a, rate, 0, 1.0, 100.0, 0.0, &mut tr, (0, 0));
        assert_eq!((o0.held, o0.ret), (0.0, 0.0));
        // bar 1: held = 1 (cost 0.001), no return yet (held_prev 0)
        let o1 = account_bar(&mut a, rate, 0, -1.0, 110.0, 1.0, &mut tr, (0, 0));
        assert_eq!(o1.held, 1.0);
        assert_eq!(o1.ret, 0.0 * 0.1 - 0.001);
        // bar 2: held = -1 (flip: cost 0.002), return 1 * (99/110 - 1) - 0.002
        let o2 = account_bar(&mut a, rate, 0, -1.0, 99.0, 2.0, &mut tr, (0, 0));
        assert_eq!(o2.held, -1.0);
        assert_eq!(o2.ret, (99.0 / 110.0 - 1.0) - 0.002);
        // the long trade closed at bar 2: (1 - 0.001) * (1 + (99/110 - 1) - 0.001) - 1
        assert_eq!(tv.len(), TRADE_FIELDS);
        assert_eq!(tv[8], (1.0 - 0.001) * (1.0 + (99.0 / 110.0 - 1.0) - 0.001) - 1.0);
        assert_eq!(a[TRADES], 2.0);
        assert_eq!(a[TURNOVER], 3.0);
    }
}
