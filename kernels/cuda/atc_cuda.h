/* The C ABI of the CUDA engine (libatc_cuda.so), loaded at run time by kernels/gpu/src/lib.rs
 * (dlopen, no link-time dependency on CUDA). The same ABI is built for the host (ATC_HOST_BUILD:
 * the same arithmetic and job code, computed on the CPU) so that it is tested without a GPU.
 *
 * The caller decodes and validates everything (atc_core::Plan::from_wire and job::validate);
 * this library trusts shapes it is given and checks only what it alone reads (the crossover
 * signals inside restored states, see atc_cuda_job).
 *
 * Layouts are those of kernels/core/src/job.rs: series s is closes[offsets[s] .. offsets[s+1]);
 * per (series, set) buffers are series-major, (s * n_sets + p); state records of series s start
 * at s * rec_stride, set p's at + rec_off[p]. Every pointer is host memory. */
#ifndef ATC_CUDA_H
#define ATC_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes; the loader refuses any other value. */
#define ATC_CUDA_ABI 1

/* Offsets (in doubles) of the sections of a state payload (atc_core::plan::Layout). */
enum {
  ATC_L_HIST, ATC_L_EMA, ATC_L_DEMA_E1, ATC_L_DEMA_E2, ATC_L_DEMA_ACC, ATC_L_KAMA, ATC_L_HULL, ATC_L_MA_PREV,
  ATC_L_SIG, ATC_L_EQ1, ATC_L_XSIG_PREV, ATC_L_EQ2, ATC_L_A2, ATC_L_AVG_PREV, ATC_L_DIRECTION, ATC_L_SIZE,
  ATC_L_FIELDS
};

/* One parameter set: a decoded atc_core::Plan and its trading rule. */
typedef struct {
  double la, d, cutout, long_threshold, short_threshold;
  double weights[6];
  /* (fee + slippage) / 10000 */
  double rate;
  uint64_t fingerprint;
  uint64_t state_bytes;
  /* byte offset of this set's record in a series' group of records */
  uint64_t rec_off;
  uint32_t switches;
  /* 0 long-short, 1 long-only, 2 short-only */
  uint32_t mode;
  uint32_t lens[6][9];
  uint32_t hull_q[9];
  uint32_t hist_len;
  uint32_t layout[ATC_L_FIELDS];
} AtcCudaSet;

/* Milliseconds per phase, summed over chunks (device phases overlap each other across streams). */
typedef struct {
  double upload_ms, shared_ms, per_set_ms, download_ms, host_ms, total_ms;
  uint32_t chunks, streams;
  /* device bytes per chunk (each stream holds one chunk) */
  uint64_t chunk_bytes;
} AtcCudaTimes;

typedef struct {
  const AtcCudaSet *sets;
  uint32_t n_sets;
  uint32_t n_series;
  const double *closes;
  const uint32_t *offsets;  /* n_series + 1 */
  const uint64_t *bars;     /* bars seen before this job, per series */
  const double *ts;         /* with accounts */
  const uint8_t *states_in; /* NULL: every series starts at bar 0 */
  uint8_t *states_out;      /* NULL or n_series * rec_stride bytes; may equal states_in */
  uint64_t rec_stride;
  double *accounts;         /* NULL or n_series * n_sets * 27, advanced in place */
  double *last;             /* NULL or n_series * n_sets * 14 */
  uint32_t *alerts;         /* NULL or n_series * n_sets * 2 */
  /* per-bar planes of a single-set job (all NULL or all set) */
  double *values;           /* 13 planes of stride */
  int8_t *direction, *alert_plane;
  uint64_t stride;
  double *extra;            /* NULL or 3 planes of stride (needs values and accounts) */
  /* portfolio partial sums (NULL or all set; needs accounts) */
  const uint32_t *u_index;
  uint64_t n_u;
  double *sums, *counts;
  int32_t want_trades;
  /* out: the closed trades (9 doubles each) in series, set, time order; free with atc_cuda_free */
  double *trades;
  uint64_t n_trades;
  /* device bytes per chunk; 0 = automatic (ATC_CUDA_CHUNK_BYTES, else a share of free memory) */
  uint64_t chunk_bytes;
  /* out */
  AtcCudaTimes times;
  /* out: the series an ATC_CUDA_STATE_INVALID error is about */
  uint64_t error_series;
} AtcCudaJob;

enum { ATC_CUDA_NONE = 0, ATC_CUDA_GPU = 1, ATC_CUDA_HOST = 2 };

typedef struct {
  int32_t kind; /* ATC_CUDA_NONE (reason: atc_cuda_last_error), _GPU, or _HOST (this is the host build) */
  int32_t device_count;
  int32_t driver_version, runtime_version; /* 1000 * major + 10 * minor */
  int32_t cc_major, cc_minor, sm_count;
  uint64_t total_memory, free_memory;
  char name[256];
} AtcCudaInfo;

/* Return codes of atc_cuda_job. */
enum { ATC_CUDA_OK = 0, ATC_CUDA_INVALID_ARGUMENT = 1, ATC_CUDA_UNAVAILABLE = 2, ATC_CUDA_STATE_INVALID = 3 };

int32_t atc_cuda_abi(void);
const char *atc_cuda_kernel_version(void);
/* Fills `info` for device 0; returns info->kind. */
int32_t atc_cuda_info(AtcCudaInfo *info);
/* Runs a job; on an error the text is in atc_cuda_last_error(). A validation error leaves every
 * output as it was; a device failure in the middle of a job may leave chunks already written. */
int32_t atc_cuda_job(AtcCudaJob *job);
/* The last error of the calling thread. */
const char *atc_cuda_last_error(void);
void atc_cuda_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
