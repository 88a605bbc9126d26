// Where nvcc is: $NVCC, PATH, $CUDA_HOME/bin or /usr/local/cuda/bin. Undefined without one, or
// with ATC_SKIP_CUDA=1.

import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findNvcc() {
  if (process.env.ATC_SKIP_CUDA === '1') return undefined;
  if (process.env.NVCC && existsSync(process.env.NVCC)) return process.env.NVCC;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(process.env.CUDA_HOME ?? '/usr/local/cuda', 'bin')];
  return dirs.map((d) => d && join(d, 'nvcc')).find((p) => p && existsSync(p));
}
