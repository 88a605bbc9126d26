// The one engine selector: auto|rust|ts|cuda -> {engine, reason}. Every fallback carries a
// human reason and is logged; an explicitly requested engine that is unavailable is an error.

import { EngineUnavailableError, KernelLayoutError } from '../errors.js';
import { loadNative } from './native.js';

export type EngineName = 'rust' | 'ts';
export type EngineRequest = 'auto' | 'rust' | 'ts' | 'cuda';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'rust', 'ts', 'cuda'];

export interface EngineChoice {
  engine: EngineName;
  reason: string;
}

export function selectEngine(request: EngineRequest = 'auto', log: (msg: string) => void = (m) => process.stderr.write(`atc: ${m}\n`)): EngineChoice {
  switch (request) {
    case 'ts':
      return { engine: 'ts', reason: 'requested: TypeScript reference kernel' };
    case 'cuda':
      throw new EngineUnavailableError(
        'engine cuda is not available in this build: the CUDA grid engine is not implemented yet; use --engine auto|rust|ts',
      );
    case 'rust': {
      const n = loadNative();
      if (!n.ok && n.code === 'ATC_ERR_KERNEL_LAYOUT') throw new KernelLayoutError(n.field ?? '?', n.reason);
      if (!n.ok) throw new EngineUnavailableError(`engine rust is not available: ${n.reason}`);
      return { engine: 'rust', reason: `requested: native Rust kernel, SIMD path ${n.paths[0]}` };
    }
    case 'auto': {
      const n = loadNative();
      if (n.ok) return { engine: 'rust', reason: `native Rust kernel, SIMD path ${n.paths[0]}` };
      const reason = `falling back to the TypeScript reference kernel (much slower): ${n.reason}`;
      log(reason);
      return { engine: 'ts', reason };
    }
    default:
      throw new EngineUnavailableError(`unknown engine ${String(request)}; use auto|rust|ts|cuda`);
  }
}
