// Datasets shipped with the package: the embedded sample and the synthetic generators.

import { join } from 'node:path';
import { packageInfo } from '../src/util/package-root.js';

export { ohlcWalks, randomWalks, Rng } from './generators/synthetic.js';

/** A few dozen real daily US stocks (datasets/sample/README.md), for a run on a fresh machine. */
export function sampleDataset(): string {
  return join(packageInfo().root, 'datasets', 'sample', 'daily_stocks_sample.parquet');
}
