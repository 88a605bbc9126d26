//! Supertrend (../shared/spec/supertrend.md): TradingView's `ta.supertrend(factor, atrPeriod)`
//! as a per-symbol state machine over high, low and close, W symbols side by side in SIMD
//! lanes. src/strategies/supertrend/kernel.ts is the readable reference; both give the same bits.
//!
//! Layout: series s is rows offsets[s] .. offsets[s+1] of `high`, `low` and `close`; its outputs
//! go to the same rows of the optional planes `supertrend`, `atr` (f64, NaN = na), `direction`
//! (Pine's, 1 / -1) and `trade` (the framework's trading direction, spec section 6: 0 until
//! Pine's direction first changes, then +1 while it is -1 and -1 while it is 1).
//!
//! NaN is Pine's na: arithmetic carries it, a comparison with it is false, `nz` maps it to 0.
//! Inputs must be finite (checked before anything is written); a value that overflows to
//! +-inf follows IEEE arithmetic. Every operation is one IEEE operation in the contract's
//! order (section 4; Rust never contracts to FMA), so every lane width gives the same bits.
//!
//! State: one record per series, the 32-byte header of batch::RecordFormat, then 8 f64:
//! previous close, atr, the seed's running sum, lower, upper, supertrend, Pine's direction,
//! the trading direction (see `StState`). The seed's mean is a running sum oldest first
//! (contract 4.3), so no window of true ranges is kept: `atr` is na only before its seed or,
//! for atrPeriod 1, after an overflow (0 * inf), where Pine re-seeds from the last true range;
//! the sum restarts at 0 once used, which gives exactly that.

use crate::batch::{check_offsets, read_payload, Path, RecordFormat, States};
use crate::error::KernelError;
use crate::lanes::{M, V};
use crate::plan::{fnv1a64, STATE_HEADER_BYTES};

pub const MAX_ATR_PERIOD: u32 = 100_000;
pub const ST_MAGIC: u32 = 0x5450_5553; // "SUPT" little endian
pub const ST_VERSION: u16 = 1;
/// f64 values in a record's payload
pub const ST_PAYLOAD: usize = 8;
pub const ST_STATE_BYTES: usize = STATE_HEADER_BYTES + 8 * ST_PAYLOAD;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StParams {
    pub factor: f64,
    pub atr_period: u32,
}

impl StParams {
    /// Validated parameters from the numbers a caller passes (JS numbers are f64).
    pub fn new(factor: f64, atr_period: f64) -> Result<StParams, KernelError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(KernelError::param("factor", format!("params.factor must be a finite number > 0, got {factor}")));
        }
        if !(atr_period >= 1.0 && atr_period <= MAX_ATR_PERIOD as f64 && atr_period.fract() == 0.0) {
            return Err(KernelError::param(
                "atrPeriod",
                format!("params.atrPeriod must be an integer in [1, {MAX_ATR_PERIOD}], got {atr_period}"),
            ));
        }
        Ok(StParams { factor, atr_period: atr_period as u32 })
    }

    pub fn check(&self) -> Result<(), KernelError> {
        StParams::new(self.factor, self.atr_period as f64).map(|_| ())
    }

    /// FNV-1a of the two parameters as little-endian f64 (factor, atrPeriod).
    pub fn fingerprint(&self) -> u64 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.factor.to_le_bytes());
        b[8..].copy_from_slice(&(self.atr_period as f64).to_le_bytes());
        fnv1a64(&b)
    }

    fn format(&self) -> RecordFormat<'static> {
        RecordFormat { what: "a Supertrend state", magic: ST_MAGIC, version: ST_VERSION, payload: ST_PAYLOAD, fingerprint: self.fingerprint() }
    }
}

/// One series' state after `bars` bars (the payload in record order after `bars`).
#[derive(Clone, Copy, Debug)]
pub struct StState {
    pub bars: u64,
    /// close of the last bar (na before bar 0)
    pub prev_close: f64,
    pub atr: f64,
    /// running sum of the true ranges while atr is na
    pub seed_sum: f64,
    pub lower: f64,
    pub upper: f64,
    pub supertrend: f64,
    /// Pine's direction of the last bar; 0 before bar 0
    pub direction: f64,
    /// the trading direction of the last bar
    pub trade: f64,
}

impl StState {
    pub const FRESH: StState = StState {
        bars: 0,
        prev_close: f64::NAN,
        atr: f64::NAN,
        seed_sum: 0.0,
        lower: f64::NAN,
        upper: f64::NAN,
        supertrend: f64::NAN,
        direction: 0.0,
        trade: 0.0,
    };

    fn payload(&self) -> [f64; ST_PAYLOAD] {
        [self.prev_close, self.atr, self.seed_sum, self.lower, self.upper, self.supertrend, self.direction, self.trade]
    }

    /// Identical records, NaN payloads included.
    pub fn same_bits(&self, o: &StState) -> bool {
        self.bars == o.bars && self.payload().iter().zip(o.payload()).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// Read record `record` (its index, for messages): a state of these parameters, or a coded error.
    pub fn read(params: &StParams, rec: &[u8], record: usize) -> Result<StState, KernelError> {
        let bars = params.format().check(rec, record)?;
        let mut p = [0.0; ST_PAYLOAD];
        read_payload(rec, &mut p);
        let [prev_close, atr, seed_sum, lower, upper, supertrend, direction, trade] = p;
        let s = StState { bars, prev_close, atr, seed_sum, lower, upper, supertrend, direction, trade };
        // The discrete fields and the previous close decide branches: they must be possible.
        let ok = if bars == 0 {
            let same = |(a, b): (f64, f64)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            s.payload().into_iter().zip(StState::FRESH.payload()).all(same)
        } else {
            prev_close.is_finite() && (direction == 1.0 || direction == -1.0) && (trade == 0.0 || trade == -direction)
        };
        if !ok {
            return Err(KernelError::StateInvalid { record, message: "corrupt payload".into() });
        }
        Ok(if bars == 0 { StState::FRESH } else { s })
    }

    pub fn write(&self, params: &StParams, rec: &mut [u8]) {
        params.format().write(rec, self.bars, &self.payload())
    }
}

/// One bar's outputs per lane; directions as f64 (1, -1; trade 0, 1, -1).
#[derive(Clone, Copy)]
pub struct StBar<const W: usize> {
    pub supertrend: V<W>,
    pub atr: V<W>,
    pub direction: V<W>,
    pub trade: V<W>,
}

/// W series' states and the per-bar step (the generic driver's unit): load a series into a
/// lane, step every lane one bar, store the lane back when its series (or block) ends.
pub struct StLanes<const W: usize> {
    factor: V<W>,
    alpha: V<W>,
    beta: V<W>,
    period: V<W>,
    /// bar index of the seed, p - 1
    seed_bar: V<W>,
    bars: V<W>,
    prev_close: V<W>,
    atr: V<W>,
    seed_sum: V<W>,
    lower: V<W>,
    upper: V<W>,
    supertrend: V<W>,
    direction: V<W>,
    trade: V<W>,
}

impl<const W: usize> StLanes<W> {
    /// Every lane fresh.
    pub fn new(p: &StParams) -> Self {
        let period = p.atr_period as f64;
        let alpha = 1.0 / period;
        let mut m = StLanes {
            factor: V::splat(p.factor),
            alpha: V::splat(alpha),
            beta: V::splat(1.0 - alpha),
            period: V::splat(period),
            seed_bar: V::splat(period - 1.0),
            bars: V::splat(0.0),
            prev_close: V::splat(0.0),
            atr: V::splat(0.0),
            seed_sum: V::splat(0.0),
            lower: V::splat(0.0),
            upper: V::splat(0.0),
            supertrend: V::splat(0.0),
            direction: V::splat(0.0),
            trade: V::splat(0.0),
        };
        for l in 0..W {
            m.load(l, &StState::FRESH);
        }
        m
    }

    pub fn load(&mut self, l: usize, s: &StState) {
        self.bars.0[l] = s.bars as f64;
        self.prev_close.0[l] = s.prev_close;
        self.atr.0[l] = s.atr;
        self.seed_sum.0[l] = s.seed_sum;
        self.lower.0[l] = s.lower;
        self.upper.0[l] = s.upper;
        self.supertrend.0[l] = s.supertrend;
        self.direction.0[l] = s.direction;
        self.trade.0[l] = s.trade;
    }

    pub fn store(&self, l: usize) -> StState {
        StState {
            bars: self.bars.0[l] as u64,
            prev_close: self.prev_close.0[l],
            atr: self.atr.0[l],
            seed_sum: self.seed_sum.0[l],
            lower: self.lower.0[l],
            upper: self.upper.0[l],
            supertrend: self.supertrend.0[l],
            direction: self.direction.0[l],
            trade: self.trade.0[l],
        }
    }

    /// One bar for every lane (contract section 3, in the order of section 4).
    #[inline(always)]
    pub fn step(&mut self, high: V<W>, low: V<W>, close: V<W>) -> StBar<W> {
        let z = V::splat(0.0);
        let one = V::splat(1.0);
        let mone = V::splat(-1.0);
        let nan = V::splat(f64::NAN);
        let max = |a: V<W>, b: V<W>| b.gt(a).select(b, a);
        let nz = |x: V<W>| x.is_nan().select(z, x);

        let src = high.add(low).div(V::splat(2.0));
        let pc = self.prev_close;
        let hl = high.sub(low);
        let tr = pc.is_nan().select(hl, max(max(hl, high.sub(pc).abs()), low.sub(pc).abs()));

        let atr_na: M<W> = self.atr.is_nan();
        let sum = atr_na.select(self.seed_sum.add(tr), self.seed_sum);
        let seeding = atr_na.and(self.bars.ge(self.seed_bar));
        let atr = atr_na.select(seeding.select(sum.div(self.period), nan), self.alpha.mul(tr).add(self.beta.mul(self.atr)));
        self.seed_sum = seeding.select(z, sum);

        let fa = self.factor.mul(atr);
        let up_b = src.add(fa);
        let lo_b = src.sub(fa);
        let p_up = nz(self.upper);
        let p_lo = nz(self.lower);
        let lower = lo_b.gt(p_lo).or(pc.lt(p_lo)).select(lo_b, p_lo);
        let upper = up_b.lt(p_up).or(pc.gt(p_up)).select(up_b, p_up);
        let was_up = self.supertrend.eq(p_up);
        let dir = atr_na.select(one, was_up.select(close.gt(upper).select(mone, one), close.lt(lower).select(one, mone)));
        let st = dir.eq(mone).select(lower, upper);

        let changed = self.direction.ne(z).and(dir.ne(self.direction));
        let trade = self.trade.ne(z).or(changed).select(dir.neg(), z);

        self.bars = self.bars.add(one);
        self.prev_close = close;
        self.atr = atr;
        self.lower = lower;
        self.upper = upper;
        self.supertrend = st;
        self.direction = dir;
        self.trade = trade;
        StBar { supertrend: st, atr, direction: dir, trade }
    }
}

/// The input columns of a batch: series s is rows offsets[s] .. offsets[s+1] of each.
pub struct StInput<'a> {
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub offsets: &'a [u32],
}

/// Per-bar output planes, each optional, indexed like the inputs.
#[derive(Default)]
pub struct StOutputs<'a> {
    pub supertrend: Option<&'a mut [f64]>,
    pub atr: Option<&'a mut [f64]>,
    pub direction: Option<&'a mut [i8]>,
    pub trade: Option<&'a mut [i8]>,
}

fn arg<T>(m: String) -> Result<T, KernelError> {
    Err(KernelError::InvalidArgument(m))
}

/// Run a batch of series: every bar of every series, continuing from `states` (ST_STATE_BYTES
/// per series) when given. Validates everything first; writes outputs and states only on success.
pub fn run(params: &StParams, input: StInput, states: States, out: StOutputs, path: Path) -> Result<(), KernelError> {
    params.check()?;
    let StInput { high, low, close, offsets } = input;
    if offsets.is_empty() {
        return arg("offsets must hold at least one value".into());
    }
    if high.len() != close.len() || low.len() != close.len() {
        return arg(format!("high, low and close must have the same length (got {}, {}, {})", high.len(), low.len(), close.len()));
    }
    let end = check_offsets(offsets, close.len(), "the inputs")?;
    let n = offsets.len() - 1;
    let short = |len: Option<usize>| len.is_some_and(|l| l < end);
    for (name, len) in [
        ("supertrend", out.supertrend.as_ref().map(|x| x.len())),
        ("atr", out.atr.as_ref().map(|x| x.len())),
        ("direction", out.direction.as_ref().map(|x| x.len())),
        ("trade", out.trade.as_ref().map(|x| x.len())),
    ] {
        if short(len) {
            return arg(format!("{name} is shorter than the last offset {end}"));
        }
    }
    let want = n * ST_STATE_BYTES;
    let size_ok = |b: &[u8]| b.len() == want;
    let sizes_ok = match &states {
        States::Fresh => true,
        States::In(i) => size_ok(i),
        States::Out(o) => size_ok(o),
        States::InOut(i, o) => size_ok(i) && size_ok(o),
        States::InPlace(io) => size_ok(io),
    };
    if !sizes_ok {
        return arg(format!("state buffers must hold {n} records of {ST_STATE_BYTES} bytes"));
    }
    if !path.supported() {
        return arg(format!("SIMD path {} is not supported on this CPU", path.name()));
    }
    // Every input record is read before any is written (InPlace).
    let input: Option<&[u8]> = match &states {
        States::In(i) | States::InOut(i, _) => Some(i),
        States::InPlace(io) => Some(io),
        States::Fresh | States::Out(_) => None,
    };
    let start = match input {
        None => vec![StState::FRESH; n],
        Some(buf) => (0..n).map(|s| StState::read(params, &buf[s * ST_STATE_BYTES..(s + 1) * ST_STATE_BYTES], s)).collect::<Result<_, _>>()?,
    };
    for s in 0..n {
        let (a, b) = (offsets[s] as usize, offsets[s + 1] as usize);
        let finite = |k: usize| high[k].is_finite() && low[k].is_finite() && close[k].is_finite();
        // Branch-free passes (vectorised); the position is looked for only on failure.
        let mut bad = false;
        for v in [&high[a..b], &low[a..b], &close[a..b]] {
            for &x in v {
                bad |= !(x.abs() < f64::INFINITY);
            }
        }
        if bad {
            let k = (a..b).find(|&k| !finite(k)).unwrap_or(a);
            let (column, value) = [("high", high[k]), ("low", low[k]), ("close", close[k])]
                .into_iter()
                .find(|(_, x)| !x.is_finite())
                .unwrap_or(("close", close[k]));
            return Err(KernelError::BadValue { series: s, bar: start[s].bars + (k - a) as u64, column, value });
        }
    }
    let states_out = match states {
        States::Out(o) | States::InOut(_, o) | States::InPlace(o) => Some(o),
        States::Fresh | States::In(_) => None,
    };
    let mut cx = Cx { params, high, low, close, offsets, start, out, states_out };
    match path {
        Path::Scalar => drive::<1>(&mut cx),
        Path::Portable => drive::<2>(&mut cx),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported()` checked the CPU features above.
        Path::Avx2 => unsafe { drive_avx2(&mut cx) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Path::Avx512 => unsafe { drive_avx512(&mut cx) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => drive::<4>(&mut cx),
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn drive_avx2(cx: &mut Cx) {
    drive::<4>(cx)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn drive_avx512(cx: &mut Cx) {
    drive::<8>(cx)
}

/// A validated batch.
struct Cx<'a, 'p> {
    params: &'p StParams,
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    offsets: &'a [u32],
    start: Vec<StState>,
    out: StOutputs<'a>,
    states_out: Option<&'a mut [u8]>,
}

impl Cx<'_, '_> {
    fn save(&mut self, s: usize, st: &StState) {
        if let Some(o) = self.states_out.as_deref_mut() {
            st.write(self.params, &mut o[s * ST_STATE_BYTES..(s + 1) * ST_STATE_BYTES]);
        }
    }
}

#[derive(Clone, Copy)]
struct Lane {
    series: usize,
    pos: usize,
    end: usize,
}

/// The lane loop: a lane that finishes its series stores its state and takes the next one.
/// Between such events every lane runs the same number of bars with no per-bar bookkeeping.
#[inline(always)]
fn drive<const W: usize>(cx: &mut Cx) {
    let mut m = StLanes::<W>::new(cx.params);
    let mut lanes: [Option<Lane>; W] = [None; W];
    let mut next = 0usize;
    let n = cx.start.len();
    let mut assign = |cx: &mut Cx, m: &mut StLanes<W>, l: usize| -> Option<Lane> {
        while next < n {
            let s = next;
            next += 1;
            let (a, b) = (cx.offsets[s] as usize, cx.offsets[s + 1] as usize);
            let st = cx.start[s];
            if a == b {
                cx.save(s, &st);
                continue;
            }
            m.load(l, &st);
            return Some(Lane { series: s, pos: a, end: b });
        }
        None
    };
    for (l, lane) in lanes.iter_mut().enumerate() {
        *lane = assign(cx, &mut m, l);
    }
    loop {
        // Idle lanes compute on row k of the inputs (valid: k < steps <= the rows) and write nothing.
        let mut steps = usize::MAX;
        let mut row = [0usize; W];
        let mut active = [false; W];
        for l in 0..W {
            if let Some(lane) = lanes[l] {
                steps = steps.min(lane.end - lane.pos);
                row[l] = lane.pos;
                active[l] = true;
            }
        }
        if steps == usize::MAX {
            break;
        }
        // all lanes busy (the common case): the compiler then drops the per-lane test (~5% fewer instructions)
        let all = active.iter().all(|&a| a);
        let out = &mut cx.out;
        for k in 0..steps {
            let j: [usize; W] = std::array::from_fn(|l| row[l] + k);
            let o = m.step(V(j.map(|j| cx.high[j])), V(j.map(|j| cx.low[j])), V(j.map(|j| cx.close[j])));
            let put = |l: usize| all || active[l];
            if let Some(x) = out.supertrend.as_deref_mut() {
                (0..W).filter(|&l| put(l)).for_each(|l| x[j[l]] = o.supertrend.0[l]);
            }
            if let Some(x) = out.atr.as_deref_mut() {
                (0..W).filter(|&l| put(l)).for_each(|l| x[j[l]] = o.atr.0[l]);
            }
            if let Some(x) = out.direction.as_deref_mut() {
                (0..W).filter(|&l| put(l)).for_each(|l| x[j[l]] = o.direction.0[l] as i8);
            }
            if let Some(x) = out.trade.as_deref_mut() {
                (0..W).filter(|&l| put(l)).for_each(|l| x[j[l]] = o.trade.0[l] as i8);
            }
        }
        for l in 0..W {
            let Some(lane) = lanes[l].as_mut() else { continue };
            lane.pos += steps;
            if lane.pos == lane.end {
                let s = lane.series;
                cx.save(s, &m.store(l));
                lanes[l] = assign(cx, &mut m, l);
            }
        }
    }
}

#[cfg(test)]
#[path = "supertrend_tests.rs"]
mod tests;
