// The engines every parity test runs on. The native one is required when CI says so
// (ATC_REQUIRE_NATIVE=1), so that a broken kernel build cannot turn its tests into skips.

import { loadNative } from '../../src/engine/native.js';
import type { EngineName } from '../../src/engine/select.js';

const native = loadNative();
if (!native.ok && process.env.ATC_REQUIRE_NATIVE === '1') {
  throw new Error(`the native kernel is required here but unavailable: ${native.reason}`);
}
if (!native.ok) console.warn(`rust engine tests skipped: ${native.reason}`);

export const NATIVE_OK = native.ok;
export const ENGINES: EngineName[] = native.ok ? ['ts', 'rust'] : ['ts'];
