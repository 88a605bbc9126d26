// cargo run --release --example bench_supertrend -- [path] : raw Supertrend kernel speed without Node
use atc_core::batch::{Path, States};
use atc_core::supertrend::{run, StInput, StOutputs, StParams};
mod common;

fn main() {
    let path = std::env::args().nth(1).map(|s| Path::parse(&s).expect("path")).unwrap_or(Path::best());
    let (n, m) = (common::symbols(), 5000usize);
    let (close, offsets) = common::synthetic(n, m);
    // a high and a low around each close, from the close's own digits (deterministic, no RNG)
    let high: Vec<f64> = close.iter().map(|c| c * (1.0 + (c * 7.0).fract() * 0.01)).collect();
    let low: Vec<f64> = close.iter().map(|c| c * (1.0 - (c * 13.0).fract() * 0.01)).collect();
    let p = StParams::new(3.0, 10.0).unwrap();
    let (mut st, mut atr, mut dir, mut trade) = (vec![0.0; n * m], vec![0.0; n * m], vec![0i8; n * m], vec![0i8; n * m]);
    let reps: usize = std::env::var("REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    for _ in 0..reps {
        let t = std::time::Instant::now();
        let out = StOutputs { supertrend: Some(&mut st), atr: Some(&mut atr), direction: Some(&mut dir), trade: Some(&mut trade) };
        run(&p, StInput { high: &high, low: &low, close: &close, offsets: &offsets }, States::Fresh, out, path).unwrap();
        let dt = t.elapsed().as_secs_f64();
        println!("{} {:.0} ms {:.1} M/s", path.name(), dt * 1e3, (n * m) as f64 / dt / 1e6);
    }
}
