//! Parameters (decoded from the wire vector the TypeScript layer sends), their validation, and
//! the plan derived from them: the 54 MA lengths, scaled constants, the serialised state layout.
//! Mirrors src/config/params.ts and src/engine/plan.ts; tests on both sides compare the two.

use crate::error::KernelError;

pub const N_TYPES: usize = 6;
pub const N_LEN: usize = 9;
pub const N_MA: usize = N_TYPES * N_LEN;
pub const TYPE_NAMES: [&str; N_TYPES] = ["EMA", "HMA", "WMA", "DEMA", "LSMA", "KAMA"];
pub const EMA: usize = 0;
pub const HMA: usize = 1;
pub const WMA: usize = 2;
pub const DEMA: usize = 3;
pub const LSMA: usize = 4;
pub const KAMA: usize = 5;

/// Wire vector positions (src/config/params.ts PARAM_WIRE).
pub mod wire {
    pub const SWITCHES: usize = 0;
    pub const ROBUSTNESS: usize = 1;
    pub const LAMBDA: usize = 2;
    pub const DECAY: usize = 3;
    pub const CUTOUT: usize = 4;
    pub const LENGTHS: usize = 5;
    pub const WEIGHTS: usize = 11;
    pub const LONG: usize = 17;
    pub const SHORT: usize = 18;
    pub const SIZE: usize = 19;
}

/// Profile switches (spec section 2), one bit each; src/config/profiles.ts SWITCH_BITS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switches(pub u32);

impl Switches {
    pub const HMA_HULL: u32 = 1 << 0;
    pub const CUT_AT_THRESHOLDS: u32 = 1 << 1;
    pub const KAMA_FIRST_CLOSE: u32 = 1 << 2;
    pub const LSMA_SECOND_NEWEST: u32 = 1 << 3;
    pub const DEMA_SEED_FIRST: u32 = 1 << 4;
    pub const LAYER2_RESET_A: u32 = 1 << 5;
    pub const ROUND_HALF_EVEN: u32 = 1 << 6;
    pub const ROC_RATIO: u32 = 1 << 7;
    pub const AVERAGE_NA_ZERO: u32 = 1 << 8;
    pub const ALL: u32 = (1 << 9) - 1;
    /// The Pine script (default profile).
    pub const PINE: Switches = Switches(0);
    /// The Python port.
    pub const SEED: Switches = Switches(Self::ALL);

    #[inline(always)]
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

pub const LIMIT_LAMBDA: (f64, f64) = (0.0, 1.0);
pub const LIMIT_DECAY: (f64, f64) = (0.0, 100.0);
pub const LIMIT_CUTOUT: (f64, f64) = (0.0, 100_000_000.0);
pub const LIMIT_LENGTH: (f64, f64) = (1.0, 2000.0);
pub const LIMIT_WEIGHT: (f64, f64) = (f64::MIN_POSITIVE, 1e6);
pub const LIMIT_THRESHOLD: (f64, f64) = (-1.0, 1.0);

const OFFSETS: [[usize; 4]; 3] = [[1, 2, 3, 4], [1, 2, 4, 6], [1, 3, 5, 7]];

/// Offsets (in f64) of each field inside the serialised state payload (src/engine/plan.ts).
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    pub hist: usize,
    pub ema: usize,
    pub dema_e1: usize,
    pub dema_e2: usize,
    pub dema_acc: usize,
    pub kama: usize,
    pub hull: usize,
    pub ma_prev: usize,
    pub sig: usize,
    pub eq1: usize,
    pub xsig_prev: usize,
    pub eq2: usize,
    pub a2: usize,
    pub avg_prev: usize,
    pub direction: usize,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub switches: Switches,
    pub la: f64,
    pub d: f64,
    pub cutout: u64,
    pub lens: [[usize; N_LEN]; N_TYPES],
    pub weights: [f64; N_TYPES],
    pub long_threshold: f64,
    pub short_threshold: f64,
    pub max_len: usize,
    /// closes kept in the state: max_len + 1 (KAMA's signal reads close[i - l])
    pub hist_len: usize,
    /// floor(sqrt(l)) per HMA length when the profile uses a Hull MA, else 0
    pub hull_q: [usize; N_LEN],
    pub layout: Layout,
    pub state_bytes: usize,
    pub fingerprint: u64,
    /// From this bar index on no warm-up rule applies (all MAs seeded, past the cutout).
    pub steady_bar: u64,
}

fn check(name: &str, v: f64, (lo, hi): (f64, f64), integer: bool) -> Result<f64, KernelError> {
    if !v.is_finite() {
        return Err(KernelError::param(name, format!("params.{name} must be a finite number, got {v}")));
    }
    if integer && v.fract() != 0.0 {
        return Err(KernelError::param(name, format!("params.{name} must be an integer, got {v}")));
    }
    if v < lo || v > hi {
        return Err(KernelError::param(name, format!("params.{name} must be in [{lo}, {hi}], got {v}")));
    }
    Ok(v)
}

pub fn diflen(base: usize, robustness: usize) -> [isize; N_LEN] {
    let o = OFFSETS[robustness];
    let b = base as isize;
    [
        b,
        b + o[0] as isize,
        b + o[1] as isize,
        b + o[2] as isize,
        b + o[3] as isize,
        b - o[0] as isize,
        b - o[1] as isize,
        b - o[2] as isize,
        b - o[3] as isize,
    ]
}

pub const STATE_MAGIC: u32 = 0x5343_5441; // "ATCS" little endian
pub const STATE_VERSION: u16 = 1;
pub const STATE_HEADER_BYTES: usize = 32;

pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Plan {
    /// Decode and validate a wire parameter vector.
    pub fn from_wire(w: &[f64]) -> Result<Plan, KernelError> {
        if w.len() != wire::SIZE {
            return Err(KernelError::InvalidArgument(format!(
                "params must hold {} values, got {}",
                wire::SIZE,
                w.len()
            )));
        }
        let sw = w[wire::SWITCHES];
        if !(sw >= 0.0 && sw <= Switches::ALL as f64 && sw.fract() == 0.0) {
            return Err(KernelError::param("profile", format!("unknown profile switch mask {sw}")));
        }
        let switches = Switches(sw as u32);
        let rb = w[wire::ROBUSTNESS];
        if !(rb == 0.0 || rb == 1.0 || rb == 2.0) {
            return Err(KernelError::param("robustness", format!("params.robustness must be Narrow|Medium|Wide, got {rb}")));
        }
        let robustness = rb as usize;
        let lambda = check("lambda", w[wire::LAMBDA], LIMIT_LAMBDA, false)?;
        let decay = check("decay", w[wire::DECAY], LIMIT_DECAY, false)?;
        let cutout = check("cutout", w[wire::CUTOUT], LIMIT_CUTOUT, true)? as u64;
        let long_threshold = check("longThreshold", w[wire::LONG], LIMIT_THRESHOLD, false)?;
        let short_threshold = check("shortThreshold", w[wire::SHORT], LIMIT_THRESHOLD, false)?;
        let mut lens = [[0usize; N_LEN]; N_TYPES];
        let mut weights = [0.0; N_TYPES];
        for t in 0..N_TYPES {
            let name = format!("lengths[{}]", TYPE_NAMES[t]);
            let base = check(&name, w[wire::LENGTHS + t], LIMIT_LENGTH, true)? as usize;
            let need: isize = if (t == HMA && switches.has(Switches::HMA_HULL)) || t == LSMA { 2 } else { 1 };
            let dl = diflen(base, robustness);
            let min = *dl.iter().min().unwrap_or(&0);
            if min < need {
                return Err(KernelError::param(
                    &name,
                    format!("params.{name} = {base} gives an MA of length {min}; every length must be >= {need}"),
                ));
            }
            for k in 0..N_LEN {
                lens[t][k] = dl[k] as usize;
            }
            weights[t] = check(&format!("weights[{}]", TYPE_NAMES[t]), w[wire::WEIGHTS + t], LIMIT_WEIGHT, false)?;
        }
        let max_len = lens.iter().flatten().copied().max().unwrap_or(1);
        let hist_len = max_len + 1;
        let mut hull_q = [0usize; N_LEN];
        if switches.has(Switches::HMA_HULL) {
            for k in 0..N_LEN {
                hull_q[k] = isqrt(lens[HMA][k]);
            }
        }
        let mut at = 0usize;
        let mut take = |n: usize| {
            let o = at;
            at += n;
            o
        };
        let mut layout = Layout {
            hist: take(hist_len),
            ema: take(N_LEN),
            dema_e1: take(N_LEN),
            dema_e2: take(N_LEN),
            dema_acc: take(N_LEN),
            kama: take(N_LEN),
            hull: take(hull_q.iter().sum()),
            ma_prev: take(N_MA),
            sig: take(N_MA),
            eq1: take(N_MA),
            xsig_prev: take(N_TYPES),
            eq2: take(N_TYPES),
            a2: take(N_TYPES),
            avg_prev: take(1),
            direction: take(1),
            size: 0,
        };
        layout.size = at;
        let mut bytes = Vec::with_capacity(w.len() * 8);
        for v in w {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Ok(Plan {
            switches,
            la: lambda / 1000.0,
            d: 1.0 - decay / 100.0,
            cutout,
            lens,
            weights,
            long_threshold,
            short_threshold,
            max_len,
            hist_len,
            hull_q,
            layout,
            state_bytes: STATE_HEADER_BYTES + layout.size * 8,
            fingerprint: fnv1a64(&bytes),
            steady_bar: (2 * max_len as u64).max(cutout + 1),
        })
    }

    /// The state before bar 0 (src/engine/state.ts initPayload).
    pub fn fresh_payload(&self) -> Vec<f64> {
        let l = &self.layout;
        let mut s = vec![f64::NAN; l.size];
        s[l.dema_acc..l.dema_acc + N_LEN].fill(0.0);
        if !self.switches.has(Switches::KAMA_FIRST_CLOSE) {
            s[l.kama..l.kama + N_LEN].fill(0.0);
        }
        s[l.sig..l.sig + N_MA].fill(0.0);
        s[l.a2..l.a2 + N_TYPES].fill(0.0);
        s
    }
}

pub(crate) fn isqrt(n: usize) -> usize {
    let mut r = (n as f64).sqrt() as usize;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// A wire vector for tests: defaults of the given profile.
pub fn default_wire(switches: Switches) -> Vec<f64> {
    let mut w = vec![0.0; wire::SIZE];
    w[wire::SWITCHES] = switches.0 as f64;
    w[wire::ROBUSTNESS] = 1.0;
    w[wire::LAMBDA] = 0.02;
    w[wire::DECAY] = 0.03;
    w[wire::CUTOUT] = 0.0;
    for t in 0..N_TYPES {
        w[wire::LENGTHS + t] = 28.0;
        w[wire::WEIGHTS + t] = 1.0;
    }
    w[wire::LONG] = 0.1;
    w[wire::SHORT] = -0.1;
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_expand_like_the_spec() {
        let p = Plan::from_wire(&default_wire(Switches::PINE)).unwrap();
        assert_eq!(p.lens[0], [28, 29, 30, 32, 34, 27, 26, 24, 22]);
        assert_eq!(p.max_len, 34);
        assert_eq!(p.la, 0.02 / 1000.0);
        assert_eq!(p.d, 1.0 - 0.03 / 100.0);
    }

    #[test]
    fn rejects_bad_params() {
        let mut w = default_wire(Switches::PINE);
        w[wire::LAMBDA] = f64::NAN;
        assert_eq!(Plan::from_wire(&w).unwrap_err().code(), "ATC_ERR_INVALID_PARAM");
        let mut w = default_wire(Switches::PINE);
        w[wire::LENGTHS + 2] = 5.0; // Medium: 5 - 6 < 1
        assert_eq!(Plan::from_wire(&w).unwrap_err().code(), "ATC_ERR_INVALID_PARAM");
        let mut w = default_wire(Switches::PINE);
        w[wire::WEIGHTS] = 0.0;
        assert_eq!(Plan::from_wire(&w).unwrap_err().code(), "ATC_ERR_INVALID_PARAM");
        let mut w = default_wire(Switches::PINE);
        w[wire::SWITCHES] = 1e9;
        assert!(Plan::from_wire(&w).is_err());
        assert_eq!(Plan::from_wire(&[1.0]).unwrap_err().code(), "ATC_ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn isqrt_exact() {
        for n in 1..5000 {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n);
        }
    }
}
