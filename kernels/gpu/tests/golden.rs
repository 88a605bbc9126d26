// The golden files (test/golden, both profiles, every parameter set) through the CUDA engine:
// per-bar planes against the expected rows within the manifest's tolerances (test/golden/
// README.md: signals 1e-12, equities and Average_Signal 1e-9, direction and alerts exact, the
// NULL pattern exact; seed rows listed as order-sensitive may differ: pandas summed them in
// another order) and against the Rust kernel bit for bit; then each profile's five sets as one
// grid (the shared-front path) against the Rust grid and the golden last rows.
// Fixtures: raw files made by `node dist/bench/gpu/fixtures.js <dir>`, in $ATC_CUDA_FIXTURES.

mod common;

use atc_core::batch::{Outputs, Path, States};
use atc_core::job::{run, Job, SetParams, LAST_FIELDS};
use atc_core::account::AcctParams;
use atc_core::Plan;
use atc_gpu::Options;
use common::*;
use std::path::{Path as FsPath, PathBuf};

fn fixtures() -> Option<PathBuf> {
    match std::env::var("ATC_CUDA_FIXTURES") {
        Ok(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => {
            assert!(std::env::var("ATC_CUDA_TEST_REQUIRE").as_deref() != Ok("1"), "ATC_CUDA_FIXTURES is not set");
            eprintln!("golden CUDA tests skipped: ATC_CUDA_FIXTURES is not set (scripts/test-cuda.mjs makes them)");
            None
        }
    }
}

fn read(dir: &FsPath, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
}

struct Golden {
    name: String,
    profile: String,
    rows: usize,
    plan: Plan,
    include: Vec<bool>,
    /// 16 columns of `rows`
    expected: Vec<f64>,
    sensitive: Vec<bool>,
}

struct Input {
    closes: Vec<f64>,
    offsets: Vec<u32>,
}

fn load(dir: &FsPath) -> (Input, Vec<Golden>) {
    let closes = f64s(&read(dir, "input.closes.f64"));
    let offsets: Vec<u32> = read(dir, "input.offsets.u32").chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    let index = String::from_utf8(read(dir, "golden.txt")).expect("utf8");
    let files = index
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let name = f[0].to_string();
            Golden {
                plan: Plan::from_wire(&f64s(&read(dir, &format!("{name}.wire.f64")))).expect("a valid parameter set"),
                include: read(dir, &format!("{name}.series.u8")).iter().map(|&b| b == 1).collect(),
                expected: f64s(&read(dir, &format!("{name}.expected.f64"))),
                sensitive: read(dir, &format!("{name}.sensitive.u8")).iter().map(|&b| b == 1).collect(),
                profile: f[1].to_string(),
                rows: f[2].parse().expect("rows"),
                name,
            }
        })
        .collect();
    (Input { closes, offsets }, files)
}

/// The closes of the series `keep` selects, with their offsets.
fn select(i: &Input, keep: &[bool]) -> (Vec<f64>, Vec<u32>) {
    let (mut c, mut o) = (Vec::new(), vec![0u32]);
    for (s, &k) in keep.iter().enumerate() {
        if k {
            c.extend_from_slice(&i.closes[i.offsets[s] as usize..i.offsets[s + 1] as usize]);
            o.push(c.len() as u32);
        }
    }
    (c, o)
}

struct Planes {
    values: Vec<f64>,
    direction: Vec<i8>,
    alerts: Vec<i8>,
}

fn planes(sets: &[SetParams], closes: &[f64], offsets: &[u32], cuda: Option<Options>) -> Planes {
    let n = closes.len();
    let mut p = Planes { values: vec![0.0; 13 * n], direction: vec![9; n], alerts: vec![9; n] };
    let job = Job {
        planes: Some(Outputs { values: &mut p.values, stride: n, direction: &mut p.direction, alerts: &mut p.alerts }),
        ..Job::new(sets, closes, offsets)
    };
    match cuda {
        None => run(job, Path::best()).unwrap(),
        Some(o) => {
            engine().expect("engine").run(job, &o).unwrap();
        }
    }
    p
}

#[test]
fn every_golden_file_through_the_cuda_engine() {
    let Some(dir) = fixtures() else { return };
    if engine().is_none() {
        return;
    }
    let (input, files) = load(&dir);
    assert_eq!(files.len(), 10, "five parameter sets x two profiles");
    for g in &files {
        let sets = [SetParams { plan: g.plan.clone(), acct: AcctParams::DEFAULT }];
        let (closes, offsets) = select(&input, &g.include);
        assert_eq!(closes.len(), g.rows, "{}: rows", g.name);
        let rust = planes(&sets, &closes, &offsets, None);
        for chunk_bytes in [0, 100_000] {
            let cuda = planes(&sets, &closes, &offsets, Some(Options { chunk_bytes }));
            assert!(first_diff(&rust.values, &cuda.values).is_none(), "{}: planes differ from the Rust kernel at {:?}", g.name, first_diff(&rust.values, &cuda.values));
            assert_eq!(rust.direction, cuda.direction, "{}: direction", g.name);
            assert_eq!(rust.alerts, cuda.alerts, "{}: alerts", g.name);
        }
        let cuda = planes(&sets, &closes, &offsets, Some(Options::default()));
        let (mut bad, mut sensitive_differing) = (Vec::new(), 0);
        let n = g.rows;
        for j in 0..n {
            let mut row_ok = true;
            for c in 0..13 {
                let (mine, want) = (cuda.values[c * n + j], g.expected[c * n + j]);
                let tol = if (1..7).contains(&c) { 1e-12 } else { 1e-9 };
                row_ok &= (mine.is_nan() && want.is_nan()) || (mine - want).abs() <= tol;
            }
            if g.profile == "pine" {
                let d = cuda.direction[j] as f64;
                let want = g.expected[13 * n + j];
                row_ok &= if d == 0.0 { want.is_nan() } else { d == want };
                row_ok &= (cuda.alerts[j] == 1) as u8 as f64 == g.expected[14 * n + j];
                row_ok &= (cuda.alerts[j] == -1) as u8 as f64 == g.expected[15 * n + j];
            }
            if !row_ok {
                if g.profile == "seed" && g.sensitive[j] {
                    sensitive_differing += 1;
                } else {
                    bad.push(j);
                }
            }
        }
        eprintln!("{}: {n} rows within tolerance{}", g.name, if sensitive_differing > 0 { format!(" ({sensitive_differing} order-sensitive seed rows differ, as the manifest allows)") } else { String::new() });
        assert!(bad.is_empty(), "{}: {} rows outside the golden tolerances, first at row {}", g.name, bad.len(), bad[0]);
    }
}

#[test]
fn each_profile_as_one_grid() {
    let Some(dir) = fixtures() else { return };
    let Some(lib) = engine() else { return };
    let (input, files) = load(&dir);
    for profile in ["pine", "seed"] {
        let mine: Vec<&Golden> = files.iter().filter(|g| g.profile == profile).collect();
        let keep: Vec<bool> = (0..input.offsets.len() - 1).map(|s| mine.iter().all(|g| g.include[s])).collect();
        let (closes, offsets) = select(&input, &keep);
        let sets: Vec<SetParams> = mine.iter().map(|g| SetParams { plan: g.plan.clone(), acct: AcctParams::DEFAULT }).collect();
        let (n, np) = (offsets.len() - 1, sets.len());
        let stride = record_stride(&sets);
        let grid = |cuda: bool| {
            let mut last = vec![0.0; n * np * LAST_FIELDS];
            let mut states = vec![0u8; n * stride];
            let job = Job { last: Some(&mut last), states: States::Out(&mut states), ..Job::new(&sets, &closes, &offsets) };
            if cuda {
                lib.run(job, &Options::default()).unwrap();
            } else {
                run(job, Path::best()).unwrap();
            }
            (last, states)
        };
        let (rl, rs) = grid(false);
        let (cl, cs) = grid(true);
        assert!(first_diff(&rl, &cl).is_none(), "{profile} grid: last values differ from the Rust grid");
        assert!(states_differ(&rs, &cs).is_none(), "{profile} grid: states differ from the Rust grid");
        // Each set's last values are its golden file's last rows.
        for (p, g) in mine.iter().enumerate() {
            let mut row = 0usize;
            let mut s_grid = 0usize;
            for s in 0..input.offsets.len() - 1 {
                if !g.include[s] {
                    continue;
                }
                row += (input.offsets[s + 1] - input.offsets[s]) as usize;
                if !keep[s] {
                    continue;
                }
                let j = row - 1;
                if !g.sensitive[j] {
                    for c in 0..13 {
                        let (mine, want) = (cl[(s_grid * np + p) * LAST_FIELDS + c], g.expected[c * g.rows + j]);
                        let tol = if (1..7).contains(&c) { 1e-12 } else { 1e-9 };
                        assert!((mine.is_nan() && want.is_nan()) || (mine - want).abs() <= tol, "{} series {s} column {c}: {mine} vs {want}", g.name);
                    }
                }
                s_grid += 1;
            }
        }
    }
}
