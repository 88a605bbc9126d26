// The two programs of a chunk, one call per thread (engine.cu launches them as kernels on the
// device and runs them as loops in the host build):
//
//   front_thread  one per (MA spec, series): the moving averages and crossover signals of one
//                 spec (MA type + nine lengths) over the series, shared by every parameter set
//                 that uses the spec. Writes one 32-bit word of nine 2-bit signals per bar.
//   back_thread   one per (series, set): equities, signals, direction, alerts and the account of
//                 one set over the series, reading the signal words of its six specs. Threads of
//                 one series are adjacent (tid = s * n_sets + p), so a warp reads the same words.
//
// Layout of a chunk (S series, B bars): closes[j] for j in offs[s] .. offs[s+1]; signal words
// sigw[g * B + j]; per-thread scratch interleaved (element e of series s at [e * S + s]);
// per-bar planes plane * B + j.
#ifndef ATC_CUDA_THREADS_CUH
#define ATC_CUDA_THREADS_CUH

#include "atc_cuda.h"
#include "math.cuh"

namespace atc {

constexpr uint32_t STATE_HEADER = 32;
constexpr uint32_t STATE_MAGIC = 0x53435441u, STATE_VERSION = 1;

struct DevSpec {
  uint32_t type, src_set;
  uint32_t lens[N_LEN], q[N_LEN];
  uint32_t scratch_len, state_len;
  // doubles per series before this spec's region (each region holds S series)
  uint64_t scratch_off, state_off;
};

struct DevSet {
  AtcCudaSet s;
  // index of this set's spec of each MA type
  uint32_t spec[N_TYPES];
};

struct ChunkArgs {
  const DevSpec *specs;
  const DevSet *sets;
  uint32_t n_specs, n_sets, n_series, switches;
  // global index of the chunk's first series (trades name it)
  uint64_t series0;
  uint64_t n_bars;
  const double *closes, *ts;
  const uint32_t *offs;
  const uint64_t *bars;
  const uint8_t *states_in;
  uint8_t *states_out;
  uint64_t rec_stride;
  // the set whose record restores the history (the longest; job.rs hist_src)
  uint32_t hist_set;
  double *scratch, *spec_state;
  uint32_t *sigw, *sig0;
  const double *acct_in;
  double *acct_out, *last;
  uint32_t *alerts;
  double *values, *extra;
  int8_t *dir_plane, *alert_plane;
  const uint32_t *u_index;
  uint64_t n_u;
  double *pf_sums, *pf_counts;
  double *trades;
  uint32_t *trade_counts;
  uint32_t trade_cap;
};

HD const double *payload_in(const ChunkArgs &a, uint32_t s, uint32_t p) {
  return a.states_in ? (const double *)(a.states_in + (size_t)s * a.rec_stride + a.sets[p].s.rec_off + STATE_HEADER) : nullptr;
}

// The restored history of series s (the last hist_len closes, oldest first), or NULL at bar 0.
HD const double *history_in(const ChunkArgs &a, uint32_t s) {
  const double *p = payload_in(a, s, a.hist_set);
  return p ? p + a.sets[a.hist_set].s.layout[ATC_L_HIST] : nullptr;
}

HD void front_thread(const ChunkArgs &a, uint64_t tid) {
  const uint32_t S = a.n_series, g = (uint32_t)(tid / S), s = (uint32_t)(tid % S);
  const uint32_t from = a.offs[s], n = a.offs[s + 1] - from;
  if (n == 0) return;
  const DevSpec &sp = a.specs[g];
  Front f;
  f.init(sp.type, a.switches, sp.lens, sp.q, Ring{a.scratch + sp.scratch_off * S + s, S});
  const double *h = history_in(a, s);
  const uint32_t hn = a.sets[a.hist_set].s.hist_len;
  f.load(a.bars[s], h, hn, payload_in(a, s, sp.src_set), a.sets[sp.src_set].s.layout);
  a.sig0[(size_t)g * S + s] = f.sig;
  double xp = h ? h[hn - 1] : NAN;
  const double b0 = (double)a.bars[s];
  uint32_t *out = a.sigw + (size_t)g * a.n_bars + from;
  for (uint32_t i = 0; i < n; i++) {
    const double x = a.closes[from + i];
    out[i] = f.step(x, xp, b0 + (double)i);
    xp = x;
  }
  if (a.spec_state) f.store(Ring{a.spec_state + sp.state_off * S + s, S});
}

HD void add_to(double *p, double v) {
#ifdef __CUDA_ARCH__
  atomicAdd(p, v);  // exact: limbs and small integers add exactly in any order
#else
  *p = *p + v;
#endif
}

HD void write_header(uint8_t *rec, const AtcCudaSet &set, uint64_t bars) {
  uint64_t *h = (uint64_t *)rec;
  h[0] = (uint64_t)STATE_MAGIC | ((uint64_t)STATE_VERSION << 32);
  h[1] = set.layout[ATC_L_SIZE];
  h[2] = set.fingerprint;
  h[3] = bars;
}

// A series with no bars in this job: its state passes through (plan.rs fresh_payload if none).
HD void pass_state(const ChunkArgs &a, uint32_t s, uint32_t p) {
  const AtcCudaSet &set = a.sets[p].s;
  uint8_t *rec = a.states_out + (size_t)s * a.rec_stride + set.rec_off;
  double *P = (double *)(rec + STATE_HEADER);
  const double *in = payload_in(a, s, p);
  const uint32_t *lay = set.layout;
  for (uint32_t e = 0; e < lay[ATC_L_SIZE]; e++) P[e] = in ? in[e] : NAN;
  if (!in) {
    for (uint32_t k = 0; k < N_LEN; k++) {
      P[lay[ATC_L_DEMA_ACC] + k] = 0.0;
      if (!(set.switches & sw::KAMA_FIRST_CLOSE)) P[lay[ATC_L_KAMA] + k] = 0.0;
    }
    for (uint32_t m = 0; m < N_MA; m++) P[lay[ATC_L_SIG] + m] = 0.0;
    for (uint32_t t = 0; t < N_TYPES; t++) P[lay[ATC_L_A2] + t] = 0.0;
  }
  write_header(rec, set, a.bars[s]);
}

HD void back_thread(const ChunkArgs &a, uint64_t tid) {
  const uint32_t S = a.n_series, np = a.n_sets, s = (uint32_t)(tid / np), p = (uint32_t)(tid % np);
  const uint32_t from = a.offs[s], n = a.offs[s + 1] - from;
  if (n == 0) {
    if (a.states_out) pass_state(a, s, p);
    if (a.trade_counts) a.trade_counts[tid] = 0;
    return;
  }
  const DevSet &ds = a.sets[p];
  const AtcCudaSet &set = ds.s;
  const double hi = (set.switches & sw::CUT_AT_THRESHOLDS) ? set.long_threshold : 0.49;
  const double lo = (set.switches & sw::CUT_AT_THRESHOLDS) ? set.short_threshold : -0.49;
  SetConsts c{set.d, set.cutout, set.la, hi, lo, set.long_threshold, set.short_threshold, set.rate, {}, set.switches, set.mode};
  for (uint32_t t = 0; t < N_TYPES; t++) c.weights[t] = set.weights[t];
  Back b;
  const double *in = payload_in(a, s, p);
  if (in) b.load(in, set.layout);
  else b.fresh();
  double acct[ACCT_SIZE];
  if (a.acct_in)
    for (uint32_t f = 0; f < ACCT_SIZE; f++) acct[f] = a.acct_in[tid * ACCT_SIZE + f];
  TradeSink sink{a.trades ? a.trades + tid * a.trade_cap * TRADE_FIELDS : nullptr, a.trade_cap, 0, (double)(a.series0 + s), (double)p};
  const double *h = history_in(a, s);
  const uint32_t hn = a.sets[a.hist_set].s.hist_len;
  double xp = h ? h[hn - 1] : NAN;
  uint32_t before[N_TYPES], now[N_TYPES];
  const uint32_t *words[N_TYPES];  // this set's six specs' signal words, from the series' first bar
  for (uint32_t t = 0; t < N_TYPES; t++) {
    before[t] = a.sig0[(size_t)ds.spec[t] * S + s];
    words[t] = a.sigw + (size_t)ds.spec[t] * a.n_bars + from;
  }
  uint32_t longs = 0, shorts = 0;
  const bool ratio = set.switches & sw::ROC_RATIO;
  const uint64_t bars = a.bars[s];
  const uint64_t B = a.n_bars;
  for (uint32_t i = 0; i < n; i++) {
    const uint64_t j = from + i;
    const double x = a.closes[j];
    const double bi = (double)(bars + i);
    for (uint32_t t = 0; t < N_TYPES; t++) now[t] = words[t][i];
    // 1.3 rate of change (NaN at bar 0: no previous close), 1.7 growth factor
    const double roc = ratio ? x / xp - 1.0 : (x - xp) / xp;
    const double r = roc * det_exp(c.la * (bi - c.cutout));
    const double al = b.tick(c, now, before, r, bi);
    if (al == 1.0) longs++;
    else if (al == -1.0) shorts++;
    if (a.values) {
      a.values[j] = b.avg_prev;
      for (uint32_t t = 0; t < N_TYPES; t++) {
        a.values[(1 + t) * B + j] = b.xsig_prev[t];
        a.values[(7 + t) * B + j] = b.eq2[t];
      }
      a.dir_plane[j] = b.dir != b.dir ? 0 : (int8_t)b.dir;
      a.alert_plane[j] = (int8_t)al;
    }
    if (a.acct_in) {
      const BarOut o = account_bar(acct, c.rate, c.mode, b.dir, x, a.ts[j], sink);
      if (a.extra) {
        a.extra[j] = o.held;
        a.extra[B + j] = o.ret;
        a.extra[2 * B + j] = o.equity;
      }
      if (a.pf_sums && bars + i > 0) {
        const uint32_t u = a.u_index[j];
        double *cell = a.pf_sums + ((size_t)p * a.n_u + u) * PORT_FIELDS;
        double lb[4];
        limbs(o.ret, lb);
        for (int k = 0; k < 4; k++) add_to(cell + k, lb[k]);
        add_to(cell + 4, o.held);
        add_to(cell + 5, fabs(o.held));
        add_to(cell + 6, fabs(o.held - o.held_prev));
        if (p == 0) add_to(a.pf_counts + u, 1.0);
      }
    }
    for (uint32_t t = 0; t < N_TYPES; t++) before[t] = now[t];
    xp = x;
  }
  if (a.last) {
    double *l = a.last + tid * LAST_FIELDS;
    l[0] = b.avg_prev;
    for (uint32_t t = 0; t < N_TYPES; t++) {
      l[1 + t] = b.xsig_prev[t];
      l[7 + t] = b.eq2[t];
    }
    l[13] = b.dir != b.dir ? 0.0 : b.dir;
  }
  if (a.alerts) {
    a.alerts[2 * tid] = longs;
    a.alerts[2 * tid + 1] = shorts;
  }
  if (a.acct_out)
    for (uint32_t f = 0; f < ACCT_SIZE; f++) a.acct_out[tid * ACCT_SIZE + f] = acct[f];
  if (a.trade_counts) a.trade_counts[tid] = sink.n;
  if (!a.states_out) return;
  // The state after the last bar: history, the six specs' front state, this set's back.
  uint8_t *rec = a.states_out + (size_t)s * a.rec_stride + set.rec_off;
  double *P = (double *)(rec + STATE_HEADER);
  const uint32_t *lay = set.layout;
  const uint32_t hl = set.hist_len;
  for (uint32_t q = 0; q < hl; q++) P[lay[ATC_L_HIST] + hl - 1 - q] = q < n ? a.closes[from + n - 1 - q] : (h ? h[hn - 1 - (q - n)] : NAN);
  for (uint32_t t = 0; t < N_TYPES; t++) {
    const DevSpec &sp = a.specs[ds.spec[t]];
    const Ring F{a.spec_state + sp.state_off * S + s, S};
    for (uint32_t k = 0; k < N_LEN; k++) {
      const uint32_t m = t * N_LEN + k;
      P[lay[ATC_L_MA_PREV] + m] = F[k];
      P[lay[ATC_L_SIG] + m] = F[N_LEN + k];
      if (t == EMA) P[lay[ATC_L_EMA] + k] = F[2 * N_LEN + k];
      if (t == DEMA) {
        P[lay[ATC_L_DEMA_E1] + k] = F[2 * N_LEN + k];
        P[lay[ATC_L_DEMA_E2] + k] = F[3 * N_LEN + k];
        P[lay[ATC_L_DEMA_ACC] + k] = F[4 * N_LEN + k];
      }
      if (t == KAMA) P[lay[ATC_L_KAMA] + k] = F[2 * N_LEN + k];
    }
    for (uint32_t e = 5 * N_LEN; e < sp.state_len; e++) P[lay[ATC_L_HULL] + e - 5 * N_LEN] = F[e];
  }
  b.store(P, lay);
  write_header(rec, set, bars + n);
}

}  // namespace atc

#endif
