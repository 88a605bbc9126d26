// Shared by the parity tests: the CUDA engine under test (the library of $ATC_CUDA_LIB, found
// by the real loader), a job with every output on either engine, and bit comparisons.
#![allow(dead_code)]

use atc_core::account::{fresh_account, ACCT_SIZE, PORT_FIELDS, TRADE_FIELDS};
use atc_core::batch::{Path, States};
use atc_core::job::{run, Job, Portfolio, SetParams, LAST_FIELDS};
use atc_core::KernelError;
use atc_gpu::{Kind, Lib, Options};
use std::sync::Once;

/// The CUDA engine, or None (with a message) when there is none and none is required;
/// scripts/test-cuda.mjs sets ATC_CUDA_TEST_REQUIRE=1 so that a missing engine fails, and
/// ATC_CUDA_TEST_GPU=1 where the library must run on a device.
pub fn engine() -> Option<&'static Lib> {
    static SAID: Once = Once::new();
    let got = atc_gpu::lib().and_then(|l| l.info().map(|i| (l, i)));
    match got {
        Ok((l, i)) => {
            // bench/gpu/run.sh and test-cuda.mjs on a GPU: the device, not the host build
            assert!(i.kind == Kind::Gpu || std::env::var("ATC_CUDA_TEST_GPU").as_deref() != Ok("1"), "ATC_CUDA_TEST_GPU=1 but {} is the host build", i.library);
            SAID.call_once(|| {
                let what = match i.kind {
                    Kind::Gpu => format!("the device: {} ({} SMs, {:.1} GiB, driver {}, runtime {})", i.name, i.sm_count, i.total_memory as f64 / (1u64 << 30) as f64, i.driver_version, i.runtime_version),
                    Kind::Host => "the host build (no GPU: the CUDA engine's code on the CPU)".to_string(),
                };
                eprintln!("CUDA parity tests run through {what}; library {}", i.library);
            });
            Some(l)
        }
        Err(reason) => {
            assert!(std::env::var("ATC_CUDA_TEST_REQUIRE").as_deref() != Ok("1"), "the CUDA engine is required here: {reason}");
            eprintln!("CUDA parity tests skipped: {reason}");
            None
        }
    }
}

pub enum Engine<'a> {
    Rust,
    Cuda(&'a Lib, Options),
}

pub struct Inputs<'a> {
    pub sets: &'a [SetParams],
    pub closes: &'a [f64],
    pub offsets: &'a [u32],
    pub ts: &'a [f64],
    pub u_index: &'a [u32],
    pub n_u: usize,
}

/// Everything a job gives back.
#[derive(Clone)]
pub struct Outs {
    pub states: Vec<u8>,
    pub accounts: Vec<f64>,
    pub last: Vec<f64>,
    pub alerts: Vec<u32>,
    pub sums: Vec<f64>,
    pub counts: Vec<f64>,
    pub trades: Vec<f64>,
}

pub fn record_stride(sets: &[SetParams]) -> usize {
    sets.iter().map(|s| s.plan.state_bytes).sum()
}

pub fn fresh_accounts(n: usize) -> Vec<f64> {
    let mut a = vec![0.0; n * ACCT_SIZE];
    for r in a.chunks_mut(ACCT_SIZE) {
        fresh_account(r);
    }
    a
}

/// Run a job with every output; `states` (in place) and `accounts` continue earlier jobs.
pub fn run_all(e: &Engine, i: &Inputs, states: Option<Vec<u8>>, accounts: Vec<f64>) -> Result<Outs, KernelError> {
    let n = i.offsets.len() - 1;
    let np = i.sets.len();
    let mut o = Outs {
        states: states.clone().unwrap_or_else(|| vec![0u8; n * record_stride(i.sets)]),
        accounts,
        last: vec![-7.0; n * np * LAST_FIELDS],
        alerts: vec![7; n * np * 2],
        sums: vec![0.0; np * i.n_u * PORT_FIELDS],
        counts: vec![0.0; i.n_u],
        trades: Vec::new(),
    };
    let job = Job {
        ts: Some(i.ts),
        states: if states.is_some() { States::InPlace(&mut o.states) } else { States::Out(&mut o.states) },
        accounts: Some(&mut o.accounts),
        last: Some(&mut o.last),
        alerts: Some(&mut o.alerts),
        portfolio: Some(Portfolio { u_index: i.u_index, n_u: i.n_u, sums: &mut o.sums, counts: &mut o.counts }),
        trades: Some(&mut o.trades),
        ..Job::new(i.sets, i.closes, i.offsets)
    };
    match e {
        Engine::Rust => run(job, Path::best())?,
        Engine::Cuda(l, opts) => {
            l.run(job, opts)?;
        }
    }
    Ok(o)
}

/// Same bits, NaN as na (NaN payloads are no part of the contract: x86 and GPUs make different ones).
pub fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

pub fn first_diff(a: &[f64], b: &[f64]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    a.iter().zip(b).position(|(x, y)| !same(*x, *y))
}

/// State records compared as 8-byte words (headers included), NaN as na.
pub fn states_differ(a: &[u8], b: &[u8]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(0);
    }
    let w = |v: &[u8], k: usize| f64::from_le_bytes(v[8 * k..8 * k + 8].try_into().expect("8 bytes"));
    (0..a.len() / 8).find(|&k| !same(w(a, k), w(b, k))).map(|k| 8 * k)
}

/// Closed trades as rows sorted by series, set (stable: each keeps its time order).
pub fn trade_rows(t: &[f64]) -> Vec<Vec<f64>> {
    let mut rows: Vec<Vec<f64>> = t.chunks(TRADE_FIELDS).map(|r| r.to_vec()).collect();
    rows.sort_by(|a, b| (a[0], a[1]).partial_cmp(&(b[0], b[1])).expect("series and set are numbers"));
    rows
}

/// Assert two jobs' outputs are the same bits; `what` names the case.
pub fn assert_same(what: &str, rust: &Outs, cuda: &Outs) {
    for (name, a, b) in [("last", &rust.last, &cuda.last), ("accounts", &rust.accounts, &cuda.accounts), ("portfolio sums", &rust.sums, &cuda.sums), ("portfolio counts", &rust.counts, &cuda.counts)] {
        if let Some(k) = first_diff(a, b) {
            panic!("{what}: {name} differ at {k}: rust {:?}, cuda {:?}", a.get(k), b.get(k));
        }
    }
    assert_eq!(rust.alerts, cuda.alerts, "{what}: alerts");
    if let Some(at) = states_differ(&rust.states, &cuda.states) {
        panic!("{what}: states differ at byte {at}");
    }
    let (tr, tc) = (trade_rows(&rust.trades), trade_rows(&cuda.trades));
    assert_eq!(tr.len(), tc.len(), "{what}: trade count");
    for (k, (a, b)) in tr.iter().zip(&tc).enumerate() {
        assert!(first_diff(a, b).is_none(), "{what}: trade {k}: rust {a:?}, cuda {b:?}");
    }
}
