// A shard computed twice at the same time (a stalled job retried while its first worker still
// runs) commits once: the rename of the first finished copy is the commit, the other is discarded.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleDataset } from '../../datasets/index.js';
import { resolveJob } from '../../src/config/options.js';
import { computeShard, listShards } from '../../src/distributed/shard-run.js';
import { tempDir } from '../helpers/cli.js';

describe('shard commits', () => {
  it('a shard computed twice at once is committed once', async () => {
    const out = join(tempDir('atc-shard-'), 'run');
    const { out: _o, overwrite: _w, ...job } = resolveJob({ out, chunkBars: 2000, workers: 1, cache: false, outputs: ['summary', 'stats'] }, 'options');
    const spec = { ...job, data: sampleDataset() };
    const shard = { index: 1, count: 3 };
    const log: string[] = [];
    const rs = await Promise.all([0, 1].map(() => computeShard(spec, out, shard, { log: (m) => log.push(m) })));
    expect(rs.map((r) => r.committed).sort()).toEqual([false, true]);
    // both computed it: the second rename found the shard committed
    expect(log.join('\n')).toMatch(/committed by another worker meanwhile: this copy is discarded/);
    const { sealed, temporary } = listShards(out);
    expect(sealed.map((s) => s.shard)).toEqual([shard]);
    expect(temporary).toEqual([]);
    // and once committed, computing it again does nothing
    expect((await computeShard(spec, out, shard, { log: () => undefined })).committed).toBe(false);
  });
});
