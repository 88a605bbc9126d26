// cos(x) as fdlibm computes it (the algorithm of Sun's fdlibm 5.3: argument reduction by pi/2 in
// up to three parts, then degree-13/14 polynomials on [-pi/4, pi/4]), in plain IEEE arithmetic.
//
// Why not Math.cos: V8 computes Math.cos with fdlibm in Node 20, but V8 built with
// V8_USE_LIBM_TRIG_FUNCTIONS (newer releases; V8's src/base/ieee754.h) uses glibc's cos, which
// rounds 3 % of the generator's arguments differently (glibc 2.36: 66,434 of 2,000,000 uniform
// arguments in [0, 2 pi)). Math.log and Math.exp stay fdlibm's. The synthetic markets promise the
// same bars for the same seed on every machine, so their Gaussians use this function.
// Arguments up to 2^19 * pi/2 in magnitude (the generator's are in [0, 2 pi)); larger ones would
// need fdlibm's multi-precision reduction and are handed to Math.cos.

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // the high word's index

function high(x: number): number {
  f64[0] = x;
  return i32[HI] as number;
}

/** the double with high word hi and low word 0 */
function fromHigh(hi: number): number {
  i32[HI] = hi;
  i32[1 - HI] = 0;
  return f64[0] as number;
}

const C1 = 4.16666666666666019037e-2;
const C2 = -1.38888888888741095749e-3;
const C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7;
const C5 = 2.0875723212981748279e-9;
const C6 = -1.13596475577881948265e-11;

/** cos(x + y) for |x| <= pi/4, y the tail of x */
function kernelCos(x: number, y: number): number {
  const ix = high(x) & 0x7fffffff;
  if (ix < 0x3e400000) return 1; // |x| < 2^-27 (fdlibm's (int)x test there only raises inexact)
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1 - (0.5 * z - (z * r - x * y)); // |x| < 0.3
  // 1 - qx and 0.5 z - qx are exact: qx is |x|/4 cut to its high word, or 0.28125
  const qx = ix > 0x3fe90000 ? 0.28125 : fromHigh(ix - 0x00200000);
  const hz = 0.5 * z - qx;
  const a = 1 - qx;
  return a - (hz - (z * r - x * y));
}

const S1 = -1.66666666666666324348e-1;
const S2 = 8.33333333332248946124e-3;
const S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6;
const S5 = -2.50507602534068634195e-8;
const S6 = 1.58969099521155010221e-10;

/** sin(x + y) for |x| <= pi/4, y the tail of x (never exactly 0 here: fdlibm's iy = 1 form) */
function kernelSin(x: number, y: number): number {
  const ix = high(x) & 0x7fffffff;
  if (ix < 0x3e400000) return x; // |x| < 2^-27
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

// pi/2 in 33-bit parts with their tails, and 2/pi
const INVPIO2 = 6.36619772367581382433e-1;
const PIO2_1 = 1.57079632673412561417;
const PIO2_1T = 6.07710050650619224932e-11;
const PIO2_2 = 6.0771005063039659766e-11;
const PIO2_2T = 2.02226624879595063154e-21;
const PIO2_3 = 2.0222662487111664558e-21;
const PIO2_3T = 8.47842766036889956997e-32;
/** high words of n * pi/2, n = 1..32: there the first reduction may cancel */
const NPIO2_HW = [
  0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb, 0x401f6a7a, 0x4022d97c, 0x4025fdbb, 0x402921fb, 0x402c463a, 0x402f6a7a, 0x4031475c, 0x4032d97c, 0x40346b9c,
  0x4035fdbb, 0x40378fdb, 0x403921fb, 0x403ab41b, 0x403c463a, 0x403dd85a, 0x403f6a7a, 0x40407e4c, 0x4041475c, 0x4042106c, 0x4042d97c, 0x4043a28c, 0x40446b9c,
  0x404534ac, 0x4045fdbb, 0x4046c6cb, 0x40478fdb, 0x404858eb, 0x404921fb,
];

/** cos(x), bit for bit as fdlibm (and V8 up to 11.3) computes it, for |x| <= 2^19 * pi/2. */
export function cos(x: number): number {
  const hx = high(x);
  const ix = hx & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelCos(x, 0); // |x| <= pi/4
  if (ix > 0x413921fb) return Math.cos(x); // beyond the medium range (and NaN, infinities)
  // x = n * pi/2 + (y0 + y1)
  let n: number;
  let y0: number;
  let y1: number;
  if (ix < 0x4002d97c) {
    // |x| < 3 pi/4: n = +-1
    const s = hx > 0 ? 1 : -1;
    let z = x - s * PIO2_1;
    if (ix !== 0x3ff921fb) {
      y0 = z - s * PIO2_1T;
      y1 = z - y0 - s * PIO2_1T;
    } else {
      // near pi/2: 33 + 33 + 53 bits of pi
      z -= s * PIO2_2;
      y0 = z - s * PIO2_2T;
      y1 = z - y0 - s * PIO2_2T;
    }
    n = s;
  } else {
    const t0 = Math.abs(x);
    n = Math.trunc(t0 * INVPIO2 + 0.5);
    let r = t0 - n * PIO2_1;
    let w = n * PIO2_1T; // good to 85 bits
    y0 = r - w;
    if (!(n < 32 && ix !== NPIO2_HW[n - 1])) {
      const j = ix >> 20;
      if (j - ((high(y0) >>> 20) & 0x7ff) > 16) {
        // a second round, good to 118 bits
        let t = r;
        w = n * PIO2_2;
        r = t - w;
        w = n * PIO2_2T - (t - r - w);
        y0 = r - w;
        if (j - ((high(y0) >>> 20) & 0x7ff) > 49) {
          // a third, 151 bits
          t = r;
          w = n * PIO2_3;
          r = t - w;
          w = n * PIO2_3T - (t - r - w);
          y0 = r - w;
        }
      }
    }
    y1 = r - y0 - w;
    if (hx < 0) {
      y0 = -y0;
      y1 = -y1;
      n = -n;
    }
  }
  switch (n & 3) {
    case 0:
      return kernelCos(y0, y1);
    case 1:
      return -kernelSin(y0, y1);
    case 2:
      return -kernelCos(y0, y1);
    default:
      return kernelSin(y0, y1);
  }
}
