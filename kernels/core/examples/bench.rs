// cargo run --release --example bench -- [path] : raw kernel speed without Node
use atc_core::batch::{step, Outputs, Path, States};
use atc_core::plan::{default_wire, Plan, Switches};
mod common;

fn main() {
    let path = std::env::args().nth(1).map(|s| Path::parse(&s).expect("path")).unwrap_or(Path::best());
    let (n, m) = (common::symbols(), 5000usize);
    let (closes, offs) = common::synthetic(n, m);
    let plan = Plan::from_wire(&default_wire(Switches::PINE)).unwrap();
    let mut backing = vec![0.0; 13 * n * m + 8]; let off = if std::env::var("MISALIGN").is_ok() { 2 } else { (64 - (backing.as_ptr() as usize % 64)) % 64 / 8 }; let values = &mut backing[off..off + 13 * n * m]; if std::env::var("MISALIGN").is_ok() { eprintln!("aligned offset {off}"); } let mut dir = vec![0i8; n*m]; let mut al = vec![0i8; n*m];
    let reps: usize = std::env::var("REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    for _ in 0..reps {
        let t = std::time::Instant::now();
        step(&plan, &closes, &offs, Outputs { values: &mut *values, stride: n*m, direction: &mut dir, alerts: &mut al }, States::Fresh, path).unwrap();
        let dt = t.elapsed().as_secs_f64();
        println!("{} {:.0} ms {:.2} M/s", path.name(), dt*1e3, (n*m) as f64 / dt / 1e6);
    }
}
