//! Seeded generators shared by the kernel's tests and the CUDA engine's parity tests (crate
//! atc-gpu): random walks on tick grids, random parameter sets and sweeps. No crates.

use crate::account::AcctParams;
use crate::job::SetParams;
use crate::plan::{default_wire, wire, Plan, Switches};

/// splitmix64: a tiny seeded generator (no crates).
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Random walks on a tick grid (so closes often equal an MA exactly), some with flat stretches.
pub fn series(rng: &mut Rng, n_series: usize, max_len: usize) -> (Vec<f64>, Vec<u32>) {
    let mut closes = Vec::new();
    let mut offsets = vec![0u32];
    for _ in 0..n_series {
        let n = 1 + rng.below(max_len);
        let tick = [0.01, 0.001, 1e-6][rng.below(3)];
        let mut p = 10.0 + 100.0 * rng.unit();
        for _ in 0..n {
            if rng.below(10) > 1 {
                p *= (0.02 * rng.normal()).exp();
            }
            let q = ((p / tick).round() * tick).max(tick);
            closes.push(q);
        }
        offsets.push(closes.len() as u32);
    }
    (closes, offsets)
}

/// A valid wire vector of a random profile, robustness, lambda, decay, cutout, lengths, weights.
pub fn random_wire(rng: &mut Rng) -> Vec<f64> {
    let mut w = default_wire(if rng.below(2) == 0 { Switches::PINE } else { Switches::SEED });
    w[wire::ROBUSTNESS] = rng.below(3) as f64;
    w[wire::LAMBDA] = [0.0, 0.02, 0.05, 0.5][rng.below(4)];
    w[wire::DECAY] = [0.0, 0.03, 0.1, 1.0][rng.below(4)];
    w[wire::CUTOUT] = [0.0, 0.0, 7.0, 60.0][rng.below(4)] as f64;
    for t in 0..6 {
        w[wire::LENGTHS + t] = (9 + rng.below(30)) as f64;
        w[wire::WEIGHTS + t] = 0.1 + 2.0 * rng.unit();
    }
    w
}

/// Sets that share some specs and differ in everything else (one profile).
pub fn sweep_sets(rng: &mut Rng, n: usize) -> Vec<SetParams> {
    let base = random_wire(rng);
    (0..n)
        .map(|_| {
            let mut w = base.clone();
            w[wire::LAMBDA] = [0.0, 0.02, 0.05, 0.5][rng.below(4)];
            w[wire::DECAY] = [0.0, 0.03, 0.1, 1.0][rng.below(4)];
            w[wire::CUTOUT] = [0.0, 0.0, 7.0, 60.0][rng.below(4)];
            w[wire::LONG] = [0.1, 0.0, 0.3][rng.below(3)];
            w[wire::SHORT] = [-0.1, 0.0, -0.3][rng.below(3)];
            for t in 0..6 {
                if rng.below(3) == 0 {
                    w[wire::LENGTHS + t] = (9 + rng.below(30)) as f64;
                }
                w[wire::WEIGHTS + t] = 0.1 + 2.0 * rng.unit();
            }
            let acct = AcctParams { mode: rng.below(3) as u8, fee_bps: [0.0, 1.0, 5.0][rng.below(3)], slippage_bps: [0.0, 2.5][rng.below(2)] };
            SetParams { plan: Plan::from_wire(&w).unwrap(), acct }
        })
        .collect()
}

/// A seeded synthetic market: n symbols x m bars of random walks rounded to cents (closes and
/// offsets); the kernel benchmarks' data.
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
