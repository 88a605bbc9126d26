//! A job: many series (symbols, or blocks of them) under one or more parameter sets, with W
//! series side by side in SIMD lanes. Each bar runs the front (MAs and crossovers, shared by
//! every set that uses the same MA type and lengths) once, then the back (equities, signals,
//! direction) and the accounting once per set. A set's outputs are bit-identical to a job with
//! that set alone: the front's values do not depend on which other specs it holds (front.rs),
//! and the back of one set never reads another's.
//!
//! Outputs (all optional): the 13 per-bar planes, direction and alerts of a single-set job;
//! per (series, set) the last bar's values, alert counts, the account (in place), closed trades
//! and the portfolio partial sums per timestamp. States: one kernel record per (series, set),
//! series-major, so a single-set job has the layout of `batch::step`.
//!
//! Everything is validated before any output or state is written, so an error leaves the
//! caller's buffers as they were. A lane that finishes its series stores its results and takes
//! the next series, so lanes stay busy whatever the series lengths.

use crate::account::{limbs, AcctLanes, AcctParams, BarOut, ACCT_SIZE, BARS, PORT_FIELDS};
use crate::back::{Back, TickOut};
use crate::batch::{check_offsets, check_state, read_payload, write_state, Outputs, Path, States, N_FLOAT_PLANES};
use crate::error::KernelError;
use crate::exp::{det_exp, det_exp_lanes};
use crate::front::Front;
use crate::lanes::V;
use crate::plan::{Plan, Switches, N_LEN, N_TYPES};

/// Per (series, set): Average_Signal, 6 X_Signal, 6 X_S, direction (0 = na) at the last bar.
pub const LAST_FIELDS: usize = 14;
/// Extra per-bar planes of a single-set job with accounts: position, strategy return, equity.
pub const EXTRA_PLANES: usize = 3;

pub struct SetParams {
    pub plan: Plan,
    pub acct: AcctParams,
}

/// Portfolio partial sums: for bar j of the job (j >= 1 in its series), timestamp slot
/// `u_index[j]` < n_u gets, per set, PORT_FIELDS sums (account::limbs of the return, net and
/// gross position, turnover) at sums[(set * n_u + u) * PORT_FIELDS ..], and counts[u] += 1.
pub struct Portfolio<'a> {
    pub u_index: &'a [u32],
    pub n_u: usize,
    pub sums: &'a mut [f64],
    pub counts: &'a mut [f64],
}

impl Portfolio<'_> {
    /// Buffer sizes for `end` bars and `np` sets, and every index below n_u.
    pub fn check(&self, end: usize, np: usize) -> Result<(), KernelError> {
        if self.u_index.len() < end || self.counts.len() != self.n_u || self.sums.len() != np * self.n_u * PORT_FIELDS {
            return arg(format!("portfolio buffers must hold {end} indices, n_u counts and {np} x n_u x {PORT_FIELDS} sums"));
        }
        if let Some(j) = self.u_index[..end].iter().position(|&u| u as usize >= self.n_u) {
            return arg(format!("portfolio u_index[{j}] is past n_u {}", self.n_u));
        }
        Ok(())
    }

    /// Bar j (not a series' first) of set p: its return as exact limbs, net and gross
    /// position, turnover; set 0 counts the symbol.
    #[inline(always)]
    pub fn add(&mut self, p: usize, j: usize, b: &BarOut) {
        let u = self.u_index[j] as usize;
        let cell = &mut self.sums[(p * self.n_u + u) * PORT_FIELDS..][..PORT_FIELDS];
        let lb = limbs(b.ret);
        for k in 0..4 {
            cell[k] += lb[k];
        }
        cell[4] += b.held;
        cell[5] += b.held.abs();
        cell[6] += (b.held - b.held_prev).abs();
        if p == 0 {
            self.counts[u] += 1.0;
        }
    }
}

pub struct Job<'a> {
    pub sets: &'a [SetParams],
    pub closes: &'a [f64],
    pub offsets: &'a [u32],
    /// bar timestamps (any unit; the accounting records them), needed with accounts
    pub ts: Option<&'a [f64]>,
    pub states: States<'a>,
    /// n_series x n_sets accounts of ACCT_SIZE, read and advanced in place
    pub accounts: Option<&'a mut [f64]>,
    /// n_series x n_sets x LAST_FIELDS
    pub last: Option<&'a mut [f64]>,
    /// n_series x n_sets x 2: long and short alerts in this job
    pub alerts: Option<&'a mut [u32]>,
    /// per-bar outputs; single-set jobs only
    pub planes: Option<Outputs<'a>>,
    /// EXTRA_PLANES planes of planes.stride; needs planes and accounts
    pub extra: Option<&'a mut [f64]>,
    pub portfolio: Option<Portfolio<'a>>,
    /// closed trades, TRADE_FIELDS each, appended
    pub trades: Option<&'a mut Vec<f64>>,
}

impl<'a> Job<'a> {
    /// A job over fresh states with no output asked for: name what you want with
    /// `Job { last: Some(..), ..Job::new(sets, closes, offsets) }`.
    pub fn new(sets: &'a [SetParams], closes: &'a [f64], offsets: &'a [u32]) -> Self {
        Job { sets, closes, offsets, ts: None, states: States::Fresh, accounts: None, last: None, alerts: None, planes: None, extra: None, portfolio: None, trades: None }
    }
}

/// Byte offset of each set's record inside one series' group of records, and the group size.
fn record_offsets(sets: &[SetParams]) -> (Vec<usize>, usize) {
    let mut at = 0;
    let offs = sets
        .iter()
        .map(|s| {
            let o = at;
            at += s.plan.state_bytes;
            o
        })
        .collect();
    (offs, at)
}

fn arg<T>(m: String) -> Result<T, KernelError> {
    Err(KernelError::InvalidArgument(m))
}

/// What `validate` learnt about a job: bars seen per series (from the state records) and where
/// each set's record sits in a series' group of records.
pub struct Checked {
    pub bars: Vec<u64>,
    pub rec_off: Vec<usize>,
    pub rec_stride: usize,
}

/// Run a job. Validates everything first; writes outputs (and states) only on success.
pub fn run(job: Job, path: Path) -> Result<(), KernelError> {
    if !path.supported() {
        return arg(format!("SIMD path {} is not supported on this CPU", path.name()));
    }
    let Checked { bars, rec_off, rec_stride } = validate(&job)?;
    let Job { sets, closes, offsets, ts, states, accounts, last, alerts, planes, extra, portfolio, trades } = job;
    let mut cx = Cx {
        sets,
        closes,
        offsets,
        ts: ts.unwrap_or(&[]),
        states,
        rec_off,
        rec_stride,
        bars,
        accounts,
        last,
        alerts,
        planes,
        extra,
        portfolio,
        trades,
    };
    match path {
        Path::Scalar => run_width::<1>(&mut cx),
        Path::Portable => run_width::<2>(&mut cx),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported()` checked the CPU features above.
        Path::Avx2 => unsafe { run_avx2(&mut cx) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Path::Avx512 => unsafe { run_avx512(&mut cx) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => run_width::<4>(&mut cx),
    }
    Ok(())
}

/// Every check `run` makes before it computes (shared with the CUDA engine, crate atc-gpu):
/// shapes, state headers, accounts against states, closes.
pub fn validate(job: &Job) -> Result<Checked, KernelError> {
    let Job { sets, closes, offsets, ts, states, accounts, last, alerts, planes, extra, portfolio, trades } = job;
    let (sets, closes, offsets) = (*sets, *closes, *offsets);
    if sets.is_empty() {
        return arg("a job needs at least one parameter set".into());
    }
    let switches = sets[0].plan.switches;
    if sets.iter().any(|s| s.plan.switches != switches) {
        return arg("every parameter set of a job must use the same profile".into());
    }
    let end = check_offsets(offsets, closes.len(), "closes")?;
    let n = offsets.len() - 1;
    let np = sets.len();
    if let Some(out) = &planes {
        if np != 1 {
            return arg("per-bar outputs are only written by single-set jobs".into());
        }
        if out.stride < end {
            return arg(format!("out.stride {} is smaller than the last offset {end}", out.stride));
        }
        if out.values.len() < N_FLOAT_PLANES * out.stride {
            return arg("out.values is shorter than 13 planes of stride".into());
        }
        if out.direction.len() < out.stride || out.alerts.len() < out.stride {
            return arg("out.direction/out.alerts are shorter than stride".into());
        }
    }
    let needs_ts = accounts.is_some();
    if needs_ts {
        match ts {
            Some(t) if t.len() >= end => {
                if let Some(j) = t[..end].iter().position(|v| !v.is_finite()) {
                    return arg(format!("ts[{j}] is not finite"));
                }
            }
            _ => return arg("accounts need timestamps covering the closes".into()),
        }
    }
    if let Some(a) = &accounts {
        if a.len() != n * np * ACCT_SIZE {
            return arg(format!("accounts must hold {n} x {np} records of {ACCT_SIZE} values"));
        }
    }
    if last.as_ref().is_some_and(|l| l.len() != n * np * LAST_FIELDS) {
        return arg(format!("last must hold {n} x {np} x {LAST_FIELDS} values"));
    }
    if alerts.as_ref().is_some_and(|a| a.len() != n * np * 2) {
        return arg(format!("alerts must hold {n} x {np} x 2 values"));
    }
    if let Some(x) = &extra {
        let stride = planes.as_ref().map(|o| o.stride);
        match stride {
            Some(st) if accounts.is_some() && x.len() >= EXTRA_PLANES * st => {}
            _ => return arg("extra planes need per-bar outputs, accounts and 3 planes of stride".into()),
        }
    }
    if let Some(p) = &portfolio {
        if accounts.is_none() {
            return arg("portfolio sums need accounts".into());
        }
        p.check(end, np)?;
    }
    if trades.is_some() && accounts.is_none() {
        return arg("trades need accounts".into());
    }
    let (rec_off, rec_stride) = record_offsets(sets);
    let len_ok = |b: &[u8]| b.len() == n * rec_stride;
    let ok = match &states {
        States::Fresh => true,
        States::In(i) => len_ok(i),
        States::Out(o) => len_ok(o),
        States::InOut(i, o) => len_ok(i) && len_ok(o),
        States::InPlace(io) => len_ok(io),
    };
    if !ok {
        return arg(format!("state buffers must hold {n} x {np} records ({rec_stride} bytes per series)"));
    }
    let input: Option<&[u8]> = match states {
        States::In(i) | States::InOut(i, _) => Some(i),
        States::InPlace(io) => Some(io),
        _ => None,
    };
    let mut bars = vec![0u64; n];
    if let Some(inp) = input {
        for s in 0..n {
            for (p, set) in sets.iter().enumerate() {
                let at = s * rec_stride + rec_off[p];
                let b = check_state(&set.plan, &inp[at..at + set.plan.state_bytes], s)?;
                if p > 0 && b != bars[s] {
                    return arg(format!("series {s}: the state records of its parameter sets have seen different bar counts"));
                }
                bars[s] = b;
            }
        }
    }
    if let Some(a) = &accounts {
        for s in 0..n {
            for p in 0..np {
                let seen = a[(s * np + p) * ACCT_SIZE + BARS];
                if seen != bars[s] as f64 {
                    return arg(format!("series {s}, set {p}: the account has seen {seen} bars, the kernel state {}", bars[s]));
                }
            }
        }
    }
    for s in 0..n {
        let seg = &closes[offsets[s] as usize..offsets[s + 1] as usize];
        // A branch-free pass (vectorised); the position is looked for only on failure.
        let mut bad = false;
        for &x in seg {
            bad |= !(x > 0.0) | !(x < f64::INFINITY);
        }
        if bad {
            if let Some(j) = seg.iter().position(|&x| !(x > 0.0 && x < f64::INFINITY)) {
                return Err(KernelError::BadClose { series: s, bar: bars[s] + j as u64, value: seg[j] });
            }
        }
    }

    Ok(Checked { bars, rec_off, rec_stride })
}

/// A validated job.
struct Cx<'a> {
    sets: &'a [SetParams],
    closes: &'a [f64],
    offsets: &'a [u32],
    ts: &'a [f64],
    states: States<'a>,
    rec_off: Vec<usize>,
    rec_stride: usize,
    bars: Vec<u64>,
    accounts: Option<&'a mut [f64]>,
    last: Option<&'a mut [f64]>,
    alerts: Option<&'a mut [u32]>,
    planes: Option<Outputs<'a>>,
    extra: Option<&'a mut [f64]>,
    portfolio: Option<Portfolio<'a>>,
    trades: Option<&'a mut Vec<f64>>,
}

impl Cx<'_> {
    fn input(&self, s: usize, p: usize) -> Option<&[u8]> {
        let at = s * self.rec_stride + self.rec_off[p];
        let b = self.sets[p].plan.state_bytes;
        match &self.states {
            States::In(i) | States::InOut(i, _) => Some(&i[at..at + b]),
            States::InPlace(io) => Some(&io[at..at + b]),
            _ => None,
        }
    }
    fn output(&mut self, s: usize, p: usize) -> Option<&mut [u8]> {
        let at = s * self.rec_stride + self.rec_off[p];
        let b = self.sets[p].plan.state_bytes;
        match &mut self.states {
            States::Out(o) | States::InOut(_, o) | States::InPlace(o) => Some(&mut o[at..at + b]),
            _ => None,
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(cx: &mut Cx) {
    if cx.sets.len() == 1 {
        run_avx2_single(cx)
    } else {
        run_lanes::<4, false>(cx)
    }
}

/// A function of its own, so that the single-set loop's code is not interleaved with the
/// sweep's (which doubled the hot loop's footprint and cost ~5%).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2_single(cx: &mut Cx) {
    run_lanes::<4, true>(cx)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(cx: &mut Cx) {
    if cx.sets.len() == 1 {
        run_avx512_single(cx)
    } else {
        run_lanes::<8, false>(cx)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512_single(cx: &mut Cx) {
    run_lanes::<8, true>(cx)
}

fn run_width<const W: usize>(cx: &mut Cx) {
    if cx.sets.len() == 1 {
        run_single::<W>(cx)
    } else {
        run_lanes::<W, false>(cx)
    }
}

#[inline(never)]
fn run_single<const W: usize>(cx: &mut Cx) {
    run_lanes::<W, true>(cx)
}

/// Per-bar planes: plane p of bar j lives at ptr[p * stride + j].
struct Planes {
    ptr: *mut f64,
    stride: usize,
    len: usize,
}

impl Planes {
    fn new(values: &mut [f64], stride: usize) -> Planes {
        Planes { ptr: values.as_mut_ptr(), stride, len: values.len() }
    }

    /// Bounds checks per store cost ~4 instructions x planes x lanes on the hot path; the
    /// invariant is checked once per bar instead (`drive` asserts j < stride).
    #[inline(always)]
    fn put(&self, p: usize, j: usize, v: f64) {
        debug_assert!(p * self.stride + j < self.len);
        // SAFETY: callers pass p below the plane count `run` validated against the buffer
        // length and j < stride (asserted per bar), so p * stride + j < len.
        unsafe { *self.ptr.add(p * self.stride + j) = v }
    }
}

/// Bars staged per lane before they are copied to the planes: one cache line of a plane.
const STAGE: usize = 8;

/// The kernel's 13 output planes, direction and alerts. Each lane's bars are staged in a small
/// buffer and copied out a cache line of each plane at a time, with non-temporal stores where
/// the line is whole and aligned: scattered stores into cold memory (each a read for ownership
/// of a line the kernel never reads) otherwise cost ~15% of the kernel's time.
struct Staged<const W: usize> {
    values: Planes,
    dir: *mut i8,
    alerts: *mut i8,
    buf: [[[f64; STAGE]; N_FLOAT_PLANES]; W],
    dbuf: [[i8; STAGE]; W],
    abuf: [[i8; STAGE]; W],
    /// first bar and count staged per lane
    start: [usize; W],
    n: [usize; W],
    /// bar index (mod STAGE) at which plane 0's cache lines start
    phase: usize,
    streamed: bool,
}

impl<const W: usize> Staged<W> {
    fn new(out: &mut Outputs) -> Staged<W> {
        Staged {
            values: Planes::new(out.values, out.stride),
            dir: out.direction.as_mut_ptr(),
            alerts: out.alerts.as_mut_ptr(),
            buf: [[[0.0; STAGE]; N_FLOAT_PLANES]; W],
            dbuf: [[0; STAGE]; W],
            abuf: [[0; STAGE]; W],
            start: [0; W],
            n: [0; W],
            phase: ((64 - out.values.as_ptr() as usize % 64) % 64 / 8) % STAGE,
            streamed: false,
        }
    }

    /// Bar j of lane l (bars of a lane come in order, j + 1 after j, until `flush`).
    #[inline(always)]
    fn put(&mut self, l: usize, j: usize, o: &TickOut<W>, dir: i8, alert: i8) {
        let k = self.n[l];
        if k == 0 {
            self.start[l] = j;
        }
        let b = &mut self.buf[l];
        b[0][k] = o.avg.0[l];
        for t in 0..N_TYPES {
            b[1 + t][k] = o.xsig[t].0[l];
            b[7 + t][k] = o.eq2[t].0[l];
        }
        self.dbuf[l][k] = dir;
        self.abuf[l][k] = alert;
        self.n[l] = k + 1;
        if (j + 1) % STAGE == self.phase {
            self.flush(l);
        }
    }

    /// Copy lane l's staged bars out.
    #[inline(always)]
    fn flush(&mut self, l: usize) {
        let (n, j) = (self.n[l], self.start[l]);
        if n == 0 {
            return;
        }
        assert!(j + n <= self.values.stride);
        let st = self.values.stride;
        // SAFETY: j + n <= stride (asserted) and the planes hold N_FLOAT_PLANES * stride values,
        // direction and alerts at least stride entries (`run` validated both); the staging
        // buffers are separate memory. Streaming stores need 16-byte aligned destinations
        // (checked: a whole line is 64-byte aligned).
        unsafe {
            for p in 0..N_FLOAT_PLANES {
                let dst = self.values.ptr.add(p * st + j);
                if n == STAGE && (dst as usize) % 64 == 0 {
                    stream_line(self.buf[l][p].as_ptr(), dst);
                    self.streamed = true;
                } else {
                    std::ptr::copy_nonoverlapping(self.buf[l][p].as_ptr(), dst, n);
                }
            }
            std::ptr::copy_nonoverlapping(self.dbuf[l].as_ptr(), self.dir.add(j), n);
            std::ptr::copy_nonoverlapping(self.abuf[l].as_ptr(), self.alerts.add(j), n);
        }
        self.n[l] = 0;
    }

    /// Make streamed stores visible before the job returns.
    fn fence(&self) {
        #[cfg(target_arch = "x86_64")]
        if self.streamed {
            // SAFETY: sfence has no preconditions (SSE, part of x86-64).
            unsafe { std::arch::x86_64::_mm_sfence() }
        }
    }
}

/// Eight doubles to a 64-byte aligned line, bypassing the cache.
///
/// # Safety
/// `dst` is 64-byte aligned and valid for 8 writes; `src` valid for 8 reads.
#[inline(always)]
unsafe fn stream_line(src: *const f64, dst: *mut f64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_stream_pd};
        for k in 0..4 {
            _mm_stream_pd(dst.add(2 * k), _mm_loadu_pd(src.add(2 * k)));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::ptr::copy_nonoverlapping(src, dst, STAGE);
}

/// g = e^(La * (i - cutout)) by bar index i (spec 1.7), precomputed for the bars of this job
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

/// One set's back, growth table and per-lane counters.
struct SetRun<const W: usize> {
    back: Back<W>,
    growth: Growth,
    la: V<W>,
    cutout: V<W>,
    /// the accounts of the series in the lanes (loaded at assign, stored at finish)
    acct: AcctLanes<W>,
    /// per MA type t: the index of this set's spec among the front's specs of type t
    spec: [usize; N_TYPES],
    /// long / short alerts per lane for the series in it
    counts: [[u32; 2]; W],
    payload: Vec<f64>,
}

struct Machine<'c, 'a, const W: usize, R> {
    cx: &'c mut Cx<'a>,
    front: Front<W>,
    /// a Vec, or for a single set an array: the back then lives on the stack, which measured
    /// ~4% faster than on the heap
    runs: R,
    /// per MA type and spec: a set that holds it (its state restores the spec)
    spec_src: [Vec<usize>; N_TYPES],
    /// the set with the longest history (its state restores the front's history)
    hist_src: usize,
    next: usize,
}

impl<const W: usize, R: AsMut<[SetRun<W>]> + AsRef<[SetRun<W>]>> Machine<'_, '_, W, R> {
    fn read(&mut self, s: usize) {
        for p in 0..self.runs.as_ref().len() {
            let fresh = match self.cx.input(s, p) {
                Some(rec) => {
                    read_payload(rec, &mut self.runs.as_mut()[p].payload);
                    false
                }
                None => true,
            };
            if fresh {
                self.runs.as_mut()[p].payload = self.cx.sets[p].plan.fresh_payload();
            }
        }
    }

    /// Give lane `l` the next series that has bars (passing states of empty series through).
    fn assign(&mut self, l: usize) -> Lane {
        while self.next + 1 < self.cx.offsets.len() {
            let s = self.next;
            self.next += 1;
            let (a, b) = (self.cx.offsets[s] as usize, self.cx.offsets[s + 1] as usize);
            self.read(s);
            let bars = self.cx.bars[s];
            if a == b {
                for p in 0..self.runs.as_ref().len() {
                    let payload = std::mem::take(&mut self.runs.as_mut()[p].payload);
                    let plan = &self.cx.sets[p].plan;
                    if let Some(rec) = self.cx.output(s, p) {
                        write_state(plan, rec, bars, &payload);
                    }
                    if let Some(last) = self.cx.last.as_deref_mut() {
                        last[(s * self.runs.as_ref().len() + p) * LAST_FIELDS..][..LAST_FIELDS].fill(f64::NAN);
                    }
                    self.runs.as_mut()[p].payload = payload;
                }
                continue;
            }
            let sets = self.cx.sets;
            let runs = self.runs.as_ref();
            let hs = &sets[self.hist_src].plan;
            let hist = &runs[self.hist_src].payload[hs.layout.hist..hs.layout.hist + hs.hist_len];
            let spec_src = &self.spec_src;
            self.front.load_lane(l, bars, hist, |t, i| {
                let p = spec_src[t][i];
                (&runs[p].payload[..], &sets[p].plan.layout)
            });
            let np = self.runs.as_ref().len();
            for (p, r) in self.runs.as_mut().iter_mut().enumerate() {
                r.back.load_lane(l, &r.payload, &sets[p].plan.layout);
                r.counts[l] = [0, 0];
                if let Some(a) = self.cx.accounts.as_deref() {
                    r.acct.load(l, &a[(s * np + p) * ACCT_SIZE..][..ACCT_SIZE]);
                }
            }
            return Lane { series: s, pos: a, end: b, bar: bars, active: true };
        }
        self.front.set_idle(l);
        for r in self.runs.as_mut().iter_mut() {
            r.back.set_idle(l);
        }
        IDLE
    }

    fn finish(&mut self, l: usize, lane: &Lane) {
        let s = lane.series;
        let np = self.runs.as_ref().len();
        for p in 0..np {
            let r = &mut self.runs.as_mut()[p];
            if let Some(last) = self.cx.last.as_deref_mut() {
                r.back.last_values(l, &mut last[(s * np + p) * LAST_FIELDS..][..LAST_FIELDS]);
            }
            if let Some(al) = self.cx.alerts.as_deref_mut() {
                al[(s * np + p) * 2..][..2].copy_from_slice(&r.counts[l]);
            }
            if let Some(a) = self.cx.accounts.as_deref_mut() {
                r.acct.store(l, &mut a[(s * np + p) * ACCT_SIZE..][..ACCT_SIZE]);
            }
            let plan = &self.cx.sets[p].plan;
            let lay = &plan.layout;
            if matches!(self.cx.states, States::Fresh | States::In(_)) {
                continue;
            }
            self.front.store_hist(l, &mut r.payload[lay.hist..lay.hist + plan.hist_len]);
            for t in 0..N_TYPES {
                self.front.store_spec(t, r.spec[t], l, &mut r.payload, lay);
            }
            r.back.store_lane(l, &mut r.payload, lay);
            let payload = std::mem::take(&mut r.payload);
            if let Some(rec) = self.cx.output(s, p) {
                write_state(plan, rec, lane.bar, &payload);
            }
            self.runs.as_mut()[p].payload = payload;
        }
    }
}

/// The lane loop; SINGLE (one parameter set) runs the crossovers inside the back.
#[inline(always)]
fn run_lanes<const W: usize, const SINGLE: bool>(cx: &mut Cx) {
    let sets = cx.sets;
    // The specs of the front: each distinct (MA type, lengths) once.
    let mut lens: [Vec<[usize; N_LEN]>; N_TYPES] = Default::default();
    let mut spec_src: [Vec<usize>; N_TYPES] = Default::default();
    let runs: Vec<SetRun<W>> = sets
        .iter()
        .enumerate()
        .map(|(p, set)| {
            let spec: [usize; N_TYPES] = std::array::from_fn(|t| {
                let ls = set.plan.lens[t];
                match lens[t].iter().position(|x| *x == ls) {
                    Some(i) => i,
                    None => {
                        lens[t].push(ls);
                        spec_src[t].push(p);
                        lens[t].len() - 1
                    }
                }
            });
            SetRun {
                back: Back::new(&set.plan),
                growth: Growth::new(&set.plan, cx.offsets, &cx.bars),
                la: V::splat(set.plan.la),
                cutout: V::splat(set.plan.cutout as f64),
                acct: AcctLanes::new(&set.acct),
                spec,
                counts: [[0, 0]; W],
                payload: vec![0.0; set.plan.layout.size],
            }
        })
        .collect();
    let hist_src = (0..sets.len()).max_by_key(|&p| sets[p].plan.hist_len).unwrap_or(0);
    let switches = sets[0].plan.switches;
    let front = Front::<W>::new(switches, &lens);
    if SINGLE {
        let runs: [SetRun<W>; 1] = match runs.try_into() {
            Ok(r) => r,
            Err(_) => unreachable!("a single-set job has one set"),
        };
        drive::<W, SINGLE, _>(Machine { cx, front, runs, spec_src, hist_src, next: 0 });
    } else {
        drive::<W, SINGLE, _>(Machine { cx, front, runs, spec_src, hist_src, next: 0 });
    }
}

#[inline(always)]
fn drive<const W: usize, const SINGLE: bool, R: AsMut<[SetRun<W>]> + AsRef<[SetRun<W>]>>(mut m: Machine<W, R>) {
    let front_steady = m.front.steady_bar();
    let switches = m.cx.sets[0].plan.switches;
    let mut lanes = [IDLE; W];
    for (l, lane) in lanes.iter_mut().enumerate() {
        *lane = m.assign(l);
    }
    let ratio_roc = switches.has(Switches::ROC_RATIO);
    let np = m.runs.as_ref().len();
    let accounting = m.cx.accounts.is_some();
    let mut planes = m.cx.planes.as_mut().map(Staged::<W>::new);
    let extra = m.cx.extra.as_deref_mut().map(|x| Planes::new(x, planes.as_ref().map_or(0, |p| p.values.stride)));
    loop {
        let mut any = false;
        let mut xa = [1.0; W];
        let mut ba = [u64::MAX as f64; W];
        let mut min_bar = u64::MAX;
        for l in 0..W {
            let lane = &lanes[l];
            if lane.active {
                any = true;
                xa[l] = m.cx.closes[lane.pos];
                ba[l] = lane.bar as f64;
                min_bar = min_bar.min(lane.bar);
            }
        }
        if !any {
            break;
        }
        // Idle lanes count as far past every warm-up.
        for l in 0..W {
            if !lanes[l].active {
                ba[l] = min_bar.max(front_steady) as f64;
            }
        }
        let (x, bi) = (V(xa), V(ba));
        let mut ta = [0.0; W];
        if accounting {
            for l in 0..W {
                if lanes[l].active {
                    ta[l] = m.cx.ts[lanes[l].pos];
                }
            }
        }
        let tv = V(ta);
        let xp = m.front.newest();
        // A single set runs its crossovers inside the back (Fused); a sweep's are computed once.
        let single = SINGLE;
        match (min_bar >= front_steady, single) {
            (true, true) => m.front.tick::<true, false>(x, xp, bi),
            (false, true) => m.front.tick::<false, false>(x, xp, bi),
            (true, false) => m.front.tick::<true, true>(x, xp, bi),
            (false, false) => m.front.tick::<false, true>(x, xp, bi),
        }
        // 1.3 rate of change (NaN at bar 0: the previous close is NaN).
        let roc = if ratio_roc { x.div(xp).sub(V::splat(1.0)) } else { x.sub(xp).div(xp) };

        for p in 0..np {
            let r = &mut m.runs.as_mut()[p];
            // 1.7 growth factor
            let gv = if r.growth.covers {
                let mut ga = [1.0; W];
                for l in 0..W {
                    if lanes[l].active {
                        if let Some(g) = r.growth.get(lanes[l].bar) {
                            ga[l] = g;
                        }
                    }
                }
                V(ga)
            } else {
                det_exp_lanes(r.la.mul(bi.sub(r.cutout)))
            };
            let rv = roc.mul(gv);
            let steady = min_bar >= r.back.steady_bar() && r.back.eq_finite && rv.is_finite().all();
            let o = if single {
                let mut sig = m.front.fused(x, xp);
                if steady {
                    r.back.tick::<true>(&mut sig, rv, bi)
                } else {
                    r.back.tick::<false>(&mut sig, rv, bi)
                }
            } else {
                let mut sig = m.front.computed(&r.spec);
                if steady {
                    r.back.tick::<true>(&mut sig, rv, bi)
                } else {
                    r.back.tick::<false>(&mut sig, rv, bi)
                }
            };
            let acct = if accounting { Some(r.acct.bar(o.dir, x, tv)) } else { None };
            for l in 0..W {
                let lane = lanes[l];
                if !lane.active {
                    continue;
                }
                let j = lane.pos;
                let al = o.alert.0[l];
                if al == 1.0 {
                    r.counts[l][0] += 1;
                } else if al == -1.0 {
                    r.counts[l][1] += 1;
                }
                let dir = o.dir.0[l];
                if let Some(pl) = planes.as_mut() {
                    pl.put(l, j, &o, if dir.is_nan() { 0 } else { dir as i8 }, al as i8);
                }
                if let Some(bl) = &acct {
                    if bl.exit.0[l] != 0 {
                        if let Some(tv) = m.cx.trades.as_deref_mut() {
                            tv.extend_from_slice(&bl.trade(l, (lane.series, p), ta[l], xa[l]));
                        }
                    }
                    let b = bl.lane(l);
                    if let Some(ex) = &extra {
                        assert!(j < ex.stride);
                        ex.put(0, j, b.held);
                        ex.put(1, j, b.ret);
                        ex.put(2, j, b.equity);
                    }
                    if lane.bar > 0 {
                        if let Some(pf) = m.cx.portfolio.as_mut() {
                            pf.add(p, j, &b);
                        }
                    }
                }
            }
        }
        for l in 0..W {
            let lane = &mut lanes[l];
            if !lane.active {
                continue;
            }
            lane.pos += 1;
            lane.bar += 1;
            if lane.pos == lane.end {
                let done = *lane;
                if let Some(pl) = planes.as_mut() {
                    pl.flush(l);
                }
                m.finish(l, &done);
                lanes[l] = m.assign(l);
            }
        }
    }
    if let Some(pl) = planes.as_ref() {
        pl.fence();
    }
}
