#!/bin/sh
# Builds the CUDA engine (the one place its compile lines live; scripts/build.mjs,
# scripts/test-cuda.mjs and bench/gpu/run.sh call it).
#   sh kernels/cuda/build.sh device <out.so>   nvcc: sm_90 SASS + compute_90 PTX, cudart static
#   sh kernels/cuda/build.sh host <out.so>     g++: the same sources computing on the CPU
# Both: no contraction (--fmad=false / -ffp-contract=off), no fast-math, IEEE division and sqrt,
# so that the arithmetic gives the bits of the Rust kernel (kernels/cuda/math.cuh).
set -eu
mode=$1
out=$2
dir=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^pub const KERNEL_VERSION: &str = "\(.*\)";/\1/p' "$dir/../core/src/lib.rs")
[ -n "$version" ] || { echo "build.sh: KERNEL_VERSION not found in kernels/core/src/lib.rs" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
case $mode in
  device)
    "${NVCC:-nvcc}" -O3 -std=c++17 --fmad=false -prec-div=true -prec-sqrt=true -ftz=false \
      -Xcompiler -fPIC,-ffp-contract=off -shared -cudart static \
      -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
      -DATC_KERNEL_VERSION="\"$version\"" -o "$out" "$dir/engine.cu"
    ;;
  host)
    "${CXX:-g++}" -O2 -std=c++17 -fPIC -shared -ffp-contract=off -fno-fast-math \
      -DATC_HOST_BUILD -DATC_KERNEL_VERSION="\"$version\"" -x c++ -o "$out" "$dir/engine.cu"
    ;;
  *)
    echo "usage: build.sh device|host <out.so>" >&2
    exit 2
    ;;
esac
