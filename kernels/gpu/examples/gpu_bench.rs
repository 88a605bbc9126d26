// The CUDA engine's benchmark (bench/gpu/run.sh runs it on a GPU machine; Node not needed):
// grids of parameter sets over synthetic symbols, last values + alerts + accounts per (symbol,
// set) as the pipeline's summary and stats need, bar-sets per second on the device against the
// Rust job on 1, 2 and all cores measured the same way (job::run over the same sets, the
// symbols split between threads as between pipeline workers), and where the device time goes.
// Correctness first: on the symbols the CPU ran, the device's outputs must equal the Rust
// job's bit for bit, or nothing is reported.
//
//   cargo run --release --example gpu_bench -p atc-gpu -- [--sets 64,256,1024]
//       [--symbols 1000,10000] [--bars 5000] [--cpu-symbols 32] [--reps 3] [--budget-s 420]
//
// The library is $ATC_CUDA_LIB (the host build runs it too, slowly: use small sizes).

use atc_core::account::{fresh_account, AcctParams, ACCT_SIZE};
use atc_core::batch::Path;
use atc_core::job::{run, Job, SetParams, LAST_FIELDS};
use atc_core::plan::{default_wire, wire, Plan, Switches};
use atc_core::testing::synthetic;
use atc_gpu::{Options, Times};
use std::time::Instant;

fn arg(name: &str, dflt: &str) -> String {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == &format!("--{name}")).and_then(|i| a.get(i + 1).cloned()).unwrap_or_else(|| dflt.to_string())
}

fn list(name: &str, dflt: &str) -> Vec<usize> {
    arg(name, dflt).split(',').map(|v| v.trim().parse().expect("a number")).collect()
}

/// The first k sets of lambda x decay x cutout x thresholds x fee (4 values each), pine: a grid
/// over the trading parameters, all sets sharing the six MA specs (as bench/sweep.ts's grid).
fn grid(k: usize) -> Vec<SetParams> {
    (0..k)
        .map(|i| {
            let d = |n: usize| (i >> (2 * n)) & 3;
            let mut w = default_wire(Switches::PINE);
            w[wire::LAMBDA] = [0.01, 0.02, 0.03, 0.04][d(0)];
            w[wire::DECAY] = [0.01, 0.03, 0.05, 0.1][d(1)];
            w[wire::CUTOUT] = [0.0, 10.0, 20.0, 30.0][d(2)];
            w[wire::LONG] = [0.1, 0.05, 0.15, 0.2][d(3)];
            w[wire::SHORT] = -w[wire::LONG];
            SetParams { plan: Plan::from_wire(&w).expect("valid"), acct: AcctParams { mode: 0, fee_bps: [1.0, 0.0, 2.0, 5.0][d(4)], slippage_bps: 1.0 } }
        })
        .collect()
}

struct Out {
    last: Vec<f64>,
    alerts: Vec<u32>,
    accounts: Vec<f64>,
}

fn outputs(n: usize, np: usize) -> Out {
    let mut accounts = vec![0.0; n * np * ACCT_SIZE];
    for a in accounts.chunks_mut(ACCT_SIZE) {
        fresh_account(a);
    }
    Out { last: vec![0.0; n * np * LAST_FIELDS], alerts: vec![0; n * np * 2], accounts }
}

fn job<'a>(sets: &'a [SetParams], closes: &'a [f64], offsets: &'a [u32], ts: &'a [f64], o: &'a mut Out) -> Job<'a> {
    Job { ts: Some(ts), accounts: Some(&mut o.accounts), last: Some(&mut o.last), alerts: Some(&mut o.alerts), ..Job::new(sets, closes, offsets) }
}

/// The Rust job over the first `n` symbols on `threads` threads; seconds and the outputs.
fn cpu(sets: &[SetParams], closes: &[f64], offsets: &[u32], ts: &[f64], n: usize, threads: usize) -> (f64, Vec<Out>) {
    let per = n.div_ceil(threads);
    let parts: Vec<(usize, usize)> = (0..threads).map(|t| (t * per, ((t + 1) * per).min(n))).filter(|(a, b)| a < b).collect();
    let t0 = Instant::now();
    let outs = std::thread::scope(|sc| {
        let hs: Vec<_> = parts
            .iter()
            .map(|&(a, b)| {
                sc.spawn(move || {
                    let (j0, j1) = (offsets[a] as usize, offsets[b] as usize);
                    let offs: Vec<u32> = offsets[a..=b].iter().map(|o| o - offsets[a]).collect();
                    let mut o = outputs(b - a, sets.len());
                    run(job(sets, &closes[j0..j1], &offs, &ts[j0..j1], &mut o), Path::best()).expect("cpu job");
                    o
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect::<Vec<_>>()
    });
    (t0.elapsed().as_secs_f64(), outs)
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("numbers"));
    v[v.len() / 2]
}

fn main() {
    let lib = match atc_gpu::lib().and_then(|l| l.info().map(|i| (l, i))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("gpu_bench: no CUDA engine: {e}");
            std::process::exit(1);
        }
    };
    let (lib, info) = lib;
    let set_counts = list("sets", "64,256,1024");
    let symbol_counts = list("symbols", "1000,10000");
    let bars: usize = arg("bars", "5000").parse().expect("bars");
    let cpu_symbols: usize = arg("cpu-symbols", "32").parse().expect("cpu-symbols");
    let reps: usize = arg("reps", "3").parse().expect("reps");
    let budget: f64 = arg("budget-s", "420").parse().expect("budget-s");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_n = *symbol_counts.iter().max().expect("symbols");
    let (closes, offsets) = synthetic(max_n.max(cpu_symbols), bars);
    let ts: Vec<f64> = (0..closes.len()).map(|j| j as f64 * 86_400_000.0).collect();
    println!(
        "gpu_bench on {} ({:?}, {} SMs, {:.0} GiB, driver {}, runtime {}); {bars} bars per symbol; CPU: Rust job, {} on {cores} cores",
        info.name,
        info.kind,
        info.sm_count,
        info.total_memory as f64 / (1u64 << 30) as f64,
        info.driver_version,
        info.runtime_version,
        Path::best().name()
    );
    println!("{:>5} {:>7} | {:>9} {:>12} | {:>10} {:>10} {:>10} | {:>7} {:>7} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}", "sets", "symbols", "gpu s", "gpu Mbs/s", "cpu1 Mb/s", "cpu2 Mb/s", "cpuN Mb/s", "x cpu2", "x cpuN", "up ms", "front ms", "back ms", "down ms", "host ms", "chunks");
    let t_start = Instant::now();
    for &k in &set_counts {
        let sets = grid(k);
        // The CPU: the same job over the first cpu_symbols symbols (the rate does not depend on the
        // symbol count); its 1-thread outputs check the device's.
        let (c1, reference) = cpu(&sets, &closes, &offsets, &ts, cpu_symbols, 1);
        let (c2, _) = cpu(&sets, &closes, &offsets, &ts, cpu_symbols, 2);
        let (cn, _) = cpu(&sets, &closes, &offsets, &ts, cpu_symbols, cores);
        let cpu_bar_sets = (cpu_symbols * bars * k) as f64;
        for &n in &symbol_counts {
            if t_start.elapsed().as_secs_f64() > budget {
                println!("stopped: the --budget-s {budget} s is spent");
                return;
            }
            let (cl, of, tt) = (&closes[..n * bars], &offsets[..=n], &ts[..n * bars]);
            let mut secs = Vec::new();
            let mut times: Vec<Times> = Vec::new();
            let mut last_out = None;
            for _ in 0..reps + 1 {
                let mut o = outputs(n, k);
                let t0 = Instant::now();
                let t = lib.run(job(&sets, cl, of, tt, &mut o), &Options::default()).unwrap_or_else(|e| panic!("gpu job: {e}"));
                secs.push(t0.elapsed().as_secs_f64());
                times.push(t);
                last_out = Some(o);
            }
            // the first run allocates the buffers: a warm-up
            secs.remove(0);
            times.remove(0);
            let o = last_out.expect("a run");
            let m = cpu_symbols.min(n);
            let r = &reference[0];
            let ok = same(&o.last[..m * k * LAST_FIELDS], &r.last[..m * k * LAST_FIELDS])
                && same(&o.accounts[..m * k * ACCT_SIZE], &r.accounts[..m * k * ACCT_SIZE])
                && o.alerts[..m * k * 2] == r.alerts[..m * k * 2];
            if !ok {
                eprintln!("gpu_bench: {k} sets x {n} symbols: the device's outputs differ from the Rust job's; nothing reported");
                std::process::exit(1);
            }
            let g = median(secs.clone());
            let tm = times[secs.iter().position(|&s| s == g).unwrap_or(0)];
            let bar_sets = (n * bars * k) as f64;
            let (gr, r1, r2, rn) = (bar_sets / g, cpu_bar_sets / c1, cpu_bar_sets / c2, cpu_bar_sets / cn);
            println!(
                "{k:>5} {n:>7} | {g:>9.3} {:>12.1} | {:>10.1} {:>10.1} {:>10.1} | {:>7.1} {:>7.1} | {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6}",
                gr / 1e6,
                r1 / 1e6,
                r2 / 1e6,
                rn / 1e6,
                gr / r2,
                gr / rn,
                tm.upload_ms,
                tm.shared_ms,
                tm.per_set_ms,
                tm.download_ms,
                tm.host_ms,
                tm.chunks
            );
            println!(
                "{{\"bench\":\"gpu\",\"device\":{:?},\"kind\":\"{:?}\",\"sets\":{k},\"symbols\":{n},\"bars\":{bars},\"gpuSeconds\":{g:.4},\"runs\":{:?},\"gpuBarSetsPerSecond\":{gr:.0},\"cpuBarSetsPerSecond\":{{\"1\":{r1:.0},\"2\":{r2:.0},\"all\":{rn:.0}}},\"cores\":{cores},\"overCpu2\":{:.2},\"overCpuAll\":{:.2},\"ms\":{{\"upload\":{:.1},\"shared\":{:.1},\"perSet\":{:.1},\"download\":{:.1},\"host\":{:.1},\"total\":{:.1}}},\"chunks\":{},\"chunkBytes\":{},\"checkedSymbols\":{m}}}",
                info.name,
                info.kind,
                secs.iter().map(|s| (s * 1e4).round() / 1e4).collect::<Vec<_>>(),
                gr / r2,
                gr / rn,
                tm.upload_ms,
                tm.shared_ms,
                tm.per_set_ms,
                tm.download_ms,
                tm.host_ms,
                tm.total_ms,
                tm.chunks,
                tm.chunk_bytes
            );
        }
    }
}
