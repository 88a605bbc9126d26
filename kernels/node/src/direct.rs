//! The `account` export (atc_core::direct): a strategy's direction plane backtested.

use super::*;
use atc_core::direct::{run, DirectJob};

/// account({ closes, offsets, ts, direction, set, nSets, mode, feeBps, slippageBps, accounts,
/// extra?, stride?, uIndex?, nU?, sums?, counts?, trades? }) -> Float64Array of closed trades
/// (TRADE_FIELDS each) when `trades`, else undefined.
pub(crate) unsafe fn account(cx: &Cx) -> R<napi_value> {
    let o = cx.arg(0);
    if o.kind() != T_OBJECT {
        return type_err("account takes one object");
    }
    let closes = o.get("closes").typed("closes", TA_FLOAT64, 8)?;
    let offsets = o.get("offsets").typed("offsets", TA_UINT32, 4)?;
    let ts = o.get("ts").typed("ts", TA_FLOAT64, 8)?;
    let direction = o.get("direction").typed("direction", TA_INT8, 1)?;
    let set = o.get("set").count("set")?;
    let n_sets = o.get("nSets").count("nSets")?;
    let mode = o.get("mode").number("mode")?;
    let fee_bps = o.get("feeBps").number("feeBps")?;
    let slippage_bps = o.get("slippageBps").number("slippageBps")?;
    if !(mode == 0.0 || mode == 1.0 || mode == 2.0) {
        return Err(JsErr::Kernel(KernelError::param("mode", format!("mode must be 0, 1 or 2, got {mode}"))));
    }
    for (name, v) in [("feeBps", fee_bps), ("slippageBps", slippage_bps)] {
        if !(v >= 0.0 && v <= 10000.0) {
            return Err(JsErr::Kernel(KernelError::param(name, format!("{name} must be in [0, 10000], got {v}"))));
        }
    }
    let accounts = o.get("accounts").typed("accounts", TA_FLOAT64, 8)?;
    let extra = o.get("extra").optional_typed("extra", TA_FLOAT64, 8)?;
    let stride = match extra {
        Some(_) => o.get("stride").count("stride")?,
        None => 0,
    };
    let u_index = o.get("uIndex").optional_typed("uIndex", TA_UINT32, 4)?;
    let portfolio = match u_index {
        None => None,
        Some(u) => Some((u, o.get("nU").count("nU")?, o.get("sums").typed("sums", TA_FLOAT64, 8)?, o.get("counts").typed("counts", TA_FLOAT64, 8)?)),
    };
    let want_trades = o.get("trades").flag("trades")?;
    let mut reads = vec![closes, offsets, ts, direction];
    reads.extend(u_index);
    let mut writes: Vec<Buf> = [Some(accounts), extra].into_iter().flatten().collect();
    if let Some((_, _, s, c)) = portfolio {
        writes.extend([s, c]);
    }
    check_overlaps(&reads, &writes)?;
    let mut trades = Vec::new();
    run(DirectJob {
        acct: AcctParams { mode: mode as u8, fee_bps, slippage_bps },
        closes: closes.slice::<f64>(),
        offsets: offsets.slice::<u32>(),
        ts: ts.slice::<f64>(),
        direction: direction.slice::<i8>(),
        set,
        n_sets,
        accounts: accounts.slice_mut::<f64>(),
        extra: extra.map(|x| (x.slice_mut::<f64>(), stride)),
        portfolio: portfolio.map(|(u, n_u, s, c)| Portfolio { u_index: u.slice::<u32>(), n_u, sums: s.slice_mut::<f64>(), counts: c.slice_mut::<f64>() }),
        trades: if want_trades { Some(&mut trades) } else { None },
    })?;
    if want_trades {
        f64_array(cx.env, &trades)
    } else {
        Ok(cx.undefined())
    }
}
