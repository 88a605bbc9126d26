// The CUDA engine's job runner and C ABI (atc_cuda.h). A job's series are processed in chunks
// that fit a device-memory budget; each chunk is uploaded once, then
//   1. front kernel: one thread per (MA spec, series): the signal words of every bar;
//   2. back kernel:  one thread per (series, set): everything per set, reading those words;
// and only what the caller asked for comes back (per-bar planes only for a single-set job).
// Two streams alternate chunks with pinned staging buffers, so that one chunk's copies and the
// host's packing overlap the other's kernels. Buffers are kept per calling thread and reused.
//
// ATC_HOST_BUILD compiles the same file with g++: device memory is host memory, copies are
// memcpy, kernels are loops over their threads, one "stream". Everything else is shared.

#include "atc_cuda.h"
#include "threads.cuh"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#ifndef ATC_HOST_BUILD
#include <cuda_runtime.h>
#endif

#ifndef ATC_KERNEL_VERSION
#error "build with -DATC_KERNEL_VERSION=\"...\" (kernels/cuda/build.sh takes it from kernels/core/src/lib.rs)"
#endif

using namespace atc;

namespace {

thread_local std::string t_error;

struct Fail {
  int32_t code;
  std::string msg;
  uint64_t series;
};

[[noreturn]] void fail(int32_t code, std::string msg, uint64_t series = 0) { throw Fail{code, std::move(msg), series}; }

double wall_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr size_t ALIGN = 256;
size_t round_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

// ---- the backend: CUDA, or the host ----------------------------------------------------------

enum Mark { M_START, M_UP, M_FRONT, M_BACK, M_DOWN, N_MARKS };

#ifdef ATC_HOST_BUILD

constexpr uint32_t N_STREAMS = 1;

struct Stream {
  double marks[N_MARKS] = {};
  void mark(Mark m) { marks[m] = wall_ms(); }
  float between(Mark a, Mark b) const { return (float)(marks[b] - marks[a]); }
  void sync() {}
};

uint8_t *dev_alloc(size_t n) {
  void *p = std::aligned_alloc(ALIGN, round_up(std::max<size_t>(n, 1)));
  if (!p) fail(ATC_CUDA_UNAVAILABLE, "out of host memory");
  return (uint8_t *)p;
}
void dev_free(void *p) { std::free(p); }
uint8_t *pinned_alloc(size_t n) { return dev_alloc(n); }
void pinned_free(void *p) { std::free(p); }
void up(void *d, const void *h, size_t n, Stream &) {
  if (n) memcpy(d, h, n);
}
void down(void *h, const void *d, size_t n, Stream &) {
  if (n) memcpy(h, d, n);
}
void zero(void *d, size_t n, Stream &) {
  if (n) memset(d, 0, n);
}
void launch_front(const ChunkArgs &a, uint64_t n, Stream &) {
  for (uint64_t t = 0; t < n; t++) front_thread(a, t);
}
void launch_back(const ChunkArgs &a, uint64_t n, Stream &) {
  for (uint64_t t = 0; t < n; t++) back_thread(a, t);
}

#else

constexpr uint32_t N_STREAMS = 2;

void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) fail(ATC_CUDA_UNAVAILABLE, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

struct Stream {
  cudaStream_t s = nullptr;
  cudaEvent_t ev[N_MARKS] = {};
  void init() {
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    for (auto &e : ev) check(cudaEventCreate(&e), "cudaEventCreate");
  }
  void mark(Mark m) { check(cudaEventRecord(ev[m], s), "cudaEventRecord"); }
  float between(Mark a, Mark b) const {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, ev[a], ev[b]), "cudaEventElapsedTime");
    return ms;
  }
  void sync() { check(cudaStreamSynchronize(s), "cudaStreamSynchronize"); }
};

uint8_t *dev_alloc(size_t n) {
  void *p = nullptr;
  check(cudaMalloc(&p, round_up(std::max<size_t>(n, 1))), "cudaMalloc");
  return (uint8_t *)p;
}
void dev_free(void *p) { cudaFree(p); }
uint8_t *pinned_alloc(size_t n) {
  void *p = nullptr;
  check(cudaMallocHost(&p, round_up(std::max<size_t>(n, 1))), "cudaMallocHost");
  return (uint8_t *)p;
}
void pinned_free(void *p) { cudaFreeHost(p); }
void up(void *d, const void *h, size_t n, Stream &st) {
  if (n) check(cudaMemcpyAsync(d, h, n, cudaMemcpyHostToDevice, st.s), "cudaMemcpyAsync (upload)");
}
void down(void *h, const void *d, size_t n, Stream &st) {
  if (n) check(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, st.s), "cudaMemcpyAsync (download)");
}
void zero(void *d, size_t n, Stream &st) {
  if (n) check(cudaMemsetAsync(d, 0, n, st.s), "cudaMemsetAsync");
}

constexpr uint32_t BLOCK = 128;

__global__ void __launch_bounds__(BLOCK) front_kernel(const ChunkArgs a, uint64_t n) {
  const uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t < n) front_thread(a, t);
}

__global__ void __launch_bounds__(BLOCK) back_kernel(const ChunkArgs a, uint64_t n) {
  const uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t < n) back_thread(a, t);
}

void launch_front(const ChunkArgs &a, uint64_t n, Stream &st) {
  if (!n) return;
  front_kernel<<<(unsigned)((n + BLOCK - 1) / BLOCK), BLOCK, 0, st.s>>>(a, n);
  check(cudaGetLastError(), "front kernel launch");
}
void launch_back(const ChunkArgs &a, uint64_t n, Stream &st) {
  if (!n) return;
  back_kernel<<<(unsigned)((n + BLOCK - 1) / BLOCK), BLOCK, 0, st.s>>>(a, n);
  check(cudaGetLastError(), "back kernel launch");
}

// Whether device 0 is usable, probed once per process.
std::once_flag g_probe_once;
AtcCudaInfo g_info;
std::string g_reason;

void probe() {
  std::call_once(g_probe_once, [] {
    memset(&g_info, 0, sizeof g_info);
    cudaDriverGetVersion(&g_info.driver_version);
    cudaRuntimeGetVersion(&g_info.runtime_version);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      g_reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
      return;
    }
    g_info.device_count = n;
    if (n == 0) {
      g_reason = "no CUDA device";
      return;
    }
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    if (e == cudaSuccess) e = cudaSetDevice(0);
    size_t free_b = 0, total_b = 0;
    if (e == cudaSuccess) e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) {
      g_reason = std::string("device 0: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
      return;
    }
    snprintf(g_info.name, sizeof g_info.name, "%s", prop.name);
    g_info.cc_major = prop.major;
    g_info.cc_minor = prop.minor;
    g_info.sm_count = prop.multiProcessorCount;
    g_info.total_memory = total_b;
    g_info.free_memory = free_b;
    g_info.kind = ATC_CUDA_GPU;
  });
}

#endif

// ---- the job plan: specs, the history source, sizes -------------------------------------------

struct JobPlan {
  const AtcCudaJob *job;
  std::vector<DevSet> sets;
  std::vector<DevSpec> specs;
  uint32_t hist_set = 0;
  uint64_t scratch_per_series = 0, state_per_series = 0;  // doubles
  bool acct, pf, planes, extra, trades;
};

JobPlan plan_job(const AtcCudaJob &j) {
  JobPlan P;
  P.job = &j;
  P.acct = j.accounts != nullptr;
  P.pf = j.sums != nullptr;
  P.planes = j.values != nullptr;
  P.extra = j.extra != nullptr;
  P.trades = j.want_trades != 0;
  if (j.n_sets == 0 || !j.sets || !j.offsets || (j.n_series > 0 && !j.bars)) fail(ATC_CUDA_INVALID_ARGUMENT, "a job needs sets, offsets and bars");
  if (P.planes && (j.n_sets != 1 || !j.direction || !j.alert_plane)) fail(ATC_CUDA_INVALID_ARGUMENT, "per-bar planes need a single-set job and all three planes");
  if ((P.acct && !j.ts) || ((P.pf || P.extra || P.trades) && !P.acct) || (P.extra && !P.planes) || (P.pf && (!j.u_index || !j.counts)))
    fail(ATC_CUDA_INVALID_ARGUMENT, "accounts need ts; portfolio, extra planes and trades need accounts; extra planes need planes");
  // The specs: each distinct (MA type, lengths) once, restored from the first set that uses it
  // (job.rs run_lanes); the history from the last set with the longest one (max_by_key).
  for (uint32_t p = 0; p < j.n_sets; p++) {
    const AtcCudaSet &s = j.sets[p];
    if (s.switches != j.sets[0].switches) fail(ATC_CUDA_INVALID_ARGUMENT, "every parameter set of a job must use the same profile");
    DevSet d{};
    d.s = s;
    for (uint32_t t = 0; t < N_TYPES; t++) {
      uint32_t g = 0;
      while (g < P.specs.size() && !(P.specs[g].type == t && memcmp(P.specs[g].lens, s.lens[t], sizeof s.lens[t]) == 0)) g++;
      if (g == P.specs.size()) {
        DevSpec sp{};
        sp.type = t;
        sp.src_set = p;
        memcpy(sp.lens, s.lens[t], sizeof sp.lens);
        uint32_t longest = 1;
        for (uint32_t k = 0; k < N_LEN; k++) {
          if (s.lens[t][k] < 1 || s.lens[t][k] + 1 > s.hist_len) fail(ATC_CUDA_INVALID_ARGUMENT, "an MA length is outside the plan");
          longest = std::max(longest, s.lens[t][k]);
          sp.q[k] = (t == HMA && (s.switches & sw::HMA_HULL)) ? s.hull_q[k] : 0;
        }
        sp.scratch_len = front_scratch(longest, sp.q);
        sp.state_len = front_state_len(sp.q);
        sp.scratch_off = P.scratch_per_series;
        sp.state_off = P.state_per_series;
        P.scratch_per_series += sp.scratch_len;
        P.state_per_series += sp.state_len;
        P.specs.push_back(sp);
      }
      d.spec[t] = g;
    }
    if (s.hist_len >= j.sets[P.hist_set].hist_len) P.hist_set = p;
    P.sets.push_back(d);
  }
  return P;
}

// Byte offsets of a chunk's buffers: `in` is uploaded, `out` downloaded (the accounts are
// uploaded too: they advance in place), `work` stays on the device.
struct ChunkLayout {
  size_t closes, ts, u_index, offs, bars, states_in, in_bytes;
  size_t acct, last, alerts, states_out, values, dir, alert, extra, pf_sums, pf_counts, trade_counts, trades, out_bytes;
  size_t sigw, sig0, scratch, spec_state, work_bytes;
  size_t total() const { return in_bytes + out_bytes + work_bytes; }
};

size_t take(size_t &at, size_t bytes) {
  const size_t o = at;
  at += round_up(bytes);
  return o;
}

ChunkLayout layout_for(const JobPlan &P, uint64_t S, uint64_t B, uint32_t cap) {
  const AtcCudaJob &j = *P.job;
  const uint64_t np = j.n_sets, ns = P.specs.size();
  ChunkLayout L{};
  size_t at = 0;
  L.closes = take(at, B * 8);
  L.ts = take(at, P.acct ? B * 8 : 0);
  L.u_index = take(at, P.pf ? B * 4 : 0);
  L.offs = take(at, (S + 1) * 4);
  L.bars = take(at, S * 8);
  L.states_in = take(at, j.states_in ? S * j.rec_stride : 0);
  L.in_bytes = at;
  at = 0;
  L.acct = take(at, P.acct ? S * np * ACCT_SIZE * 8 : 0);
  L.last = take(at, j.last ? S * np * LAST_FIELDS * 8 : 0);
  L.alerts = take(at, j.alerts ? S * np * 8 : 0);
  L.states_out = take(at, j.states_out ? S * j.rec_stride : 0);
  L.values = take(at, P.planes ? N_FLOAT_PLANES * B * 8 : 0);
  L.dir = take(at, P.planes ? B : 0);
  L.alert = take(at, P.planes ? B : 0);
  L.extra = take(at, P.extra ? EXTRA_PLANES * B * 8 : 0);
  L.pf_sums = take(at, P.pf ? np * j.n_u * PORT_FIELDS * 8 : 0);
  L.pf_counts = take(at, P.pf ? j.n_u * 8 : 0);
  L.trade_counts = take(at, P.trades ? S * np * 4 : 0);
  L.trades = take(at, P.trades ? S * np * cap * TRADE_FIELDS * 8 : 0);
  L.out_bytes = at;
  at = 0;
  L.sigw = take(at, ns * B * 4);
  L.sig0 = take(at, ns * S * 4);
  L.scratch = take(at, P.scratch_per_series * S * 8);
  L.spec_state = take(at, j.states_out ? P.state_per_series * S * 8 : 0);
  L.work_bytes = at;
  return L;
}

struct Chunk {
  uint32_t s0, s1;
  uint64_t j0, j1;
};

// ---- buffers kept per calling thread ----------------------------------------------------------

struct Slot {
  Stream st;
  uint8_t *dev_in = nullptr, *dev_out = nullptr, *dev_work = nullptr, *host_in = nullptr, *host_out = nullptr;
  size_t cap_in = 0, cap_out = 0, cap_work = 0;
  int chunk = -1;  // the chunk in flight, if any
  ChunkLayout lay{};
  uint32_t cap_trades = 0;

  void ensure(const ChunkLayout &L) {
    if (L.in_bytes > cap_in) {
      dev_free(dev_in);
      pinned_free(host_in);
      dev_in = nullptr;
      host_in = nullptr;
      cap_in = 0;
      dev_in = dev_alloc(L.in_bytes);
      host_in = pinned_alloc(L.in_bytes);
      cap_in = L.in_bytes;
    }
    if (L.out_bytes > cap_out) {
      dev_free(dev_out);
      pinned_free(host_out);
      dev_out = nullptr;
      host_out = nullptr;
      cap_out = 0;
      dev_out = dev_alloc(L.out_bytes);
      host_out = pinned_alloc(L.out_bytes);
      cap_out = L.out_bytes;
    }
    if (L.work_bytes > cap_work) {
      dev_free(dev_work);
      dev_work = nullptr;
      cap_work = 0;
      dev_work = dev_alloc(L.work_bytes);
      cap_work = L.work_bytes;
    }
  }
  void release() {
    dev_free(dev_in);
    dev_free(dev_out);
    dev_free(dev_work);
    pinned_free(host_in);
    pinned_free(host_out);
    dev_in = dev_out = dev_work = host_in = host_out = nullptr;
    cap_in = cap_out = cap_work = 0;
  }
};

struct Context {
  Slot slots[N_STREAMS];
  uint8_t *tables = nullptr;
  size_t cap_tables = 0;
  bool ready = false;
  ~Context() {
    for (auto &s : slots) s.release();
    dev_free(tables);
  }
  void init() {
    if (ready) return;
#ifndef ATC_HOST_BUILD
    for (auto &s : slots) s.st.init();
#endif
    ready = true;
  }
};

thread_local Context t_ctx;

// ---- running a job -------------------------------------------------------------------------

uint64_t default_budget() {
  if (const char *e = getenv("ATC_CUDA_CHUNK_BYTES")) {
    const unsigned long long v = strtoull(e, nullptr, 10);
    if (v > 0) return v;
  }
#ifdef ATC_HOST_BUILD
  return 256ull << 20;
#else
  size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  // one chunk per stream, leaving room for other users of the device
  return std::min<uint64_t>((uint64_t)(free_b * 0.35), 1ull << 30);
#endif
}

// Crossover signals in restored states that the 2-bit codes cannot hold (a kernel writes only
// -1, 0 and 1; the back reads only their sign, but they pass into the output states).
void check_signals(const JobPlan &P) {
  const AtcCudaJob &j = *P.job;
  if (!j.states_in) return;
  const uint64_t ok[3] = {to_bits(0.0), to_bits(1.0), to_bits(-1.0)};
  for (uint32_t s = 0; s < j.n_series; s++) {
    if (j.offsets[s + 1] == j.offsets[s]) continue;
    for (const DevSpec &sp : P.specs) {
      const AtcCudaSet &src = j.sets[sp.src_set];
      const uint8_t *p = j.states_in + (size_t)s * j.rec_stride + src.rec_off + STATE_HEADER + 8 * (src.layout[ATC_L_SIG] + sp.type * N_LEN);
      for (uint32_t k = 0; k < N_LEN; k++) {
        uint64_t b;
        memcpy(&b, p + 8 * k, 8);
        if (b != ok[0] && b != ok[1] && b != ok[2])
          fail(ATC_CUDA_STATE_INVALID, "state record " + std::to_string(s) + ": a crossover signal is not -1, 0 or 1 (not a state this kernel writes)", s);
      }
    }
  }
}

struct Runner {
  const JobPlan &P;
  const AtcCudaJob &j;
  Context &ctx;
  std::vector<Chunk> chunks;
  uint64_t budget;
  uint32_t cap;  // trades kept per (series, set) per attempt
  std::vector<std::vector<double>> trades;  // per chunk
  AtcCudaTimes times{};
  double host_ms = 0;

  Runner(const JobPlan &p, Context &c) : P(p), j(*p.job), ctx(c) {}

  uint64_t bytes(uint64_t S, uint64_t B) const { return layout_for(P, S, B, cap).total(); }

  void plan_chunks() {
    uint32_t s0 = 0;
    while (s0 < j.n_series) {
      uint32_t s1 = s0 + 1;
      while (s1 < j.n_series && bytes(s1 + 1 - s0, j.offsets[s1 + 1] - j.offsets[s0]) <= budget) s1++;
      chunks.push_back(Chunk{s0, s1, j.offsets[s0], j.offsets[s1]});
      s0 = s1;
    }
  }

  ChunkArgs args(const Slot &sl, const Chunk &c, uint32_t n_cap) const {
    const ChunkLayout &L = sl.lay;
    uint8_t *in = sl.dev_in, *out = sl.dev_out, *w = sl.dev_work;
    ChunkArgs a{};
    a.specs = (const DevSpec *)ctx.tables;
    a.sets = (const DevSet *)(ctx.tables + round_up(P.specs.size() * sizeof(DevSpec)));
    a.n_specs = (uint32_t)P.specs.size();
    a.n_sets = j.n_sets;
    a.n_series = c.s1 - c.s0;
    a.switches = j.sets[0].switches;
    a.series0 = c.s0;
    a.n_bars = c.j1 - c.j0;
    a.closes = (const double *)(in + L.closes);
    a.ts = P.acct ? (const double *)(in + L.ts) : nullptr;
    a.u_index = P.pf ? (const uint32_t *)(in + L.u_index) : nullptr;
    a.offs = (const uint32_t *)(in + L.offs);
    a.bars = (const uint64_t *)(in + L.bars);
    a.states_in = j.states_in ? in + L.states_in : nullptr;
    a.states_out = j.states_out ? out + L.states_out : nullptr;
    a.rec_stride = j.rec_stride;
    a.hist_set = P.hist_set;
    a.scratch = (double *)(w + L.scratch);
    a.spec_state = j.states_out ? (double *)(w + L.spec_state) : nullptr;
    a.sigw = (uint32_t *)(w + L.sigw);
    a.sig0 = (uint32_t *)(w + L.sig0);
    a.acct_in = P.acct ? (const double *)(out + L.acct) : nullptr;
    a.acct_out = P.acct ? (double *)(out + L.acct) : nullptr;
    a.last = j.last ? (double *)(out + L.last) : nullptr;
    a.alerts = j.alerts ? (uint32_t *)(out + L.alerts) : nullptr;
    a.values = P.planes ? (double *)(out + L.values) : nullptr;
    a.dir_plane = P.planes ? (int8_t *)(out + L.dir) : nullptr;
    a.alert_plane = P.planes ? (int8_t *)(out + L.alert) : nullptr;
    a.extra = P.extra ? (double *)(out + L.extra) : nullptr;
    a.n_u = j.n_u;
    a.pf_sums = P.pf ? (double *)(out + L.pf_sums) : nullptr;
    a.pf_counts = P.pf ? (double *)(out + L.pf_counts) : nullptr;
    a.trades = P.trades ? (double *)(out + L.trades) : nullptr;
    a.trade_counts = P.trades ? (uint32_t *)(out + L.trade_counts) : nullptr;
    a.trade_cap = n_cap;
    return a;
  }

  // Pack chunk c's inputs, upload them, run both kernels, download the outputs (all queued).
  void enqueue(int c, Slot &sl) {
    const Chunk &ch = chunks[c];
    const uint64_t S = ch.s1 - ch.s0, B = ch.j1 - ch.j0, np = j.n_sets;
    sl.lay = layout_for(P, S, B, cap);
    sl.ensure(sl.lay);
    sl.chunk = c;
    sl.cap_trades = cap;
    const ChunkLayout &L = sl.lay;
    const double t0 = wall_ms();
    memcpy(sl.host_in + L.closes, j.closes + ch.j0, B * 8);
    if (P.acct) memcpy(sl.host_in + L.ts, j.ts + ch.j0, B * 8);
    if (P.pf) memcpy(sl.host_in + L.u_index, j.u_index + ch.j0, B * 4);
    uint32_t *offs = (uint32_t *)(sl.host_in + L.offs);
    for (uint64_t s = 0; s <= S; s++) offs[s] = (uint32_t)(j.offsets[ch.s0 + s] - ch.j0);
    memcpy(sl.host_in + L.bars, j.bars + ch.s0, S * 8);
    if (j.states_in) memcpy(sl.host_in + L.states_in, j.states_in + ch.s0 * j.rec_stride, S * j.rec_stride);
    if (P.acct) memcpy(sl.host_out + L.acct, j.accounts + ch.s0 * np * ACCT_SIZE, S * np * ACCT_SIZE * 8);
    host_ms += wall_ms() - t0;
    Stream &st = sl.st;
    st.mark(M_START);
    up(sl.dev_in, sl.host_in, L.in_bytes, st);
    if (P.acct) up(sl.dev_out + L.acct, sl.host_out + L.acct, S * np * ACCT_SIZE * 8, st);
    if (P.pf) zero(sl.dev_out + L.pf_sums, L.trade_counts - L.pf_sums, st);
    st.mark(M_UP);
    const ChunkArgs a = args(sl, ch, cap);
    launch_front(a, (uint64_t)P.specs.size() * S, st);
    st.mark(M_FRONT);
    launch_back(a, S * np, st);
    st.mark(M_BACK);
    down(sl.host_out, sl.dev_out, L.out_bytes, st);
    st.mark(M_DOWN);
  }

  // Wait for the chunk in flight on `sl`, run it again if its trades overflowed, copy its
  // outputs to the caller.
  void complete(Slot &sl) {
    const int c = sl.chunk;
    if (c < 0) return;
    sl.st.sync();
    times.upload_ms += sl.st.between(M_START, M_UP);
    times.shared_ms += sl.st.between(M_UP, M_FRONT);
    times.per_set_ms += sl.st.between(M_FRONT, M_BACK);
    times.download_ms += sl.st.between(M_BACK, M_DOWN);
    const Chunk &ch = chunks[c];
    const uint64_t S = ch.s1 - ch.s0, B = ch.j1 - ch.j0, np = j.n_sets;
    if (P.trades) {
      const uint32_t *tc = (const uint32_t *)(sl.host_out + sl.lay.trade_counts);
      const uint32_t most = *std::max_element(tc, tc + S * np);
      if (most > sl.cap_trades) {
        cap = most;
        enqueue(c, sl);
        complete(sl);
        return;
      }
    }
    sl.chunk = -1;
    const double t0 = wall_ms();
    const ChunkLayout &L = sl.lay;
    const uint8_t *o = sl.host_out;
    for (uint64_t s = 0; s < S; s++) {
      const uint64_t gs = ch.s0 + s, k = gs * np;
      const bool empty = j.offsets[gs + 1] == j.offsets[gs];
      if (j.last) {
        if (empty) std::fill(j.last + k * LAST_FIELDS, j.last + (k + np) * LAST_FIELDS, (double)NAN);
        else memcpy(j.last + k * LAST_FIELDS, o + L.last + s * np * LAST_FIELDS * 8, np * LAST_FIELDS * 8);
      }
      if (empty) continue;
      if (j.alerts) memcpy(j.alerts + k * 2, o + L.alerts + s * np * 8, np * 8);
      if (P.acct) memcpy(j.accounts + k * ACCT_SIZE, o + L.acct + s * np * ACCT_SIZE * 8, np * ACCT_SIZE * 8);
    }
    if (j.states_out) memcpy(j.states_out + ch.s0 * j.rec_stride, o + L.states_out, S * j.rec_stride);
    if (P.planes) {
      for (uint32_t p = 0; p < N_FLOAT_PLANES; p++) memcpy(j.values + p * j.stride + ch.j0, o + L.values + p * B * 8, B * 8);
      memcpy(j.direction + ch.j0, o + L.dir, B);
      memcpy(j.alert_plane + ch.j0, o + L.alert, B);
    }
    if (P.extra)
      for (uint32_t p = 0; p < EXTRA_PLANES; p++) memcpy(j.extra + p * j.stride + ch.j0, o + L.extra + p * B * 8, B * 8);
    if (P.pf) {
      // The chunk's partial sums are exact, so adding them to the running ones gives the bits
      // of adding every term there; untouched cells are left alone (-0.0 stays -0.0).
      const double *cs = (const double *)(o + L.pf_sums), *cc = (const double *)(o + L.pf_counts);
      for (uint64_t u = 0; u < j.n_u; u++) {
        if (cc[u] == 0.0) continue;
        j.counts[u] = j.counts[u] + cc[u];
        for (uint64_t p = 0; p < np; p++)
          for (uint32_t f = 0; f < PORT_FIELDS; f++) {
            const size_t at = (p * j.n_u + u) * PORT_FIELDS + f;
            j.sums[at] = j.sums[at] + cs[at];
          }
      }
    }
    if (P.trades) {
      const uint32_t *tc = (const uint32_t *)(o + L.trade_counts);
      const double *tv = (const double *)(o + L.trades);
      std::vector<double> &out = trades[c];
      for (uint64_t t = 0; t < S * np; t++) out.insert(out.end(), tv + t * sl.cap_trades * TRADE_FIELDS, tv + (t * sl.cap_trades + tc[t]) * TRADE_FIELDS);
    }
    host_ms += wall_ms() - t0;
  }

  void run() {
    const double t0 = wall_ms();
    budget = j.chunk_bytes ? j.chunk_bytes : default_budget();
    cap = P.trades ? 16 : 0;
    plan_chunks();
    trades.resize(chunks.size());
    ctx.init();
    // the spec and set tables, shared by every chunk
    const size_t spec_bytes = round_up(P.specs.size() * sizeof(DevSpec)), tab = spec_bytes + P.sets.size() * sizeof(DevSet);
    if (tab > ctx.cap_tables) {
      dev_free(ctx.tables);
      ctx.tables = nullptr;
      ctx.cap_tables = 0;
      ctx.tables = dev_alloc(tab);
      ctx.cap_tables = tab;
    }
    std::vector<uint8_t> host_tab(tab);
    memcpy(host_tab.data(), P.specs.data(), P.specs.size() * sizeof(DevSpec));
    memcpy(host_tab.data() + spec_bytes, P.sets.data(), P.sets.size() * sizeof(DevSet));
    up(ctx.tables, host_tab.data(), tab, ctx.slots[0].st);
    ctx.slots[0].st.sync();
    for (size_t c = 0; c < chunks.size(); c++) {
      Slot &sl = ctx.slots[c % N_STREAMS];
      complete(sl);
      enqueue((int)c, sl);
    }
    for (size_t c = chunks.size() >= N_STREAMS ? chunks.size() - N_STREAMS : 0; c < chunks.size(); c++) complete(ctx.slots[c % N_STREAMS]);
    times.chunks = (uint32_t)chunks.size();
    times.streams = N_STREAMS;
    times.chunk_bytes = chunks.empty() ? 0 : bytes(chunks[0].s1 - chunks[0].s0, chunks[0].j1 - chunks[0].j0);
    times.host_ms = host_ms;
    times.total_ms = wall_ms() - t0;
  }
};


}  // namespace

extern "C" {

int32_t atc_cuda_abi(void) { return ATC_CUDA_ABI; }

const char *atc_cuda_kernel_version(void) { return ATC_KERNEL_VERSION; }

const char *atc_cuda_last_error(void) { return t_error.c_str(); }

void atc_cuda_free(void *p) { std::free(p); }

int32_t atc_cuda_info(AtcCudaInfo *info) {
  if (!info) return ATC_CUDA_NONE;
#ifdef ATC_HOST_BUILD
  memset(info, 0, sizeof *info);
  info->kind = ATC_CUDA_HOST;
  snprintf(info->name, sizeof info->name, "host build (the CUDA engine's code computing on the CPU)");
  return ATC_CUDA_HOST;
#else
  probe();
  *info = g_info;
  if (g_info.kind != ATC_CUDA_GPU) t_error = g_reason;
  return g_info.kind;
#endif
}

int32_t atc_cuda_job(AtcCudaJob *job) {
  if (!job) {
    t_error = "no job";
    return ATC_CUDA_INVALID_ARGUMENT;
  }
  try {
#ifndef ATC_HOST_BUILD
    probe();
    if (g_info.kind != ATC_CUDA_GPU) fail(ATC_CUDA_UNAVAILABLE, g_reason);
    check(cudaSetDevice(0), "cudaSetDevice");
#endif
    const JobPlan P = plan_job(*job);
    check_signals(P);
    Runner r(P, t_ctx);
    r.run();
    job->times = r.times;
    job->trades = nullptr;
    job->n_trades = 0;
    if (P.trades) {
      size_t n = 0;
      for (auto &v : r.trades) n += v.size();
      job->trades = (double *)std::malloc(std::max<size_t>(n, 1) * 8);
      if (!job->trades) fail(ATC_CUDA_UNAVAILABLE, "out of host memory for the trades");
      size_t at = 0;
      for (auto &v : r.trades) {
        if (!v.empty()) memcpy(job->trades + at, v.data(), v.size() * 8);
        at += v.size();
      }
      job->n_trades = n / TRADE_FIELDS;
    }
    return ATC_CUDA_OK;
  } catch (const Fail &f) {
    t_error = f.msg;
    job->error_series = f.series;
    return f.code;
  } catch (const std::bad_alloc &) {
    t_error = "out of host memory";
    return ATC_CUDA_UNAVAILABLE;
  } catch (...) {
    t_error = "unexpected failure in the CUDA engine";
    return ATC_CUDA_UNAVAILABLE;
  }
}

}  // extern "C"
