// The CUDA engine against the Rust kernel, bit for bit: random tick-grid series (some empty) x
// random grids of parameter sets of both profiles (shared and distinct MA specs, trading rules),
// every output (last values, alerts, accounts, trades, portfolio sums, states), in chunks of any
// size, continued across calls from restored states; planes of single-set jobs; coded errors.

mod common;

use atc_core::account::TRADE_FIELDS;
use atc_core::batch::{fresh_state, Outputs, Path, States, N_FLOAT_PLANES};
use atc_core::job::{run, Job, SetParams, EXTRA_PLANES, LAST_FIELDS};
use atc_core::testing::{series, sweep_sets, Rng};
use atc_gpu::{Lib, Options};
use common::*;

/// Series with a few empty ones among them, timestamps and timestamp slots.
fn market(rng: &mut Rng, n: usize, max_len: usize) -> (Vec<f64>, Vec<u32>, Vec<f64>, Vec<u32>, usize) {
    let (closes, mut offsets) = series(rng, n, max_len);
    for _ in 0..2 {
        let at = rng.below(offsets.len());
        let v = offsets[at];
        offsets.insert(at, v);
    }
    let ts: Vec<f64> = (0..closes.len()).map(|j| j as f64 * 3.6e9).collect();
    let u: Vec<u32> = (0..offsets.len() - 1).flat_map(|s| 0..offsets[s + 1] - offsets[s]).collect();
    let n_u = u.iter().copied().max().map_or(0, |m| m as usize + 1);
    (closes, offsets, ts, u, n_u)
}

/// Chunk sizes that split a job into one series per chunk, a few, or one chunk.
const CHUNKS: [u64; 3] = [1, 200_000, 0];

#[test]
fn random_grids_match_the_rust_job() {
    let Some(lib) = engine() else { return };
    let mut rng = Rng::new(101);
    let mut most_trades = 0usize;
    for round in 0..12 {
        let np = [1, 2, 5, 9, 33][rng.below(5)];
        let sets = sweep_sets(&mut rng, np);
        let ns = 2 + rng.below(9);
        let (closes, offsets, ts, u, n_u) = market(&mut rng, ns, 700);
        let n = offsets.len() - 1;
        let inp = Inputs { sets: &sets, closes: &closes, offsets: &offsets, ts: &ts, u_index: &u, n_u };
        let rust = run_all(&Engine::Rust, &inp, None, fresh_accounts(n * np)).unwrap();
        for chunk_bytes in CHUNKS {
            let cuda = run_all(&Engine::Cuda(lib, Options { chunk_bytes }), &inp, None, fresh_accounts(n * np)).unwrap();
            assert_same(&format!("round {round} ({np} sets, {n} series, chunks of {chunk_bytes} bytes)"), &rust, &cuda);
        }
        for s in 0..n {
            for p in 0..np {
                most_trades = most_trades.max(rust.trades.chunks(TRADE_FIELDS).filter(|t| t[0] == s as f64 && t[1] == p as f64).count());
            }
        }
    }
    // More than the 16 kept per (series, set) on a first try: the rerun path ran.
    assert!(most_trades > 16, "no (series, set) had more than 16 trades ({most_trades})");
}

#[test]
fn jobs_continued_from_states_match_the_rust_job() {
    let Some(lib) = engine() else { return };
    let mut rng = Rng::new(102);
    for round in 0..6 {
        let np = 1 + rng.below(6);
        let sets = sweep_sets(&mut rng, np);
        let (closes, offsets, ts, u, n_u) = market(&mut rng, 5, 500);
        let n = offsets.len() - 1;
        let stride = record_stride(&sets);
        let mut st = vec![0u8; n * stride];
        for s in 0..n {
            let mut at = s * stride;
            for set in &sets {
                fresh_state(&set.plan, &mut st[at..at + set.plan.state_bytes]).unwrap();
                at += set.plan.state_bytes;
            }
        }
        let (mut st_r, mut st_c) = (st.clone(), st);
        let (mut ac_r, mut ac_c) = (fresh_accounts(n * np), fresh_accounts(n * np));
        // Walk the series in blocks of random lengths (0 to 80 bars), every block one call.
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        let mut call = 0;
        while (0..n).any(|s| cursor[s] < offsets[s + 1]) {
            let (mut c, mut t, mut uu, mut o) = (Vec::new(), Vec::new(), Vec::new(), vec![0u32]);
            for s in 0..n {
                let left = (offsets[s + 1] - cursor[s]) as usize;
                let take = [0, 1, 2, 30, 80][rng.below(5)].min(left);
                let a = cursor[s] as usize;
                c.extend_from_slice(&closes[a..a + take]);
                t.extend_from_slice(&ts[a..a + take]);
                uu.extend_from_slice(&u[a..a + take]);
                o.push(c.len() as u32);
                cursor[s] += take as u32;
            }
            let inp = Inputs { sets: &sets, closes: &c, offsets: &o, ts: &t, u_index: &uu, n_u };
            let rust = run_all(&Engine::Rust, &inp, Some(st_r), ac_r).unwrap();
            let cuda = run_all(&Engine::Cuda(lib, Options { chunk_bytes: CHUNKS[call % 3] }), &inp, Some(st_c), ac_c).unwrap();
            assert_same(&format!("round {round} call {call}"), &rust, &cuda);
            (st_r, ac_r, st_c, ac_c) = (rust.states, rust.accounts, cuda.states, cuda.accounts);
            call += 1;
        }
    }
}

/// Per-bar planes and the extra (position, return, equity) planes of single-set jobs.
#[test]
fn single_set_planes_match_the_rust_job() {
    let Some(lib) = engine() else { return };
    let mut rng = Rng::new(103);
    for round in 0..8 {
        let sets = sweep_sets(&mut rng, 1);
        let (closes, offsets, ts, _, _) = market(&mut rng, 6, 900);
        let n = offsets.len() - 1;
        let len = closes.len() + rng.below(3);
        let planes = |e: Option<(&Lib, u64)>| {
            let mut values = vec![-5.0; N_FLOAT_PLANES * len];
            let (mut dir, mut al) = (vec![9i8; len], vec![9i8; len]);
            let mut extra = vec![-5.0; EXTRA_PLANES * len];
            let mut accounts = fresh_accounts(n);
            let mut last = vec![0.0; n * LAST_FIELDS];
            let job = Job {
                ts: Some(&ts),
                accounts: Some(&mut accounts),
                last: Some(&mut last),
                planes: Some(Outputs { values: &mut values, stride: len, direction: &mut dir, alerts: &mut al }),
                extra: Some(&mut extra),
                ..Job::new(&sets, &closes, &offsets)
            };
            match e {
                None => run(job, Path::best()).unwrap(),
                Some((l, chunk_bytes)) => {
                    l.run(job, &Options { chunk_bytes }).unwrap();
                }
            }
            (values, dir, al, extra, accounts, last)
        };
        let r = planes(None);
        for chunk_bytes in CHUNKS {
            let c = planes(Some((lib, chunk_bytes)));
            let what = format!("round {round}, chunks of {chunk_bytes} bytes");
            assert!(first_diff(&r.0, &c.0).is_none(), "{what}: planes differ at {:?}", first_diff(&r.0, &c.0));
            assert_eq!(r.1, c.1, "{what}: direction");
            assert_eq!(r.2, c.2, "{what}: alerts");
            assert!(first_diff(&r.3, &c.3).is_none(), "{what}: extra planes differ at {:?}", first_diff(&r.3, &c.3));
            assert!(first_diff(&r.4, &c.4).is_none(), "{what}: accounts");
            assert!(first_diff(&r.5, &c.5).is_none(), "{what}: last values");
        }
    }
}

#[test]
fn bad_input_is_the_same_coded_error() {
    let Some(lib) = engine() else { return };
    let mut rng = Rng::new(104);
    let sets: Vec<SetParams> = sweep_sets(&mut rng, 2);
    let (mut closes, offsets, ts, u, n_u) = market(&mut rng, 3, 50);
    let inp = |c: &[f64]| -> Result<(), String> {
        let i = Inputs { sets: &sets, closes: c, offsets: &offsets, ts: &ts, u_index: &u, n_u };
        let n = offsets.len() - 1;
        let r = run_all(&Engine::Rust, &i, None, fresh_accounts(n * 2)).map(|_| ()).map_err(|e| e.code().to_string());
        let g = run_all(&Engine::Cuda(lib, Options::default()), &i, None, fresh_accounts(n * 2)).map(|_| ()).map_err(|e| e.code().to_string());
        assert_eq!(r, g);
        g
    };
    let last = closes.len() - 1;
    closes[last] = f64::NAN;
    assert_eq!(inp(&closes), Err("ATC_ERR_BAD_CLOSE".into()));
    closes[last] = 0.0;
    assert_eq!(inp(&closes), Err("ATC_ERR_BAD_CLOSE".into()));
}

/// A restored crossover signal other than -1, 0, 1 cannot come from a kernel; the 2-bit codes
/// cannot hold it, so the CUDA engine refuses it (coded) instead of computing other bits.
#[test]
fn states_with_impossible_signals_are_refused() {
    let Some(lib) = engine() else { return };
    let mut rng = Rng::new(105);
    let sets = sweep_sets(&mut rng, 1);
    let plan = &sets[0].plan;
    let closes = [10.0, 10.5, 10.25];
    let mut st = vec![0u8; plan.state_bytes];
    fresh_state(plan, &mut st).unwrap();
    let at = 32 + 8 * (plan.layout.sig + 3);
    st[at..at + 8].copy_from_slice(&(-0.0f64).to_le_bytes());
    let mut last = vec![0.0; LAST_FIELDS];
    let e = lib
        .run(Job { states: States::In(&st), last: Some(&mut last), ..Job::new(&sets, &closes, &[0, 3]) }, &Options::default())
        .unwrap_err();
    assert_eq!(e.code(), "ATC_ERR_STATE_INVALID");
    assert_eq!(last, vec![0.0; LAST_FIELDS], "nothing written");
}

#[test]
fn a_missing_or_foreign_library_is_a_reason() {
    let e = Lib::open("/nonexistent/libatc_cuda.so").err().expect("no such library");
    assert!(e.contains("cannot load the CUDA engine"), "{e}");
    // A shared object that is not the engine (libc has none of its symbols).
    let e = Lib::open("libc.so.6").err().expect("libc is not the engine");
    assert!(e.contains("no symbol atc_cuda_abi"), "{e}");
}
