//! Backtest accounting: positions from the kernel's `direction`, returns net of costs, equity,
//! drawdown, trades and the sums the statistics are made of. The same steps, in the same
//! floating-point order, as src/backtest/accounting.ts (the readable reference; tests compare
//! the two bit for bit). Conventions are stated there and in the README.
//!
//! State: ACCT_SIZE f64 per account (layout = ACCT in the TS module), so an account carries
//! across blocks of a series and across runs.

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
