// The host build (ATC_HOST_BUILD, compiled by g++ as C++17) reads the same sources as nvcc:
// without nvcc the CUDA qualifiers mean nothing, so the __host__ __device__ functions become
// ordinary inline functions and each kernel a loop over its thread indices (engine.cu).
#ifndef ATC_CUDA_COMPAT_H
#define ATC_CUDA_COMPAT_H

#ifndef __CUDACC__
#define __host__
#define __device__
#define __global__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
#endif

#define HD __host__ __device__ __forceinline__

#endif
