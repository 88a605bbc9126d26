#!/usr/bin/env bash
# The CUDA engine on a GPU machine, in one command (Node may be missing there):
#   1. builds the device library (kernels/cuda/build.sh device: sm_90 + PTX);
#   2. runs the parity tests on the device: every golden file of both profiles and the random
#      series x grids against the Rust kernel, bit for bit (kernels/gpu/tests);
#   3. runs the benchmark (kernels/gpu/examples/gpu_bench.rs): grids of 64, 256, 1,024 sets over
#      1,000 and 10,000 symbols x 5,000 bars, bar-sets/s against the Rust job on 1, 2 and all
#      cores, and where the device time goes (upload, shared part, per-set part, download).
# Prepare first where Node is: `npm run build:ts && node scripts/gpu-kit.mjs` (golden fixtures
# and prebuilt test and bench binaries into bench/gpu/kit/, which the run carries). The prebuilt
# binaries are used (GPU time is scarce); without them, or with ATC_GPU_USE_CARGO=1, cargo
# builds the tests and the bench there.
#
#   bash bench/gpu/run.sh [gpu_bench flags, e.g. --sets 64,256 --symbols 1000 --budget-s 300]
#
# Everything it prints is also written to $OUT (default bench/gpu/kit/out).
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=bench/gpu/kit
out=${OUT:-$kit/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee "$out/run.log") 2>&1
say() { echo "gpu run: $*"; }
[ -d "$kit/fixtures" ] || { say "no $kit/fixtures: run 'node scripts/gpu-kit.mjs' where Node is, and carry $kit"; exit 1; }
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi | tee "$out/nvidia-smi.txt"; else say "nvidia-smi not found"; fi
t0=$(date +%s)
sh kernels/cuda/build.sh device "$out/libatc_cuda.so"
say "device library built in $(($(date +%s) - t0)) s"
export ATC_CUDA_LIB="$out/libatc_cuda.so" ATC_CUDA_FIXTURES="$PWD/$kit/fixtures" ATC_CUDA_TEST_REQUIRE=1 ATC_CUDA_TEST_GPU=1
t0=$(date +%s)
if [ ! -x "$kit/bin/parity" ] || [ "${ATC_GPU_USE_CARGO:-0}" = 1 ]; then
  cargo test --release --offline --manifest-path kernels/Cargo.toml -p atc-gpu -- --nocapture
  cargo build --release --offline --manifest-path kernels/Cargo.toml -p atc-gpu --example gpu_bench
  bench=kernels/target/release/examples/gpu_bench
else
  for t in golden parity; do "$kit/bin/$t" --nocapture; done
  bench=$kit/bin/gpu_bench
fi
say "parity tests passed on the device in $(($(date +%s) - t0)) s"
"$bench" "$@" | tee "$out/bench.txt"
