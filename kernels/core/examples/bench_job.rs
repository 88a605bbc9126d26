// cargo run --release --example bench_job -- [path] [sets] : a job without per-bar outputs
use atc_core::account::{fresh_account, AcctParams, ACCT_SIZE};
use atc_core::batch::Path;
use atc_core::job::{run, Job, SetParams, LAST_FIELDS};
use atc_core::plan::{default_wire, wire, Plan, Switches};
mod common;

fn main() {
    let path = std::env::args().nth(1).map(|s| Path::parse(&s).expect("path")).unwrap_or(Path::best());
    let nsets: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let acct = std::env::var("ACCT").is_ok();
    let (n, m) = (common::symbols(), 5000usize);
    let (closes, offs) = common::synthetic(n, m);
    let ts: Vec<f64> = (0..n*m).map(|j| j as f64).collect();
    let sets: Vec<SetParams> = (0..nsets).map(|k| { let mut w = default_wire(Switches::PINE); w[wire::LAMBDA] = 0.01 * (1 + k % 4) as f64; w[wire::CUTOUT] = (k / 16) as f64 * 10.0; SetParams { plan: Plan::from_wire(&w).unwrap(), acct: AcctParams::DEFAULT } }).collect();
    let reps: usize = std::env::var("REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut last = vec![0.0; n * nsets * LAST_FIELDS];
    for _ in 0..reps {
        let mut accounts = vec![0.0; n * nsets * ACCT_SIZE];
        for a in accounts.chunks_mut(ACCT_SIZE) { fresh_account(a); }
        let t = std::time::Instant::now();
        run(Job { ts: if acct { Some(&ts) } else { None }, accounts: if acct { Some(&mut accounts) } else { None }, last: Some(&mut last), ..Job::new(&sets, &closes, &offs) }, path).unwrap();
        let dt = t.elapsed().as_secs_f64();
        println!("{} sets={} {:.0} ms {:.2} M set-bars/s", path.name(), nsets, dt*1e3, (n*m*nsets) as f64 / dt / 1e6);
    }
}
