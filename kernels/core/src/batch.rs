//! The single-set batch entry point (`step`), the SIMD path choice and the state records.
//!
//! Layout (src/engine/batch.ts): series s is closes[offsets[s] .. offsets[s+1]); its outputs go
//! to the same indices of 13 f64 planes of `stride` values (Average_Signal, 6 X_Signal, 6 X_S)
//! and of two i8 arrays (direction with 0 = na, alerts +1 long / -1 short). States are fixed-size
//! records (32-byte header + f64 payload), one per series. job.rs runs it.

use crate::account::AcctParams;
use crate::error::KernelError;
use crate::job::{run, Job, SetParams};
use crate::plan::{Plan, STATE_HEADER_BYTES, STATE_MAGIC, STATE_VERSION};

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

/// The format of a kernel's state records: a 32-byte header (magic, u16 version, u16 0,
/// u32 payload length in f64, u32 0, u64 parameter fingerprint, u64 bars seen), then the
/// payload as little-endian f64. Shared by every kernel; src/engine/state.ts mirrors it.
pub(crate) struct RecordFormat<'a> {
    /// what the magic identifies, for messages ("an ATC kernel state")
    pub what: &'a str,
    pub magic: u32,
    pub version: u16,
    pub payload: usize,
    pub fingerprint: u64,
}

impl RecordFormat<'_> {
    pub fn bytes(&self) -> usize {
        STATE_HEADER_BYTES + 8 * self.payload
    }

    /// Check one record's header; returns the bars it has seen.
    pub fn check(&self, rec: &[u8], record: usize) -> Result<u64, KernelError> {
        let bad = |m: &str| KernelError::StateInvalid { record, message: m.to_string() };
        if rec.len() != self.bytes() {
            return Err(bad("wrong size"));
        }
        if read_u32(rec, 0) != self.magic {
            return Err(bad(&format!("not {} (bad magic)", self.what)));
        }
        let version = u16::from_le_bytes([rec[4], rec[5]]);
        if version != self.version {
            return Err(bad(&format!("format version {version}; this kernel reads version {}", self.version)));
        }
        if read_u32(rec, 8) as usize != self.payload {
            return Err(bad("payload length does not match the parameters"));
        }
        if read_u64(rec, 16) != self.fingerprint {
            return Err(KernelError::StateMismatch { record });
        }
        let bars = read_u64(rec, 24);
        if bars > (1u64 << 53) {
            return Err(bad("impossible bar count"));
        }
        Ok(bars)
    }

    pub fn write(&self, rec: &mut [u8], bars: u64, payload: &[f64]) {
        rec[0..4].copy_from_slice(&self.magic.to_le_bytes());
        rec[4..6].copy_from_slice(&self.version.to_le_bytes());
        rec[6..8].copy_from_slice(&0u16.to_le_bytes());
        rec[8..12].copy_from_slice(&(self.payload as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&0u32.to_le_bytes());
        rec[16..24].copy_from_slice(&self.fingerprint.to_le_bytes());
        rec[24..32].copy_from_slice(&bars.to_le_bytes());
        for (k, v) in payload.iter().enumerate() {
            let at = STATE_HEADER_BYTES + 8 * k;
            rec[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
}

fn atc_format(plan: &Plan) -> RecordFormat<'static> {
    RecordFormat { what: "an ATC kernel state", magic: STATE_MAGIC, version: STATE_VERSION, payload: plan.layout.size, fingerprint: plan.fingerprint }
}

/// Check one record's header against the plan; returns the bars it has seen.
pub fn check_state(plan: &Plan, rec: &[u8], record: usize) -> Result<u64, KernelError> {
    atc_format(plan).check(rec, record)
}

pub(crate) fn write_state(plan: &Plan, rec: &mut [u8], bars: u64, payload: &[f64]) {
    atc_format(plan).write(rec, bars, payload)
}

pub(crate) fn read_payload(rec: &[u8], out: &mut [f64]) {
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

/// Run a batch of series under one parameter set, writing the per-bar outputs. Validates
/// everything first; writes outputs (and states) only on success.
pub fn step(plan: &Plan, closes: &[f64], offsets: &[u32], out: Outputs, states: States, path: Path) -> Result<(), KernelError> {
    let sets = [SetParams { plan: plan.clone(), acct: AcctParams::DEFAULT }];
    run(
        Job {
            states,
            planes: Some(out),
            ..Job::new(&sets, closes, offsets)
        },
        path,
    )
}

/// Series offsets into `len` rows (`what` names them in the error): at least one value, never
/// decreasing, never past the rows. Returns the end of the last series.
pub fn check_offsets(offsets: &[u32], len: usize, what: &str) -> Result<usize, KernelError> {
    let Some(&end) = offsets.last() else {
        return Err(KernelError::InvalidArgument("offsets must hold at least one value".into()));
    };
    let mut prev = 0u32;
    for (s, &o) in offsets.iter().enumerate() {
        if o < prev || o as usize > len {
            return Err(KernelError::InvalidArgument(format!("offsets[{s}] = {o} is out of order or past {what} ({len})")));
        }
        prev = o;
    }
    Ok(end as usize)
}
