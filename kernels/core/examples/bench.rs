// cargo run --release --example bench -- [path] : raw kernel speed without Node
use atc_core::batch::{step, Outputs, Path, States};
use atc_core::plan::{default_wire, Plan, Switches};
fn main() {
    let path = std::env::args().nth(1).map(|s| Path::parse(&s).expect("path")).unwrap_or(Path::best());
    let n: usize = std::env::var("NSYM").ok().and_then(|s| s.parse().ok()).unwrap_or(1000); let m = 5000usize;
    let mut seed: u64 = 7;
    let mut rnd = || { seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (seed >> 11) as f64 / (1u64 << 53) as f64 };
    let mut closes = vec![0.0; n * m];
    let mut offs = vec![0u32; n + 1];
    for s in 0..n { let mut p = 50.0 + 50.0 * rnd(); for i in 0..m { p *= (0.02 * (rnd() - 0.5)).exp(); closes[s*m+i] = ((p*100.0).round()/100.0).max(0.01); } offs[s+1] = ((s+1)*m) as u32; }
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
