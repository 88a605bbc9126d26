// One engine selector: auto|rust|ts|cuda -> {engine, reason}; fallbacks carry a reason.

import { describe, expect, it } from 'vitest';
import { selectEngine } from '../../src/engine/select.js';
import { atc } from '../helpers/cli.js';
import { NATIVE_OK } from '../helpers/engines.js';

describe('selectEngine', () => {
  it('ts is always available', () => {
    expect(selectEngine('ts').engine).toBe('ts');
  });

  it('cuda is not part of this build: a coded error, not a silent fallback', () => {
    expect(() => selectEngine('cuda')).toThrowError(expect.objectContaining({ code: 'ATC_ERR_ENGINE_UNAVAILABLE' }));
  });

  it.skipIf(!NATIVE_OK)('auto picks rust when the native kernel loads, and says which SIMD path', () => {
    const c = selectEngine('auto');
    expect(c.engine).toBe('rust');
    expect(c.reason).toMatch(/SIMD path (avx512|avx2|portable)/);
  });

  it('auto falls back to ts with the reason when the kernel is missing, and logs it', async () => {
    const r = await atc(['info', '--json'], { ATC_NATIVE_PATH: '/nonexistent/atc_kernel.node' });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.engine.engine).toBe('ts');
    expect(info.engine.reason).toMatch(/native kernel not built: \/nonexistent\/atc_kernel\.node is missing/);
    const run = await atc(['run', '--out', `/tmp/atc-fallback-${process.pid}`, '--overwrite'], { ATC_DISABLE_NATIVE: '1' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/falling back to the TypeScript reference kernel/);
  });

  it('an explicit --engine rust without the kernel is ATC_ERR_ENGINE_UNAVAILABLE', async () => {
    const r = await atc(['run', '--engine', 'rust', '--out', `/tmp/atc-norust-${process.pid}`], { ATC_DISABLE_NATIVE: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ATC_ERR_ENGINE_UNAVAILABLE/);
  });

  it('a kernel built for another package version or kernel version is refused', async () => {
    const fake = new URL('../fixtures/fake-addon.cjs', import.meta.url).pathname;
    let r = await atc(['info', '--json'], { ATC_NATIVE_PATH: fake });
    let info = JSON.parse(r.stdout);
    expect(info.engine.engine).toBe('ts');
    expect(info.engine.reason).toMatch(/native kernel 0\.0\.0-other does not match package/);
    r = await atc(['info', '--json'], { ATC_NATIVE_PATH: fake, FAKE_ADDON_VERSION: info.version, FAKE_KERNEL_VERSION: 'atc-kernel/0' });
    info = JSON.parse(r.stdout);
    expect(info.engine.engine).toBe('ts');
    expect(info.engine.reason).toMatch(/native kernel is atc-kernel\/0/);
  });

  it('a file that is not a kernel fails to load with a reason, not a crash', async () => {
    const r = await atc(['info', '--json'], { ATC_NATIVE_PATH: new URL(import.meta.url).pathname });
    expect(JSON.parse(r.stdout).engine.reason).toMatch(/native kernel failed to load/);
  });
});
