// The engines every parity test runs on. The native one is required when CI says so
// (ATC_REQUIRE_NATIVE=1), so that a broken kernel build cannot turn its tests into skips.

import { gpuInfo, loadNative } from '../../src/engine/native.js';
import type { StepEngineName } from '../../src/engine/select.js';

const native = loadNative();
if (!native.ok && process.env.ATC_REQUIRE_NATIVE === '1') {
  throw new Error(`the native kernel is required here but unavailable: ${native.reason}`);
}
if (!native.ok) console.warn(`rust engine tests skipped: ${native.reason}`);

export const NATIVE_OK = native.ok;
export const ENGINES: StepEngineName[] = native.ok ? ['ts', 'rust'] : ['ts'];

// The CUDA engine runs jobs only. Without a GPU its cases skip, except under `npm run test:cuda`,
// which points ATC_CUDA_LIB at the host build (the same code on the CPU).
const gpu = gpuInfo();
if (!gpu.ok) console.warn(`cuda engine tests skipped: ${gpu.reason}`);
export const CUDA_OK = gpu.ok;
export const JOB_ENGINES: ('rust' | 'cuda')[] = [...(native.ok ? (['rust'] as const) : []), ...(gpu.ok ? (['cuda'] as const) : [])];
