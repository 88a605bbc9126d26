// `atc info`: versions, the engine `auto` would pick and why, SIMD paths, the GPU (or why none).

import { describeGpu, gpuInfo, loadNative } from '../../engine/native.js';
import { AUTO_CUDA, selectEngine } from '../../engine/select.js';
import { packageInfo } from '../../util/package-root.js';
import type { Command } from '../args.js';
import type { Io } from '../io.js';

export function infoCommand(io: Io): Command {
  return {
    name: 'info',
    describe: 'show versions, which kernel engine is used, and the GPU',
    flags: { json: { type: 'boolean', default: false } },
    run: (argv) => {
      const n = loadNative();
      const choice = selectEngine('auto', () => undefined);
      const gpu = gpuInfo();
      const info = {
        version: packageInfo().version,
        node: process.version,
        engine: choice,
        native: n.ok ? { file: n.file, simdPaths: n.paths, simdPath: choice.simdPath } : { file: n.file, unavailable: n.reason },
        gpu: gpu.ok ? gpu : { unavailable: gpu.reason },
        autoCuda: AUTO_CUDA,
      };
      if (argv.json) io.out(JSON.stringify(info) + '\n');
      else {
        io.out(`atc ${info.version} (node ${info.node})\n`);
        io.out(`engine: ${choice.engine} (${choice.reason})\n`);
        io.out(n.ok ? `native kernel: ${n.file}\nSIMD paths: ${n.paths.join(', ')}; runs ${choice.simdPath ?? n.paths[0]}\n` : `native kernel: unavailable: ${n.reason}\n`);
        if (!gpu.ok) io.out(`GPU: ${gpu.reason}\n`);
        else if (gpu.kind === 'host') io.out(`GPU: none; ${describeGpu(gpu)}: --engine cuda runs its code on the CPU (for tests)\n`);
        else io.out(`GPU: ${describeGpu(gpu)}; --engine cuda runs on it; auto takes it for grids of >= ${AUTO_CUDA.minSets} sets over >= ${AUTO_CUDA.minSymbols} symbols\n`);
      }
    },
  };
}
