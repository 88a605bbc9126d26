// Shared by the examples: a seeded synthetic market, n symbols x m bars of tick-rounded
// random walks (closes and offsets).
pub fn synthetic(n: usize, m: usize) -> (Vec<f64>, Vec<u32>) {
    let mut seed: u64 = 7;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut closes = vec![0.0; n * m];
    let mut offs = vec![0u32; n + 1];
    for s in 0..n {
        let mut p = 50.0 + 50.0 * rnd();
        for i in 0..m {
            p *= (0.02 * (rnd() - 0.5)).exp();
            closes[s * m + i] = ((p * 100.0).round() / 100.0).max(0.01);
        }
        offs[s + 1] = ((s + 1) * m) as u32;
    }
    (closes, offs)
}

/// Symbols from $NSYM (default 1000).
pub fn symbols() -> usize {
    std::env::var("NSYM").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}
