// The arithmetic of the ATC kernel for one symbol (and one parameter set), as __host__ __device__
// functions: the device build runs them on the GPU, the host build (compat.h) on the CPU. Each
// function repeats the floating-point operations of the Rust kernel (kernels/core/src/front.rs,
// back.rs, exp.rs, account.rs) in the same order, so that with no contraction (nvcc --fmad=false,
// g++ -ffp-contract=off), no fast-math and IEEE division the bits are the same. Where the Rust
// kernel has a "steady" variant (fewer selects once past warm-up, proven equal there), only the
// general variant is written here: it is exact on every bar.
//
// NaN is Pine's na. Crossover signals are kept as 2-bit codes (0 -> 0.0, 1 -> +1.0, 2 -> -1.0),
// nine per 32-bit word (one word per MA spec and bar), which is every value a signal can take in
// a state this kernel writes (engine.cu refuses restored states holding anything else).
#ifndef ATC_CUDA_MATH_CUH
#define ATC_CUDA_MATH_CUH

#include "compat.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

namespace atc {

constexpr uint32_t N_TYPES = 6, N_LEN = 9, N_MA = 54;
enum : uint32_t { EMA, HMA, WMA, DEMA, LSMA, KAMA };

// Profile switches (kernels/core/src/plan.rs Switches).
namespace sw {
constexpr uint32_t HMA_HULL = 1u << 0, CUT_AT_THRESHOLDS = 1u << 1, KAMA_FIRST_CLOSE = 1u << 2,
                   LSMA_SECOND_NEWEST = 1u << 3, DEMA_SEED_FIRST = 1u << 4, LAYER2_RESET_A = 1u << 5,
                   ROUND_HALF_EVEN = 1u << 6, ROC_RATIO = 1u << 7, AVERAGE_NA_ZERO = 1u << 8;
}

HD double from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

HD uint64_t to_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

// ---- exp.rs: det_exp, with its constants as exact hex literals -------------------------------

// j is an integer in [-538, 512] for in-range x, so the exponent field is in range.
HD double pow2(double j) { return from_bits((uint64_t)(((int64_t)j + 1023) & 0x7ff) << 52); }

HD double det_exp(double x) {
  if (x != x) return x;
  if (x > 0x1.62e42fefa39efp+9) return INFINITY;  // 709.782712893384
  if (x < -0x1.74910d52d3052p+9) return 0.0;      // -745.1332191019412
  const double k = floor(x * 0x1.71547652b82fep+0 + 0.5);  // 1/ln 2
  const double r = x - k * 0x1.62e42fee00000p-1 - k * 0x1.a39ef35793c76p-33;  // ln 2 hi, lo
  // 1/n! for n = 13..2, then 1, 1 (Horner)
  double p = 0x1.6124613a86d09p-33;
  p = p * r + 0x1.1eed8eff8d898p-29;
  p = p * r + 0x1.ae64567f544e4p-26;
  p = p * r + 0x1.27e4fb7789f5cp-22;
  p = p * r + 0x1.71de3a556c734p-19;
  p = p * r + 0x1.a01a01a01a01ap-16;
  p = p * r + 0x1.a01a01a01a01ap-13;
  p = p * r + 0x1.6c16c16c16c17p-10;
  p = p * r + 0x1.1111111111111p-7;
  p = p * r + 0x1.5555555555555p-5;
  p = p * r + 0x1.5555555555555p-3;
  p = p * r + 0x1.0p-1;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const double k1 = floor(k * 0.5);
  return p * pow2(k1) * pow2(k - k1);
}

// ---- signal codes ----------------------------------------------------------------------------

HD uint32_t code_of(uint32_t word, uint32_t k) { return (word >> (2 * k)) & 3u; }
HD double signal_of(uint32_t code) { return (double)((int)(code & 1u) - (int)(code >> 1)); }
// A signal value as a code; callers pass only +0.0, +1.0 or -1.0.
HD uint32_t code_for(double s) { return s > 0.0 ? 1u : (s < 0.0 ? 2u : 0u); }

// ---- front.rs: one MA spec (a type and its nine lengths) of one symbol -------------------------

constexpr double KAMA_FAST = 0.666, KAMA_SLOW = 0.064;

// A thread's window of scratch memory: element e at p[e * stride] (threads interleaved, so that
// a warp touching the same element touches consecutive addresses).
struct Ring {
  double *p;
  size_t stride;
  HD double &operator[](uint32_t e) const { return p[(size_t)e * stride]; }
};

// Doubles of scratch one spec needs per symbol: the history (L + 1 closes), three prefix chains
// of L slots (sum x, sum p*x, sum |dx|), and the seed profile's Hull rings.
HD uint32_t front_scratch(uint32_t longest, const uint32_t q[N_LEN]) {
  uint32_t n = (longest + 1) + 3 * longest;
  for (uint32_t k = 0; k < N_LEN; k++) n += q[k];
  return n;
}

// Doubles of a spec's final state: ma_prev, sig, st, st2, acc (9 each), the Hull rings.
HD uint32_t front_state_len(const uint32_t q[N_LEN]) {
  uint32_t n = 5 * N_LEN;
  for (uint32_t k = 0; k < N_LEN; k++) n += q[k];
  return n;
}

// The history and the prefix chains are those of front.rs, kept per spec with depth L (its
// longest length) instead of once per symbol with the job's longest length: a chain's value does
// not depend on the depth, so each window gets the same bits. Ring positions count steps of this
// job (step -1 = the last restored bar), so that every thread of a warp is at the same slot.
struct Front {
  uint32_t type, switches, L, H;
  uint32_t lens[N_LEN], q[N_LEN], qoff[N_LEN], qpos[N_LEN];
  Ring hist, y, py, nz, hull;
  uint32_t hpos, cpos;
  bool chains, chain_py, chain_nz;
  double st[N_LEN], st2[N_LEN], acc[N_LEN], ma_prev[N_LEN];
  uint32_t sig;

  // `scratch` has front_scratch() elements.
  HD void init(uint32_t t, uint32_t switches_, const uint32_t ls[N_LEN], const uint32_t hq[N_LEN], Ring scratch) {
    type = t;
    switches = switches_;
    L = 1;
    for (uint32_t k = 0; k < N_LEN; k++) {
      lens[k] = ls[k];
      q[k] = hq[k];
      if (ls[k] > L) L = ls[k];
    }
    H = L + 1;
    hist = scratch;
    y = Ring{scratch.p + (size_t)H * scratch.stride, scratch.stride};
    py = Ring{y.p + (size_t)L * scratch.stride, scratch.stride};
    nz = Ring{py.p + (size_t)L * scratch.stride, scratch.stride};
    hull = Ring{nz.p + (size_t)L * scratch.stride, scratch.stride};
    uint32_t at = 0;
    for (uint32_t k = 0; k < N_LEN; k++) {
      qoff[k] = at;
      at += q[k];
    }
    const bool lsma_pine = t == LSMA && !(switches & sw::LSMA_SECOND_NEWEST);
    const bool sma = t == HMA && !(switches & sw::HMA_HULL);
    chains = t == EMA || t == DEMA || t == KAMA || sma || lsma_pine;
    chain_py = lsma_pine;
    chain_nz = t == KAMA;
  }

  // x[i - k] (k <= L) after this bar's close is in.
  HD double back(uint32_t k) const { return hist[hpos >= k ? hpos - k : hpos + H - k]; }
  // The slot of the chain of the window of length l ending now (the chain of age l - 1).
  HD uint32_t window(uint32_t l) const { return cpos >= l - 1 ? cpos - (l - 1) : cpos + L - (l - 1); }

  // Restore: `bars` seen; `h` the last `hn` (>= H) closes oldest first (NULL: none, bar 0);
  // `p` a state payload with layout `lay` holding this spec (NULL: the fresh state).
  HD void load(uint64_t bars, const double *h, uint32_t hn, const double *p, const uint32_t *lay) {
    const double nan = NAN;
    for (uint32_t q_ = 0; q_ < H; q_++) hist[H - 1 - q_] = h ? h[hn - 1 - q_] : nan;  // x[bars-1-q] at slot -1-q
    hpos = H - 1;
    cpos = L - 1;
    // (EMA and DEMA past their seed bars never read a chain again)
    if (chains && !((type == EMA || type == DEMA) && bars >= L)) {
      // Chain of age a (started a bars before the last one) at slot -1-a; rebuilt oldest first.
      for (uint32_t a = 0; a < L; a++) {
        double sy = nan, spy = nan, snz = nan;
        if (bars > 0 && (uint64_t)a < bars) {
          sy = 0.0;
          spy = 0.0;
          snz = 0.0;
          for (uint32_t p_ = 0; p_ <= a; p_++) {
            const double xv = hist[H - 1 - (a - p_)];
            sy = sy + xv;
            spy = spy + (double)p_ * xv;
            snz = snz + fabs(xv - hist[H - 1 - (a - p_ + 1)]);
          }
        }
        y[L - 1 - a] = sy;
        py[L - 1 - a] = spy;
        nz[L - 1 - a] = snz;
      }
    }
    const uint32_t m0 = type * N_LEN;
    sig = 0;
    for (uint32_t k = 0; k < N_LEN; k++) {
      st[k] = nan;
      st2[k] = nan;
      acc[k] = nan;
      if (p) {
        ma_prev[k] = p[lay[ATC_L_MA_PREV] + m0 + k];
        sig |= code_for(p[lay[ATC_L_SIG] + m0 + k]) << (2 * k);
        if (type == EMA) st[k] = p[lay[ATC_L_EMA] + k];
        if (type == DEMA) {
          st[k] = p[lay[ATC_L_DEMA_E1] + k];
          st2[k] = p[lay[ATC_L_DEMA_E2] + k];
          acc[k] = p[lay[ATC_L_DEMA_ACC] + k];
        }
        if (type == KAMA) st[k] = p[lay[ATC_L_KAMA] + k];
      } else {
        ma_prev[k] = nan;
        if (type == DEMA) acc[k] = 0.0;
        if (type == KAMA && !(switches & sw::KAMA_FIRST_CLOSE)) st[k] = 0.0;
      }
      // Hull ring k: its q values oldest first in the payload; the newest at slot q - 1.
      for (uint32_t kk = 0; kk < q[k]; kk++) hull[qoff[k] + kk] = p ? p[lay[ATC_L_HULL] + qoff[k] + kk] : nan;
      qpos[k] = q[k] - 1;
    }
  }

  // Weighted MA of the last l closes, newest first (front.rs wma9, per length).
  HD double wma(uint32_t l) const {
    double a = 0.0, w = (double)l;
    uint32_t at = hpos;
    for (uint32_t kk = 0; kk < l; kk++) {
      a = a + w * hist[at];
      w = w - 1.0;
      at = at == 0 ? H - 1 : at - 1;
    }
    const double lf = (double)l;
    return a / (lf * (lf + 1.0) / 2.0);
  }

  // One bar: close x, previous close xp, bar index bi. Returns the nine signals after it.
  HD uint32_t step(double x, double xp, double bi) {
    hpos = hpos + 1 == H ? 0 : hpos + 1;
    hist[hpos] = x;
    // EMA and DEMA read a chain only at their seed bar l - 1 < L.
    if (chains && (bi < (double)L || !(type == EMA || type == DEMA))) {
      cpos = cpos + 1 == L ? 0 : cpos + 1;
      y[cpos] = 0.0;
      py[cpos] = 0.0;
      nz[cpos] = 0.0;
      const double nx = fabs(x - xp);
      for (uint32_t j = 0; j < L; j++) {
        y[j] = y[j] + x;
        if (chain_py) py[j] = py[j] + (double)(j <= cpos ? cpos - j : cpos + L - j) * x;
        if (chain_nz) nz[j] = nz[j] + nx;
      }
    }
    double ma[N_LEN];
    const double nan = NAN;
    switch (type) {
      case EMA:
        for (uint32_t k = 0; k < N_LEN; k++) {
          const double lf = (double)lens[k], a = 2.0 / (lf + 1.0);
          double e = a * x + (1.0 - a) * st[k];
          if (bi == lf - 1.0) e = y[window(lens[k])] / lf;
          st[k] = e;
          ma[k] = e;
        }
        break;
      case HMA:
        if (switches & sw::HMA_HULL) {
          for (uint32_t k = 0; k < N_LEN; k++) {
            const uint32_t hl = lens[k] / 2 > 1 ? lens[k] / 2 : 1;
            const double raw = 2.0 * wma(hl) - wma(lens[k]);
            const uint32_t qk = q[k];
            qpos[k] = qpos[k] + 1 == qk ? 0 : qpos[k] + 1;
            hull[qoff[k] + qpos[k]] = raw;
            double a = 0.0, w = (double)qk;
            uint32_t at = qpos[k];
            for (uint32_t kk = 0; kk < qk; kk++) {
              a = a + w * hull[qoff[k] + at];
              w = w - 1.0;
              at = at == 0 ? qk - 1 : at - 1;
            }
            const double qf = (double)qk;
            ma[k] = a / (qf * (qf + 1.0) / 2.0);
          }
        } else {
          for (uint32_t k = 0; k < N_LEN; k++) ma[k] = y[window(lens[k])] / (double)lens[k];
        }
        break;
      case WMA:
        for (uint32_t k = 0; k < N_LEN; k++) ma[k] = wma(lens[k]);
        break;
      case DEMA:
        for (uint32_t k = 0; k < N_LEN; k++) {
          const double lf = (double)lens[k], a = 2.0 / (lf + 1.0), b = 1.0 - a;
          double e1 = a * x + b * st[k];
          if (bi == lf - 1.0) e1 = y[window(lens[k])] / lf;
          st[k] = e1;
          double e2 = a * e1 + b * st2[k];
          if (!(switches & sw::DEMA_SEED_FIRST)) {
            // Pine: the inner ema skips e1's na, so its seed is mean(e1[l-1 .. 2l-2]).
            const double last = 2.0 * lf - 2.0;
            if (bi >= lf - 1.0 && bi <= last) acc[k] = acc[k] + e1;
            e2 = bi < last ? nan : (bi == last ? acc[k] / lf : e2);
          } else {
            e2 = bi < lf - 1.0 ? nan : (bi == lf - 1.0 ? e1 : e2);
          }
          st2[k] = e2;
          ma[k] = 2.0 * e1 - e2;
        }
        break;
      case LSMA:
        for (uint32_t k = 0; k < N_LEN; k++) {
          const uint32_t l = lens[k];
          const double lf = (double)l;
          if (!(switches & sw::LSMA_SECOND_NEWEST)) {
            // least squares over x = 0 (oldest) .. l-1 (newest), value at the newest
            const double sx = lf * (lf - 1.0) / 2.0;
            const double sx2 = (lf - 1.0) * lf * (2.0 * lf - 1.0) / 6.0;
            const double den = lf * sx2 - sx * sx;
            const uint32_t c = window(l);
            const double m = (lf * py[c] - sx * y[c]) / den;
            const double bb = (y[c] - m * sx) / lf;
            ma[k] = bb + m * (lf - 1.0);
          } else {
            // pandas_ta 0.3.14b linreg: x = 1..l, value m*(l-1) + b
            double ys = 0.0, xys = 0.0, w = 1.0;
            for (uint32_t kk = l; kk-- > 0;) {
              const double xv = back(kk);
              ys = ys + xv;
              xys = xys + w * xv;
              w = w + 1.0;
            }
            const double xsum = 0.5 * lf * (lf + 1.0);
            const double x2sum = xsum * (2.0 * lf + 1.0) / 3.0;
            const double div = lf * x2sum - xsum * xsum;
            const double m = (lf * xys - xsum * ys) / div;
            const double bb = (ys * x2sum - xsum * xys) / div;
            ma[k] = m * (lf - 1.0) + bb;
          }
        }
        break;
      default:  // KAMA (noise is NaN until bar l, which makes the ratio 0 as Pine's `na != 0` does)
        for (uint32_t k = 0; k < N_LEN; k++) {
          const double noise = nz[window(lens[k])];
          const double signal = fabs(x - back(lens[k]));
          const double ratio = noise > 0.0 ? signal / noise : 0.0;
          const double t = ratio * (KAMA_FAST - KAMA_SLOW) + KAMA_SLOW;
          const double smooth = t * t;
          const double kp = st[k];
          double kv = kp + smooth * (x - kp);
          if (switches & sw::KAMA_FIRST_CLOSE) kv = bi == 0.0 ? x : (bi < (double)lens[k] ? kp : kv);
          st[k] = kv;
          ma[k] = kv;
        }
        break;
    }
    // Crossovers (spec 1.6): the persistent signal flips on a cross of close over the MA.
    uint32_t w = 0;
    for (uint32_t k = 0; k < N_LEN; k++) {
      const double v = ma[k];
      const bool up = x > v && xp <= ma_prev[k];
      const bool dn = x < v && xp >= ma_prev[k];
      const uint32_t c = dn ? 2u : (up ? 1u : code_of(sig, k));
      w |= c << (2 * k);
      ma_prev[k] = v;
    }
    sig = w;
    return w;
  }

  // The spec's state after the last bar, front_state_len() elements.
  HD void store(Ring out) const {
    for (uint32_t k = 0; k < N_LEN; k++) {
      out[k] = ma_prev[k];
      out[N_LEN + k] = signal_of(code_of(sig, k));
      out[2 * N_LEN + k] = st[k];
      out[3 * N_LEN + k] = st2[k];
      out[4 * N_LEN + k] = acc[k];
      // oldest first: the newest is at qpos
      for (uint32_t kk = 0; kk < q[k]; kk++) {
        const uint32_t at = qpos[k] + 1 + kk;
        out[5 * N_LEN + qoff[k] + kk] = hull[qoff[k] + (at >= q[k] ? at - q[k] : at)];
      }
    }
  }
};

// ---- back.rs: Layer 1, Layer 2, Average_Signal, direction and alerts for one set ---------------

struct SetConsts {
  double d, cutout, la, hi, lo, long_threshold, short_threshold, rate;
  double weights[N_TYPES];
  uint32_t switches, mode;
};

struct Back {
  double eq1[N_MA], xsig_prev[N_TYPES], eq2[N_TYPES], a2[N_TYPES], avg_prev, dir;

  HD void fresh() {
    for (uint32_t m = 0; m < N_MA; m++) eq1[m] = NAN;
    for (uint32_t t = 0; t < N_TYPES; t++) {
      xsig_prev[t] = NAN;
      eq2[t] = NAN;
      a2[t] = 0.0;
    }
    avg_prev = NAN;
    dir = NAN;
  }

  HD void load(const double *p, const uint32_t *lay) {
    for (uint32_t m = 0; m < N_MA; m++) eq1[m] = p[lay[ATC_L_EQ1] + m];
    for (uint32_t t = 0; t < N_TYPES; t++) {
      xsig_prev[t] = p[lay[ATC_L_XSIG_PREV] + t];
      eq2[t] = p[lay[ATC_L_EQ2] + t];
      a2[t] = p[lay[ATC_L_A2] + t];
    }
    avg_prev = p[lay[ATC_L_AVG_PREV]];
    dir = p[lay[ATC_L_DIRECTION]];
  }

  HD void store(double *p, const uint32_t *lay) const {
    for (uint32_t m = 0; m < N_MA; m++) p[lay[ATC_L_EQ1] + m] = eq1[m];
    for (uint32_t t = 0; t < N_TYPES; t++) {
      p[lay[ATC_L_XSIG_PREV] + t] = xsig_prev[t];
      p[lay[ATC_L_EQ2] + t] = eq2[t];
      p[lay[ATC_L_A2] + t] = a2[t];
    }
    p[lay[ATC_L_AVG_PREV]] = avg_prev;
    p[lay[ATC_L_DIRECTION]] = dir;
  }

  // One bar: the signal words of this bar and the previous one per MA type, r = R * g, bar
  // index bi. Returns the alert (+1 long, -1 short, 0); Average_Signal is avg_prev after it,
  // X_Signal xsig_prev, X_S eq2, direction dir.
  HD double tick(const SetConsts &c, const uint32_t now[N_TYPES], const uint32_t before[N_TYPES], double r, double bi) {
    const double nan = NAN, rn = -r;
    const bool before_cutout = bi < c.cutout;
    double xsig[N_TYPES];
    // Layer-1 equities (1.8) and signals (1.9), each type's sums over k = 0..8 in order.
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (uint32_t t = 0; t < N_TYPES; t++) {
      double num = 0.0, den = 0.0;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
      for (uint32_t k = 0; k < N_LEN; k++) {
        const uint32_t m = t * N_LEN + k;
        const uint32_t sk = code_of(now[t], k), so = code_of(before[t], k);
        // Layer 1's `var a` only keeps a value before the first crossover, where it is 0.
        const double a = so == 1u ? r : (so == 2u ? rn : 0.0);
        const double ep = eq1[m];
        double e = ep != ep ? 1.0 : ep * c.d * (1.0 + a);
        e = before_cutout ? nan : (e < 0.25 ? 0.25 : e);
        eq1[m] = e;
        // sk * e with sk = 1, -1 or 0 (0 * e keeps a NaN e), without converting codes to doubles
        num = num + (sk == 1u ? e : (sk == 2u ? -e : 0.0 * e));
        den = den + e;
      }
      const double u = num / den * 100.0;
      const double rounded = (c.switches & sw::ROUND_HALF_EVEN) ? rint(u) : floor(u + 0.5);
      xsig[t] = rounded / 100.0;
    }
    // Layer 2 (1.10) and Average_Signal (1.11).
    double num = 0.0, den = 0.0;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (uint32_t t = 0; t < N_TYPES; t++) {
      const double so = xsig_prev[t];
      const double keep = (c.switches & sw::LAYER2_RESET_A) ? 0.0 : a2[t];
      const double an = so > 0.0 ? r : (so < 0.0 ? rn : keep);
      const double a = before_cutout ? a2[t] : an;
      a2[t] = a;
      const double ep = eq2[t];
      double e = ep != ep ? c.weights[t] : ep * c.d * (1.0 + a);
      e = before_cutout ? nan : (e < 0.25 ? 0.25 : e);
      eq2[t] = e;
      xsig_prev[t] = xsig[t];
      const double cut = xsig[t] > c.hi ? 1.0 : (xsig[t] < c.lo ? -1.0 : 0.0);
      num = num + cut * e;
      den = den + e;
    }
    double avg = num / den;
    if (c.switches & sw::AVERAGE_NA_ZERO) avg = fabs(avg) < INFINITY ? avg : 0.0;
    // Direction and alerts (1.12).
    const bool up = avg > c.long_threshold && avg_prev <= c.long_threshold;
    const bool dn = avg < c.short_threshold && avg_prev >= c.short_threshold;
    const double dir_old = dir;
    dir = dn ? -1.0 : (up ? 1.0 : dir_old);
    avg_prev = avg;
    return (up && dir_old == -1.0) ? 1.0 : ((dn && dir_old == 1.0) ? -1.0 : 0.0);
  }
};

// ---- account.rs ------------------------------------------------------------------------------

constexpr uint32_t ACCT_SIZE = 27, LAST_FIELDS = 14, TRADE_FIELDS = 9, PORT_FIELDS = 7, N_FLOAT_PLANES = 13, EXTRA_PLANES = 3;
namespace ac {
enum : uint32_t {
  BARS, FIRST_TS, LAST_TS, PREV_CLOSE, HELD, TARGET, EQUITY, PEAK, PEAK_BAR, MAX_DD, MAX_DD_PEAK_BAR, MAX_DD_DURATION,
  N_RET, MEAN, M2, DOWN_SQ, HELD_BARS, TURNOVER, TRADES, CLOSED, WINS, SUM_TRADE_RET, TRADE_SIDE, TRADE_ENTRY_BAR,
  TRADE_ENTRY_TS, TRADE_ENTRY_PRICE, TRADE_GROWTH
};
}

HD double target_of(double direction, uint32_t mode) {
  if (direction == 1.0) return mode == 2 ? 0.0 : 1.0;
  if (direction == -1.0) return mode == 1 ? 0.0 : -1.0;
  return 0.0;
}

struct BarOut {
  double held, held_prev, ret, equity;
};

// Closed trades of one (series, set): up to `cap` kept, all counted.
struct TradeSink {
  double *out;
  uint32_t cap, n;
  double series, set;
  HD void put(double side, double entry_ts, double entry_price, double exit_ts, double exit_price, double bars, double ret) {
    if (out && n < cap) {
      double *r = out + (size_t)n * TRADE_FIELDS;
      r[0] = series;
      r[1] = set;
      r[2] = side;
      r[3] = entry_ts;
      r[4] = entry_price;
      r[5] = exit_ts;
      r[6] = exit_price;
      r[7] = bars;
      r[8] = ret;
    }
    n++;
  }
};

// Advance account `a` by one bar: close c at time t, the kernel's direction dir at this bar.
HD BarOut account_bar(double *a, double rate, uint32_t mode, double dir, double c, double t, TradeSink &trades) {
  using namespace ac;
  const double i = a[BARS];
  if (i == 0.0) a[FIRST_TS] = t;
  const double held_prev = a[HELD];
  const double held = a[TARGET];
  const double cost = rate * fabs(held - held_prev);
  const double r = i == 0.0 ? 0.0 : c / a[PREV_CLOSE] - 1.0;
  const double ret = i == 0.0 ? 0.0 : held_prev * r - cost;
  const double equity = a[EQUITY] * (1.0 + ret);
  a[EQUITY] = equity;
  if (i > 0.0) {
    const double n = a[N_RET] + 1.0;
    const double delta = ret - a[MEAN];
    const double mean = a[MEAN] + delta / n;
    a[M2] = a[M2] + delta * (ret - mean);
    a[MEAN] = mean;
    a[N_RET] = n;
    if (ret < 0.0) a[DOWN_SQ] = a[DOWN_SQ] + ret * ret;
  }
  // drawdown from the running peak; the max one's duration runs from its peak to recovery
  if (equity >= a[PEAK]) {
    if (a[MAX_DD] > 0.0 && a[MAX_DD_DURATION] == -1.0 && a[MAX_DD_PEAK_BAR] == a[PEAK_BAR]) a[MAX_DD_DURATION] = i - a[PEAK_BAR];
    a[PEAK] = equity;
    a[PEAK_BAR] = i;
  } else {
    const double dd = 1.0 - equity / a[PEAK];
    if (dd > a[MAX_DD]) {
      a[MAX_DD] = dd;
      a[MAX_DD_PEAK_BAR] = a[PEAK_BAR];
      a[MAX_DD_DURATION] = -1.0;
    }
  }
  // trades: the open one earns this bar's return (its position is held_prev)
  if (a[TRADE_SIDE] != 0.0) {
    const double side = a[TRADE_SIDE];
    if (held != side) {
      const double growth = a[TRADE_GROWTH] * (1.0 + side * r - rate);
      const double tr = growth - 1.0;
      trades.put(side, a[TRADE_ENTRY_TS], a[TRADE_ENTRY_PRICE], t, c, i - a[TRADE_ENTRY_BAR], tr);
      a[CLOSED] = a[CLOSED] + 1.0;
      if (tr > 0.0) a[WINS] = a[WINS] + 1.0;
      a[SUM_TRADE_RET] = a[SUM_TRADE_RET] + tr;
      a[TRADE_SIDE] = 0.0;
    } else {
      a[TRADE_GROWTH] = a[TRADE_GROWTH] * (1.0 + side * r);
    }
  }
  if (held != 0.0 && held != held_prev) {
    a[TRADES] = a[TRADES] + 1.0;
    a[TRADE_SIDE] = held;
    a[TRADE_ENTRY_BAR] = i;
    a[TRADE_ENTRY_TS] = t;
    a[TRADE_ENTRY_PRICE] = c;
    a[TRADE_GROWTH] = 1.0 - rate;
  }
  if (held != 0.0) a[HELD_BARS] = a[HELD_BARS] + 1.0;
  a[TURNOVER] = a[TURNOVER] + fabs(held - held_prev);
  a[HELD] = held;
  a[TARGET] = target_of(dir, mode);
  a[PREV_CLOSE] = c;
  a[LAST_TS] = t;
  a[BARS] = i + 1.0;
  return BarOut{held, held_prev, ret, equity};
}

// x split into four limbs that add exactly in any order (account.rs limbs).
HD void limbs(double x, double out[4]) {
  const double c[4] = {0x1.8p58, 0x1.8p24, 0x1.8p-10, 0x1.8p-44};
  double rest = x;
  for (int k = 0; k < 4; k++) {
    const double v = (rest + c[k]) - c[k];
    out[k] = v;
    rest = rest - v;
  }
}

}  // namespace atc

#endif
