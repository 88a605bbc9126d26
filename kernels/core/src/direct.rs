//! The backtest of any strategy's trading direction: the accounting, trades, per-bar extra
//! planes and portfolio sums of job.rs, driven by a direction plane a strategy computed
//! (Supertrend, a column of precomputed signals, a user's module). The ATC job runs the same
//! per-bar steps (`account_bar`, `Portfolio::add`) fused into its lane loop, so both give the
//! same bits for the same directions.

use crate::account::{account_bar, AcctParams, ACCT_SIZE, BARS};
use crate::batch::check_offsets;
use crate::error::KernelError;
use crate::job::Portfolio;

pub struct DirectJob<'a> {
    pub acct: AcctParams,
    pub closes: &'a [f64],
    pub offsets: &'a [u32],
    pub ts: &'a [f64],
    /// the trading direction per bar (+1, -1, 0 = flat), same rows as the closes
    pub direction: &'a [i8],
    /// the set these directions belong to, of `n_sets` (accounts and sums are set-interleaved)
    pub set: usize,
    pub n_sets: usize,
    /// n_series x n_sets accounts of ACCT_SIZE, read and advanced in place (only `set`'s)
    pub accounts: &'a mut [f64],
    /// position, strategy return, equity planes of `stride`
    pub extra: Option<(&'a mut [f64], usize)>,
    pub portfolio: Option<Portfolio<'a>>,
    /// closed trades, TRADE_FIELDS each, appended
    pub trades: Option<&'a mut Vec<f64>>,
}

fn arg<T>(m: String) -> Result<T, KernelError> {
    Err(KernelError::InvalidArgument(m))
}

/// Validate everything, then account every bar of every series in order.
pub fn run(job: DirectJob) -> Result<(), KernelError> {
    let DirectJob { acct, closes, offsets, ts, direction, set, n_sets, accounts, mut extra, mut portfolio, mut trades } = job;
    if !(acct.mode <= 2 && acct.fee_bps >= 0.0 && acct.fee_bps <= 10000.0 && acct.slippage_bps >= 0.0 && acct.slippage_bps <= 10000.0) {
        return arg("mode must be 0, 1 or 2 and fees in [0, 10000] basis points".into());
    }
    if n_sets == 0 || set >= n_sets {
        return arg(format!("set ({set}) must be below n_sets ({n_sets})"));
    }
    let end = check_offsets(offsets, closes.len(), "closes")?;
    let n = offsets.len() - 1;
    if ts.len() < end || direction.len() < end {
        return arg(format!("ts and direction must cover the closes ({end})"));
    }
    if let Some(j) = ts[..end].iter().position(|v| !v.is_finite()) {
        return arg(format!("ts[{j}] is not finite"));
    }
    if let Some(j) = direction[..end].iter().position(|&d| !(-1..=1).contains(&d)) {
        return arg(format!("direction[{j}] = {} is not -1, 0 or 1", direction[j]));
    }
    if accounts.len() != n * n_sets * ACCT_SIZE {
        return arg(format!("accounts must hold {n} x {n_sets} records of {ACCT_SIZE} values"));
    }
    if let Some((x, stride)) = &extra {
        if *stride < end || x.len() < 3 * stride {
            return arg("extra must hold 3 planes of a stride covering the closes".into());
        }
    }
    if let Some(p) = &portfolio {
        p.check(end, n_sets)?;
    }
    for s in 0..n {
        let (a, b) = (offsets[s] as usize, offsets[s + 1] as usize);
        if let Some(k) = (a..b).find(|&k| !(closes[k] > 0.0 && closes[k] < f64::INFINITY)) {
            let bars = accounts[(s * n_sets + set) * ACCT_SIZE + BARS];
            return Err(KernelError::BadClose { series: s, bar: bars as u64 + (k - a) as u64, value: closes[k] });
        }
    }
    let rate = acct.rate();
    for s in 0..n {
        let a = &mut accounts[(s * n_sets + set) * ACCT_SIZE..][..ACCT_SIZE];
        for j in offsets[s] as usize..offsets[s + 1] as usize {
            let first = a[BARS] == 0.0;
            let b = account_bar(a, rate, acct.mode, direction[j] as f64, closes[j], ts[j], &mut trades, (s, set));
            if let Some((x, stride)) = extra.as_mut() {
                x[j] = b.held;
                x[*stride + j] = b.ret;
                x[2 * *stride + j] = b.equity;
            }
            if !first {
                if let Some(pf) = portfolio.as_mut() {
                    pf.add(set, j, &b);
                }
            }
        }
    }
    Ok(())
}
