// The `atc run` job: Parquet bars -> load -> execute (kernel) -> persist (Parquet signals).

import { mkdirSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type AtcParams, minimumBars } from '../config/params.js';
import { readBars, readSymbols } from '../data/bars-reader.js';
import { openDb } from '../data/duckdb.js';
import { openBarSource } from '../data/source.js';
import { createKernel } from '../engine/kernel.js';
import { type EngineChoice, type EngineRequest, selectEngine } from '../engine/select.js';
import { AtcError } from '../errors.js';
import { Executor } from '../stages/execute/index.js';
import { loadBatches } from '../stages/load/index.js';
import { SignalsWriter } from '../stages/persist/signals.js';

export const OUTPUTS = ['signals'] as const;
export type OutputKind = (typeof OUTPUTS)[number];

export interface RunJobOptions {
  data: string;
  out: string;
  params: AtcParams;
  engine: EngineRequest;
  outputs: readonly OutputKind[];
  /** bars per kernel call */
  batchBars: number;
  overwrite: boolean;
  log: (msg: string) => void;
}

export interface RunJobResult {
  engine: EngineChoice;
  symbols: number;
  bars: number;
  batches: number;
  seconds: number;
  files: string[];
}

export async function runJob(o: RunJobOptions): Promise<RunJobResult> {
  const t0 = performance.now();
  const engine = selectEngine(o.engine, o.log);
  const kernel = createKernel(o.params, engine.engine);
  const signalsDir = join(o.out, 'signals');
  if (existsSync(signalsDir) && readdirSync(signalsDir).length > 0) {
    if (!o.overwrite) {
      throw new AtcError('ATC_ERR_OUTPUT_EXISTS', `${signalsDir} already holds results; pass --overwrite to replace them`);
    }
    rmSync(signalsDir, { recursive: true, force: true });
  }
  const db = await openDb();
  try {
    const src = await openBarSource(db.conn, o.data);
    const symbols = await readSymbols(db.conn, src);
    if (o.outputs.includes('signals')) mkdirSync(signalsDir, { recursive: true });
    // The writer's COPY statements must not run on the reading connection: a new statement
    // ends the pending streamed result there.
    const writer = new SignalsWriter(await db.connect());
    const exec = new Executor(kernel);
    const files: string[] = [];
    let bars = 0;
    let batches = 0;
    const batchIter = loadBatches(readBars(db.conn, src, symbols), {
      symbols,
      capacity: o.batchBars,
      minBars: minimumBars(o.params),
      file: o.data,
    });
    for await (const batch of batchIter) {
      const out = exec.run(batch);
      if (o.outputs.includes('signals')) {
        const file = join(signalsDir, `part-${String(batch.seq).padStart(6, '0')}.parquet`);
        await writer.write(file, batch, out);
        files.push(file);
      }
      bars += batch.n;
      batches++;
    }
    return { engine, symbols: symbols.length, bars, batches, seconds: (performance.now() - t0) / 1000, files };
  } finally {
    db.close();
  }
}
