//! A deterministic exp(x) from IEEE +, -, *, floor and exact power-of-two scaling, so that
//! every SIMD path, the TypeScript engine (src/engine/exp.ts, the same steps) and any libm
//! give the same bits. Cody-Waite reduction x = k*ln2 + r, |r| <= ln2/2; Taylor polynomial of
//! degree 13 in Horner form; 2^k applied in two exact steps. About 1 ulp.

use crate::lanes::V;

const INV_LN2: f64 = 1.4426950408889634;
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const OVERFLOW: f64 = 709.782712893384;
const UNDERFLOW: f64 = -745.1332191019412;

/// 1/n! for n = 13..2, then 1, 1 (each a correctly rounded quotient, as in the TS source).
const C: [f64; 14] = [
    1.0 / 6227020800.0,
    1.0 / 479001600.0,
    1.0 / 39916800.0,
    1.0 / 3628800.0,
    1.0 / 362880.0,
    1.0 / 40320.0,
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    1.0 / 2.0,
    1.0,
    1.0,
];

#[inline(always)]
fn pow2(j: f64) -> f64 {
    // j is an integer in [-538, 512] for in-range x, so the exponent field is in range.
    f64::from_bits(((j as i64 + 1023) as u64 & 0x7ff) << 52)
}

#[inline(always)]
pub fn det_exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    if x < UNDERFLOW {
        return 0.0;
    }
    let k = (x * INV_LN2 + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = C[0];
    for c in &C[1..] {
        p = p * r + *c;
    }
    let k1 = (k * 0.5).floor();
    p * pow2(k1) * pow2(k - k1)
}

/// `det_exp` on every lane, branch-free: the same operations in the same order, with the
/// range checks applied as selects at the end.
#[inline(always)]
pub fn det_exp_lanes<const W: usize>(x: V<W>) -> V<W> {
    let k = x.mul(V::splat(INV_LN2)).add(V::splat(0.5)).floor();
    let r = x.sub(k.mul(V::splat(LN2_HI))).sub(k.mul(V::splat(LN2_LO)));
    let mut p = V::splat(C[0]);
    for c in &C[1..] {
        p = p.mul(r).add(V::splat(*c));
    }
    let k1 = k.mul(V::splat(0.5)).floor();
    // Out-of-range lanes compute garbage scale factors here (`as i64` saturates, no UB) and
    // are replaced below.
    let y = p.mul(k1.map(pow2)).mul(k.sub(k1).map(pow2));
    let y = x.gt(V::splat(OVERFLOW)).select(V::splat(f64::INFINITY), y);
    let y = x.lt(V::splat(UNDERFLOW)).select(V::splat(0.0), y);
    x.is_nan().select(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm() {
        let mut worst = 0u64;
        for n in 0..200_000 {
            let x = -700.0 + (n as f64) * 0.0070713;
            let a = det_exp(x);
            let b = x.exp();
            let ulps = (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
            worst = worst.max(ulps);
        }
        assert!(worst <= 2, "worst ulp distance {worst}");
    }

    #[test]
    fn lanes_equal_scalar() {
        let xs = [0.0, 1e-300, 0.5, -0.5, 700.0, 709.7, 709.8, 800.0, -744.0, -746.0, f64::NAN, 3.7e-3, 123.456];
        for x in xs {
            let v = det_exp_lanes(V([x, 1.0, x, -x]));
            for (a, b) in [(v.0[0], det_exp(x)), (v.0[2], det_exp(x)), (v.0[3], det_exp(-x)), (v.0[1], det_exp(1.0))] {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "x = {x}");
            }
        }
    }

    #[test]
    fn edges() {
        assert_eq!(det_exp(0.0), 1.0);
        assert_eq!(det_exp(1000.0), f64::INFINITY);
        assert_eq!(det_exp(-1000.0), 0.0);
        assert!(det_exp(f64::NAN).is_nan());
        assert!(det_exp(709.7).is_finite());
    }
}
