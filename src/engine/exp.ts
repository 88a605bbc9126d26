// A deterministic exp(x) built from IEEE +,-,*,floor only, so that the TS and Rust engines
// (and any machine's libm) give the same bits. Mirrors kernels/core/src/exp.rs exactly:
// Cody-Waite reduction x = k*ln2 + r with |r| <= ln2/2, Taylor polynomial of degree 13 in
// Horner form (truncation < 1e-17 relative), scaled by 2^k in two exact power-of-two steps.
// Accuracy is about 1 ulp; the spec's g = e^(La*(i-cutout)) needs far less than that.

const INV_LN2 = 1.4426950408889634;
const LN2_HI = 6.93147180369123816490e-1; // low 32 bits zero: k * LN2_HI is exact for |k| < 2^20
const LN2_LO = 1.90821492927058770002e-10;
const OVERFLOW = 709.782712893384;
const UNDERFLOW = -745.1332191019412;

// 1/n! for n = 13..2, then 1, 1.
const C = [
  1 / 6227020800, 1 / 479001600, 1 / 39916800, 1 / 3628800, 1 / 362880, 1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24,
  1 / 6, 1 / 2, 1, 1,
];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** 2^j for integer j in [-1022, 1023], built from its bits. */
function pow2(j: number): number {
  u32[0] = 0;
  u32[1] = (j + 1023) << 20;
  return f64[0] as number;
}

export function detExp(x: number): number {
  if (x !== x) return x;
  if (x > OVERFLOW) return Infinity;
  if (x < UNDERFLOW) return 0;
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  let p = C[0] as number;
  for (let n = 1; n < C.length; n++) p = p * r + (C[n] as number);
  const k1 = Math.floor(k * 0.5);
  return p * pow2(k1) * pow2(k - k1);
}
