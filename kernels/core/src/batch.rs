//! The batch entry point: many series per call, scheduled onto W SIMD lanes.
//!
//! Layout (src/engine/batch.ts): series s is closes[offsets[s] .. offsets[s+1]); its outputs go
//! to the same indices of 13 f64 planes of `stride` values (Average_Signal, 6 X_Signal, 6 X_S)
//! and of two i8 arrays (direction with 0 = na, alerts +1 long / -1 short). States are fixed-size
//! records (32-byte header + f64 payload), one per series.
//!
//! Everything is validated before any output or state is written, so an error leaves the
//! caller's buffers as they were. A lane that finishes its series stores its state (if asked)
//! and takes the next series, so lanes stay busy whatever the series lengths.

use crate::error::KernelError;
use crate::exp::{det_exp, det_exp_lanes};
use crate::group::Group;
use crate::lanes::V;
use crate::plan::{Plan, Switches, N_TYPES, STATE_HEADER_BYTES, STATE_MAGIC, STATE_VERSION};

pub const N_FLOAT_PLANES: usize = 13;

pub struct Outputs<'a> {
    pub values: &'a mut [f64],
    pub stride: usize,
    pub direction: &'a mut [i8],
    pub alerts: &'a mut [i8],
}

/// Where states come from and go to.
pub enum States<'a> {
    /// every series starts at bar 0; no state is returned
    Fresh,
    In(&'a [u8]),
    Out(&'a mut [u8]),
    InOut(&'a [u8], &'a mut [u8]),
    /// read and overwritten in place
    InPlace(&'a mut [u8]),
}

/// Which lane width / instruction set runs the kernel. All give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Scalar,
    Portable,
    Avx2,
    Avx512,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Portable => "portable",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    pub fn parse(s: &str) -> Option<Path> {
        match s {
            "scalar" => Some(Path::Scalar),
            "portable" => Some(Path::Portable),
            "avx2" => Some(Path::Avx2),
            "avx512" => Some(Path::Avx512),
            _ => None,
        }
    }

    pub fn supported(self) -> bool {
        match self {
            Path::Scalar | Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest path this CPU runs, chosen at run time (the default build targets any x86-64).
    pub fn best() -> Path {
        [Path::Avx512, Path::Avx2, Path::Portable].into_iter().find(|p| p.supported()).unwrap_or(Path::Portable)
    }

    pub fn available() -> Vec<Path> {
        [Path::Avx512, Path::Avx2, Path::Portable, Path::Scalar].into_iter().filter(|p| p.supported()).collect()
    }
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Check one record's header against the plan; returns the bars it has seen.
pub fn check_state(plan: &Plan, rec: &[u8], record: usize) -> Result<u64, KernelError> {
    let bad = |m: &str| KernelError::StateInvalid { record, message: m.to_string() };
    if rec.len() != plan.state_bytes {
        return Err(bad("wrong size"));
    }
    if read_u32(rec, 0) != STATE_MAGIC {
        return Err(bad("not an ATC kernel state (bad magic)"));
    }
    let version = u16::from_le_bytes([rec[4], rec[5]]);
    if version != STATE_VERSION {
        return Err(bad(&format!("format version {version}; this kernel reads version {STATE_VERSION}")));
    }
    if read_u32(rec, 8) as usize != plan.layout.size {
        return Err(bad("payload length does not match the parameters"));
    }
    if read_u64(rec, 16) != plan.fingerprint {
        return Err(KernelError::StateMismatch { record });
    }
    let bars = read_u64(rec, 24);
    if bars > (1u64 << 53) {
        return Err(bad("impossible bar count"));
    }
    Ok(bars)
}

fn write_state(plan: &Plan, rec: &mut [u8], bars: u64, payload: &[f64]) {
    rec[0..4].copy_from_slice(&STATE_MAGIC.to_le_bytes());
    rec[4..6].copy_from_slice(&STATE_VERSION.to_le_bytes());
    rec[6..8].copy_from_slice(&0u16.to_le_bytes());
    rec[8..12].copy_from_slice(&(plan.layout.size as u32).to_le_bytes());
    rec[12..16].copy_from_slice(&0u32.to_le_bytes());
    rec[16..24].copy_from_slice(&plan.fingerprint.to_le_bytes());
    rec[24..32].copy_from_slice(&bars.to_le_bytes());
    for (k, v) in payload.iter().enumerate() {
        let at = STATE_HEADER_BYTES + 8 * k;
        rec[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}

fn read_payload(rec: &[u8], out: &mut [f64]) {
    for (k, v) in out.iter_mut().enumerate() {
        let at = STATE_HEADER_BYTES + 8 * k;
        let mut a = [0u8; 8];
        a.copy_from_slice(&rec[at..at + 8]);
        *v = f64::from_le_bytes(a);
    }
}

/// A fresh state record (the state before bar 0).
pub fn fresh_state(plan: &Plan, rec: &mut [u8]) -> Result<(), KernelError> {
    if rec.len() != plan.state_bytes {
        return Err(KernelError::InvalidArgument(format!("a state record is {} bytes", plan.state_bytes)));
    }
    write_state(plan, rec, 0, &plan.fresh_payload());
    Ok(())
}

struct Io<'a, 'b> {
    states: &'a mut States<'b>,
    state_bytes: usize,
}

impl Io<'_, '_> {
    fn input(&self, s: usize) -> Option<&[u8]> {
        let b = self.state_bytes;
        match &*self.states {
            States::In(i) | States::InOut(i, _) => Some(&i[s * b..(s + 1) * b]),
            States::InPlace(io) => Some(&io[s * b..(s + 1) * b]),
            _ => None,
        }
    }
    fn output(&mut self, s: usize) -> Option<&mut [u8]> {
        let b = self.state_bytes;
        match self.states {
            States::Out(o) | States::InOut(_, o) | States::InPlace(o) => Some(&mut o[s * b..(s + 1) * b]),
            _ => None,
        }
    }
}

/// Run a batch. Validates everything first; writes outputs (and states) only on success.
pub fn step(plan: &Plan, closes: &[f64], offsets: &[u32], mut out: Outputs, mut states: States, path: Path) -> Result<(), KernelError> {
    let arg = |m: String| Err(KernelError::InvalidArgument(m));
    if offsets.is_empty() {
        return arg("offsets must hold at least one value".into());
    }
    let n = offsets.len() - 1;
    let mut prev = 0u32;
    for (s, &o) in offsets.iter().enumerate() {
        if o < prev || o as usize > closes.len() {
            return arg(format!("offsets[{s}] = {o} is out of order or past closes ({})", closes.len()));
        }
        prev = o;
    }
    let end = offsets[n] as usize;
    if out.stride < end {
        return arg(format!("out.stride {} is smaller than the last offset {end}", out.stride));
    }
    if out.values.len() < N_FLOAT_PLANES * out.stride {
        return arg("out.values is shorter than 13 planes of stride".into());
    }
    if out.direction.len() < end || out.alerts.len() < end {
        return arg("out.direction/out.alerts are shorter than the closes".into());
    }
    let sb = plan.state_bytes;
    let len_ok = |b: &[u8]| b.len() == n * sb;
    let ok = match &states {
        States::Fresh => true,
        States::In(i) => len_ok(i),
        States::Out(o) => len_ok(o),
        States::InOut(i, o) => len_ok(i) && len_ok(o),
        States::InPlace(io) => len_ok(io),
    };
    if !ok {
        return arg(format!("state buffers must hold {n} records of {sb} bytes"));
    }
    if !path.supported() {
        return arg(format!("SIMD path {} is not supported on this CPU", path.name()));
    }
    let mut io = Io { states: &mut states, state_bytes: sb };
    let mut bars = vec![0u64; n];
    for (s, b) in bars.iter_mut().enumerate() {
        if let Some(rec) = io.input(s) {
            *b = check_state(plan, rec, s)?;
        }
    }
    for s in 0..n {
        let (a, b) = (offsets[s] as usize, offsets[s + 1] as usize);
        for (j, &x) in closes[a..b].iter().enumerate() {
            if !(x > 0.0 && x < f64::INFINITY) {
                return Err(KernelError::BadClose { series: s, bar: bars[s] + j as u64, value: x });
            }
        }
    }
    match path {
        Path::Scalar => run::<1>(plan, closes, offsets, &mut out, &mut io, &bars),
        Path::Portable => run::<2>(plan, closes, offsets, &mut out, &mut io, &bars),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported()` checked the CPU features above.
        Path::Avx2 => unsafe { run_avx2(plan, closes, offsets, &mut out, &mut io, &bars) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Path::Avx512 => unsafe { run_avx512(plan, closes, offsets, &mut out, &mut io, &bars) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => run::<4>(plan, closes, offsets, &mut out, &mut io, &bars),
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(plan: &Plan, closes: &[f64], offsets: &[u32], out: &mut Outputs, io: &mut Io, bars: &[u64]) {
    run::<4>(plan, closes, offsets, out, io, bars)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(plan: &Plan, closes: &[f64], offsets: &[u32], out: &mut Outputs, io: &mut Io, bars: &[u64]) {
    run::<8>(plan, closes, offsets, out, io, bars)
}

/// The 13 output planes: value p of bar j lives at values[p * stride + j].
struct Planes {
    ptr: *mut f64,
    stride: usize,
}

impl Planes {
    /// `step` has checked values.len() >= 13 * stride; the borrow of `values` outlives `run`.
    fn new(values: &mut [f64], stride: usize) -> Planes {
        assert!(values.len() >= N_FLOAT_PLANES * stride);
        Planes { ptr: values.as_mut_ptr(), stride }
    }

    /// Bounds checks per store cost ~4 instructions x 13 planes x lanes on the hot path; the
    /// invariant is checked once instead.
    #[inline(always)]
    fn put(&self, p: usize, j: usize, v: f64) {
        debug_assert!(p < N_FLOAT_PLANES && j < self.stride);
        // SAFETY: callers pass p < 13 and a bar index j < end <= stride (`run` asserts j < stride
        // once per bar), so p * stride + j < 13 * stride <= values.len().
        unsafe { *self.ptr.add(p * self.stride + j) = v }
    }
}

/// g = e^(La * (i - cutout)) by bar index i (spec 1.7), precomputed for the bars of this call
/// when they span a modest range (they usually start together at bar 0); the same `det_exp`
/// bits as the per-bar vector evaluation otherwise used.
struct Growth {
    lo: u64,
    vals: Vec<f64>,
    covers: bool,
}

impl Growth {
    const MAX: u64 = 1 << 17;

    fn new(plan: &Plan, offsets: &[u32], bars: &[u64]) -> Growth {
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        for s in 0..bars.len() {
            let n = (offsets[s + 1] - offsets[s]) as u64;
            if n > 0 {
                lo = lo.min(bars[s]);
                hi = hi.max(bars[s] + n);
            }
        }
        if lo >= hi || hi - lo > Self::MAX {
            return Growth { lo: 0, vals: Vec::new(), covers: false };
        }
        let vals = (lo..hi).map(|i| det_exp(plan.la * (i as f64 - plan.cutout as f64))).collect();
        Growth { lo, vals, covers: true }
    }

    #[inline(always)]
    fn get(&self, bar: u64) -> Option<f64> {
        self.vals.get(bar.wrapping_sub(self.lo) as usize).copied()
    }
}

#[derive(Clone, Copy)]
struct Lane {
    series: usize,
    pos: usize,
    end: usize,
    bar: u64,
    active: bool,
}

const IDLE: Lane = Lane { series: 0, pos: 0, end: 0, bar: 0, active: false };

struct Sched<'p> {
    plan: &'p Plan,
    offsets: &'p [u32],
    bars: &'p [u64],
    next: usize,
    fresh: Vec<f64>,
    scratch: Vec<f64>,
}

impl Sched<'_> {
    /// Give lane `l` the next series that has bars (passing states of empty series through).
    #[inline(always)]
    fn assign<const W: usize>(&mut self, g: &mut Group<W>, io: &mut Io, l: usize) -> Lane {
        while self.next + 1 < self.offsets.len() {
            let s = self.next;
            self.next += 1;
            let (a, b) = (self.offsets[s] as usize, self.offsets[s + 1] as usize);
            match io.input(s) {
                Some(rec) => read_payload(rec, &mut self.scratch),
                None => self.scratch.copy_from_slice(&self.fresh),
            }
            if a == b {
                let (plan, bars, scratch) = (self.plan, self.bars[s], &self.scratch);
                if let Some(rec) = io.output(s) {
                    write_state(plan, rec, bars, scratch);
                }
                continue;
            }
            g.load_lane(self.plan, l, &self.scratch, self.bars[s]);
            return Lane { series: s, pos: a, end: b, bar: self.bars[s], active: true };
        }
        g.set_idle(l);
        IDLE
    }

    #[inline(always)]
    fn finish<const W: usize>(&mut self, g: &Group<W>, io: &mut Io, l: usize, lane: &Lane) {
        if let Some(rec) = io.output(lane.series) {
            g.store_lane(self.plan, l, &mut self.scratch);
            write_state(self.plan, rec, lane.bar, &self.scratch);
        }
    }
}

#[inline(always)]
fn run<const W: usize>(plan: &Plan, closes: &[f64], offsets: &[u32], out: &mut Outputs, io: &mut Io, bars: &[u64]) {
    let mut g = Group::<W>::new(plan);
    let mut sched = Sched { plan, offsets, bars, next: 0, fresh: plan.fresh_payload(), scratch: vec![0.0; plan.layout.size] };
    let mut lanes = [IDLE; W];
    for (l, lane) in lanes.iter_mut().enumerate() {
        *lane = sched.assign(&mut g, io, l);
    }
    let ratio_roc = plan.switches.has(Switches::ROC_RATIO);
    let stride = out.stride;
    let planes = Planes::new(out.values, stride);
    let (la, cutout, steady_bar) = (V::<W>::splat(plan.la), V::<W>::splat(plan.cutout as f64), plan.steady_bar);
    let growth = Growth::new(plan, offsets, bars);
    loop {
        let mut any = false;
        let mut steady = true;
        let mut xa = [1.0; W];
        let mut ba = [steady_bar as f64; W];
        let mut ga = [1.0; W];
        for l in 0..W {
            let lane = &lanes[l];
            if lane.active {
                any = true;
                xa[l] = closes[lane.pos];
                if let Some(g) = growth.get(lane.bar) {
                    ga[l] = g;
                }
                ba[l] = lane.bar as f64;
                steady &= lane.bar >= steady_bar;
            }
        }
        if !any {
            break;
        }
        let (x, bi) = (V(xa), V(ba));
        let xp = g.newest();
        // 1.3 rate of change (NaN at bar 0: the previous close is NaN) and 1.7 growth factor.
        let roc = if ratio_roc { x.div(xp).sub(V::splat(1.0)) } else { x.sub(xp).div(xp) };
        let gv = if growth.covers { V(ga) } else { det_exp_lanes(la.mul(bi.sub(cutout))) };
        let r = roc.mul(gv);
        steady = steady && g.eq_finite && r.is_finite().all();
        let o = if steady { g.tick::<true>(plan, x, xp, bi, r) } else { g.tick::<false>(plan, x, xp, bi, r) };
        for l in 0..W {
            let lane = lanes[l];
            if !lane.active {
                continue;
            }
            let j = lane.pos;
            assert!(j < stride);
            planes.put(0, j, o.avg.0[l]);
            for t in 0..N_TYPES {
                planes.put(1 + t, j, o.xsig[t].0[l]);
                planes.put(7 + t, j, o.eq2[t].0[l]);
            }
            let d = o.dir.0[l];
            out.direction[j] = if d.is_nan() { 0 } else { d as i8 };
            out.alerts[j] = o.alert.0[l] as i8;
            let lane = &mut lanes[l];
            lane.pos += 1;
            lane.bar += 1;
            if lane.pos == lane.end {
                let done = *lane;
                sched.finish(&g, io, l, &done);
                lanes[l] = sched.assign(&mut g, io, l);
            }
        }
    }
}
