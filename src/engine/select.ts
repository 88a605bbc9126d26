// The one engine selector: auto|rust|ts|cuda -> {engine, reason}. Every fallback carries a
// human reason and is logged; an explicitly requested engine that is unavailable is an error.

import { EngineUnavailableError, KernelLayoutError } from '../errors.js';
import { describeGpu, type GpuInfo, gpuInfo, loadNative } from './native.js';
import { chooseSimd, type SimdChoice } from './simd.js';

export type EngineName = 'rust' | 'ts' | 'cuda';
/** The engines of the single-set step API (kernel.ts); the CUDA engine runs jobs (job.ts). */
export type StepEngineName = Exclude<EngineName, 'cuda'>;
export type EngineRequest = 'auto' | 'rust' | 'ts' | 'cuda';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'rust', 'ts', 'cuda'];

export interface EngineChoice {
  engine: EngineName;
  reason: string;
  /** the native SIMD path the Rust engine runs (simd.ts: $ATC_SIMD or the fastest measured) */
  simdPath?: string;
}

/** The size of a run, as far as the caller knows it. */
export interface Work {
  sets: number;
  symbols?: number | undefined;
}

/** `auto` takes the CUDA engine from this much work on: one launch then covers many (symbol,
 *  set) threads; below it transfers and launches cost more than a CPU sweep. */
export const AUTO_CUDA = { minSets: 64, minSymbols: 1000 } as const;

export function selectEngine(request: EngineRequest = 'auto', log: (msg: string) => void = (m) => process.stderr.write(`atc: ${m}\n`), work?: Work): EngineChoice {
  switch (request) {
    case 'ts':
      return { engine: 'ts', reason: 'requested: TypeScript reference kernel' };
    case 'cuda': {
      const g = gpuInfo();
      if (!g.ok) throw new EngineUnavailableError(`engine cuda is not available: ${g.reason}`);
      return { engine: 'cuda', reason: `requested: CUDA engine on ${describeGpu(g)}` };
    }
    case 'rust': {
      const n = loadNative();
      if (!n.ok && n.code === 'ATC_ERR_KERNEL_LAYOUT') throw new KernelLayoutError(n.field ?? '?', n.reason);
      if (!n.ok) throw new EngineUnavailableError(`engine rust is not available: ${n.reason}`);
      const simd = chooseSimd(n);
      return { engine: 'rust', reason: `requested: native Rust kernel, SIMD path ${simd.path}: ${simd.reason}`, simdPath: simd.path };
    }
    case 'auto': {
      const n = loadNative();
      if (n.ok) return autoNative(chooseSimd(n), gpuInfo(), work);
      const reason = `falling back to the TypeScript reference kernel (much slower): ${n.reason}`;
      log(reason);
      return { engine: 'ts', reason };
    }
    default:
      throw new EngineUnavailableError(`unknown engine ${String(request)}; use auto|rust|ts|cuda`);
  }
}

/** `auto` once the native kernel loads: the CUDA engine for a large run on a GPU (a grid over
 *  many symbols, both known), else the Rust kernel; the reason says which and why. */
export function autoNative(simd: SimdChoice, g: GpuInfo, work: Work | undefined): EngineChoice {
  const rust = `native Rust kernel, SIMD path ${simd.path}: ${simd.reason}`;
  const simdPath = simd.path;
  if (!g.ok) return { engine: 'rust', reason: `${rust} (CUDA: ${g.reason})`, simdPath };
  if (g.kind !== 'gpu') return { engine: 'rust', reason: `${rust} (CUDA: only the host build is loaded: ${g.library})`, simdPath };
  const { minSets, minSymbols } = AUTO_CUDA;
  const large = work !== undefined && work.sets >= minSets && work.symbols !== undefined && work.symbols >= minSymbols;
  if (!large) {
    const size = work ? `${work.sets} set(s)${work.symbols !== undefined ? ` over ${work.symbols} symbols` : ', symbols not known yet'}` : 'no grid given';
    return { engine: 'rust', reason: `${rust} (GPU ${g.name} present; auto takes it for grids of >= ${minSets} sets over >= ${minSymbols} symbols; this run: ${size})`, simdPath };
  }
  return { engine: 'cuda', reason: `CUDA engine on ${describeGpu(g)}: a grid of ${work.sets} sets over ${work.symbols} symbols` };
}

/** A strategy other than the ATC runs on the CPU engines: the CUDA engine implements the ATC's job. */
export function checkStrategyEngine(choice: EngineChoice, strategy: string | undefined): EngineChoice {
  if (strategy && choice.engine === 'cuda') throw new EngineUnavailableError(`strategy ${strategy} runs on the CPU engines (rust, ts): the CUDA engine implements the ATC's job only`);
  return choice;
}
