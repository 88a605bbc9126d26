// One engine selector: auto|rust|ts|cuda -> {engine, reason}; fallbacks carry a reason.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveParams } from '../../src/config/params.js';
import { createJobKernel } from '../../src/engine/job.js';
import { type GpuInfo, gpuInfo, loadNative } from '../../src/engine/native.js';
import { AUTO_CUDA, autoNative, checkStrategyEngine, selectEngine } from '../../src/engine/select.js';
import { chooseSimd, measurePaths } from '../../src/engine/simd.js';
import { atc, tempDir } from '../helpers/cli.js';
import { NATIVE_OK } from '../helpers/engines.js';

describe('selectEngine', () => {
  it('ts is always available', () => {
    expect(selectEngine('ts').engine).toBe('ts');
  });

  it('cuda runs where the CUDA engine is usable, and is otherwise ATC_ERR_ENGINE_UNAVAILABLE with the reason', () => {
    const g = gpuInfo();
    if (g.ok) {
      const c = selectEngine('cuda');
      expect(c.engine).toBe('cuda');
      expect(c.reason).toContain(g.kind === 'host' ? 'host build' : g.name);
    } else {
      expect(() => selectEngine('cuda')).toThrowError(expect.objectContaining({ code: 'ATC_ERR_ENGINE_UNAVAILABLE', message: `engine cuda is not available: ${g.reason}` }));
      expect(() => createJobKernel([{ params: resolveParams(), trade: { mode: 'long-short', feeBps: 0, slippageBps: 0 } }], 'cuda')).toThrowError(
        expect.objectContaining({ code: 'ATC_ERR_ENGINE_UNAVAILABLE' }),
      );
    }
  });

  it.skipIf(!NATIVE_OK)('--engine cuda without the CUDA engine is ATC_ERR_ENGINE_UNAVAILABLE with the reason', async () => {
    const r = await atc(['run', '--engine', 'cuda', '--out', `/tmp/atc-nocuda-${process.pid}`], { ATC_CUDA_LIB: '/nonexistent/libatc_cuda.so' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ATC_ERR_ENGINE_UNAVAILABLE/);
    expect(r.stderr).toMatch(/engine cuda is not available: the CUDA engine is not built: \/nonexistent\/libatc_cuda\.so is missing/);
  });

  it.skipIf(!NATIVE_OK)('atc info lists the GPU, or why there is none', async () => {
    const r = await atc(['info', '--json'], { ATC_CUDA_LIB: '/nonexistent/libatc_cuda.so' });
    const info = JSON.parse(r.stdout);
    expect(info.gpu.unavailable).toMatch(/\/nonexistent\/libatc_cuda\.so is missing/);
    expect(info.engine.engine).toBe('rust');
    expect(info.engine.reason).toMatch(/CUDA: the CUDA engine is not built/);
    const text = await atc(['info'], { ATC_CUDA_LIB: '/nonexistent/libatc_cuda.so' });
    expect(text.stdout).toMatch(/^GPU: the CUDA engine is not built/m);
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

describe('auto and the GPU', () => {
  const h200: GpuInfo = {
    ok: true,
    kind: 'gpu',
    library: '/x/libatc_cuda.so',
    name: 'NVIDIA H200',
    deviceCount: 1,
    totalMemory: 141 * 2 ** 30,
    freeMemory: 140 * 2 ** 30,
    driverVersion: 13000,
    runtimeVersion: 13000,
    computeCapability: '9.0',
    smCount: 132,
  };
  const grid = { sets: AUTO_CUDA.minSets, symbols: AUTO_CUDA.minSymbols };
  const AVX2 = { path: 'avx2', reason: 'ATC_SIMD=avx2' };

  it('takes the CUDA engine for a grid over many symbols when a GPU is present, and says why', () => {
    const c = autoNative(AVX2, h200, grid);
    expect(c.engine).toBe('cuda');
    expect(c.reason).toBe(`CUDA engine on NVIDIA H200 (141 GiB, 132 SMs, compute 9.0, driver 13.0, runtime 13.0): a grid of ${grid.sets} sets over ${grid.symbols} symbols`);
  });

  it('keeps the Rust kernel for small work, unknown size, no GPU or the host build, and says why', () => {
    for (const work of [{ sets: 1, symbols: 10_000 }, { sets: grid.sets - 1, symbols: 10_000 }, { sets: 1024, symbols: grid.symbols - 1 }, { sets: 1024 }, undefined]) {
      const c = autoNative(AVX2, h200, work);
      expect(c.engine).toBe('rust');
      expect(c.reason).toMatch(/^native Rust kernel, SIMD path avx2: ATC_SIMD=avx2 \(GPU NVIDIA H200 present; auto takes it for grids of >= 64 sets over >= 1000 symbols; this run: /);
    }
    expect(autoNative(AVX2, { ok: false, reason: 'no usable GPU: cudaErrorNoDevice' }, grid)).toEqual({
      engine: 'rust',
      reason: 'native Rust kernel, SIMD path avx2: ATC_SIMD=avx2 (CUDA: no usable GPU: cudaErrorNoDevice)',
      simdPath: 'avx2',
    });
    expect(autoNative(AVX2, { ...h200, kind: 'host' }, grid).engine).toBe('rust');
  });
});


describe('the SIMD path: $ATC_SIMD, else the fastest measured, cached per CPU and kernel build', () => {
  const native = loadNative();
  const fake = (speeds: Record<string, number>) => {
    const calls: string[][] = [];
    return { calls, measure: (paths: readonly string[]) => (calls.push([...paths]), Object.fromEntries(paths.map((p) => [p, speeds[p] ?? 1]))) };
  };
  afterEach(() => vi.unstubAllEnvs());

  it.skipIf(!native.ok)('measures once, takes the fastest (not the widest), and later reads the cache', () => {
    if (!native.ok) return;
    const file = join(tempDir(), 'simd.json');
    vi.stubEnv('ATC_SIMD_CACHE', file);
    vi.stubEnv('ATC_SIMD', '');
    const slowest = native.paths[0] as string; // the widest
    const fastest = native.paths[native.paths.length - 1] as string;
    const first = fake({ [slowest]: 1e6, [fastest]: 9e6 });
    expect(chooseSimd(native, first.measure)).toMatchObject({ path: fastest, reason: expect.stringMatching(/fastest measured .*measured now, cached in/) });
    expect(first.calls).toEqual([native.paths]);
    const cached = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.values(cached)).toEqual([expect.objectContaining({ best: fastest, barsPerSecond: expect.objectContaining({ [fastest]: 9e6 }) })]);
    const again = fake({ [slowest]: 9e6 });
    expect(chooseSimd(native, again.measure)).toMatchObject({ path: fastest, reason: expect.stringMatching(/cached in/) });
    expect(again.calls).toEqual([]);
  });

  it.skipIf(!native.ok)('ATC_SIMD overrides without measuring; a path the CPU does not run is ATC_ERR_ENGINE_UNAVAILABLE', () => {
    if (!native.ok) return;
    vi.stubEnv('ATC_SIMD_CACHE', join(tempDir(), 'simd.json'));
    vi.stubEnv('ATC_SIMD', 'scalar');
    const f = fake({});
    expect(chooseSimd(native, f.measure)).toEqual({ path: 'scalar', reason: 'ATC_SIMD=scalar' });
    expect(f.calls).toEqual([]);
    expect(selectEngine('auto', () => undefined)).toMatchObject({ engine: 'rust', simdPath: 'scalar' });
    vi.stubEnv('ATC_SIMD', 'neon');
    expect(() => chooseSimd(native, f.measure)).toThrowError(expect.objectContaining({ code: 'ATC_ERR_ENGINE_UNAVAILABLE' }));
  });

  it.skipIf(!native.ok)('the measurement times every path the CPU runs', () => {
    if (!native.ok) return;
    const speeds = measurePaths(native.paths);
    expect(Object.keys(speeds)).toEqual(native.paths);
    for (const v of Object.values(speeds)) expect(v).toBeGreaterThan(0);
  });

  it.skipIf(!native.ok)('atc info and run.json say which path runs and why', async () => {
    const env = { ATC_SIMD_CACHE: join(tempDir(), 'simd.json'), ATC_SIMD: 'portable' };
    const info = JSON.parse((await atc(['info', '--json'], env)).stdout);
    expect(info.native.simdPath).toBe('portable');
    expect(info.engine.reason).toMatch(/SIMD path portable: ATC_SIMD=portable/);
    const out = join(tempDir(), 'run');
    const r = await atc(['run', '--out', out, '--quiet'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).engine).toMatchObject({ engine: 'rust', simdPath: 'portable' });
  });
});

describe('strategies and the CUDA engine', () => {
  it('a strategy other than the ATC on the CUDA engine is ATC_ERR_ENGINE_UNAVAILABLE; the CPU engines and the ATC pass', () => {
    const cuda = { engine: 'cuda' as const, reason: 'requested' };
    expect(() => checkStrategyEngine(cuda, 'supertrend')).toThrow(expect.objectContaining({ code: 'ATC_ERR_ENGINE_UNAVAILABLE', message: expect.stringMatching(/strategy supertrend runs on the CPU engines/) }));
    expect(checkStrategyEngine(cuda, undefined)).toBe(cuda);
    const rust = { engine: 'rust' as const, reason: 'r' };
    expect(checkStrategyEngine(rust, 'supertrend')).toBe(rust);
  });
});
