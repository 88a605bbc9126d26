//! The Supertrend export (atc_core::supertrend): argument checks and conversion only.

use super::*;
use atc_core::supertrend::{run, StInput, StOutputs, StParams};

/// supertrend({ factor, atrPeriod, high, low, close, offsets, stateIn?, stateOut?, supertrend?,
/// atr?, direction?, trade?, path? }): advances every series of the batch; `stateIn` and
/// `stateOut` may be the same buffer (read, then overwritten).
pub(crate) unsafe fn supertrend(cx: &Cx) -> R<napi_value> {
    let o = cx.arg(0);
    if o.kind() != T_OBJECT {
        return type_err("supertrend takes one object");
    }
    let factor = o.get("factor").number("factor")?;
    let atr_period = o.get("atrPeriod").number("atrPeriod")?;
    let high = o.get("high").typed("high", TA_FLOAT64, 8)?;
    let low = o.get("low").typed("low", TA_FLOAT64, 8)?;
    let close = o.get("close").typed("close", TA_FLOAT64, 8)?;
    let offsets = o.get("offsets").typed("offsets", TA_UINT32, 4)?;
    let st_in = o.get("stateIn").optional_typed("stateIn", TA_UINT8, 1)?;
    let st_out = o.get("stateOut").optional_typed("stateOut", TA_UINT8, 1)?;
    let line = o.get("supertrend").optional_typed("supertrend", TA_FLOAT64, 8)?;
    let atr = o.get("atr").optional_typed("atr", TA_FLOAT64, 8)?;
    let direction = o.get("direction").optional_typed("direction", TA_INT8, 1)?;
    let trade = o.get("trade").optional_typed("trade", TA_INT8, 1)?;
    let path = o.get("path").path()?;
    let params = StParams::new(factor, atr_period)?;

    let in_place = matches!((st_in, st_out), (Some(a), Some(b)) if a.ptr == b.ptr && a.len == b.len);
    let mut reads = vec![high, low, close, offsets];
    if let (Some(i), false) = (st_in, in_place) {
        reads.push(i);
    }
    let writes: Vec<Buf> = [st_out, line, atr, direction, trade].into_iter().flatten().collect();
    check_overlaps(&reads, &writes)?;
    let states = match (st_in, st_out) {
        (None, None) => States::Fresh,
        (Some(i), None) => States::In(i.slice::<u8>()),
        (None, Some(o)) => States::Out(o.slice_mut::<u8>()),
        (Some(_), Some(o)) if in_place => States::InPlace(o.slice_mut::<u8>()),
        (Some(i), Some(o)) => States::InOut(i.slice::<u8>(), o.slice_mut::<u8>()),
    };
    let input = StInput { high: high.slice::<f64>(), low: low.slice::<f64>(), close: close.slice::<f64>(), offsets: offsets.slice::<u32>() };
    let out = StOutputs {
        supertrend: line.map(|b| b.slice_mut::<f64>()),
        atr: atr.map(|b| b.slice_mut::<f64>()),
        direction: direction.map(|b| b.slice_mut::<i8>()),
        trade: trade.map(|b| b.slice_mut::<i8>()),
    };
    run(&params, input, states, out, path)?;
    Ok(cx.undefined())
}
