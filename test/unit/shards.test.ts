import { describe, expect, it } from 'vitest';
import { chunkStarts, parseShard, planShards } from '../../src/distributed/shards.js';

describe('shards', () => {
  it('chunk starts replay the loader: whole symbols per chunk, a long symbol alone, a short one withdrawn', () => {
    // chunk 10: [4,4] | [4] moves (8+4 > 10) | [25] alone (cut into blocks, 5 left) | [3] fits, [2] too short (withdrawn) | ...
    const rows = [4, 4, 4, 25, 3, 2, 6];
    const starts = chunkStarts(rows, 10, 3);
    expect(starts.map((s) => s.code)).toEqual([0, 2, 3, 6]);
    expect(starts.map((s) => s.before)).toEqual([0, 8, 12, 42]);
  });

  it('shards fall on chunk starts, cover every symbol once, and hold about equal bars', () => {
    const rows = Array.from({ length: 40 }, (_, i) => 50 + ((i * 37) % 23));
    const starts = new Set(chunkStarts(rows, 200, 1).map((s) => s.code));
    for (const n of [1, 2, 3, 7]) {
      const shards = planShards({ rows }, n, 200, 1);
      expect(shards).toHaveLength(n);
      expect(shards[0]?.from).toBe(0);
      expect(shards.at(-1)?.to).toBe(rows.length);
      for (let k = 1; k < n; k++) {
        expect(shards[k]?.from).toBe(shards[k - 1]?.to);
        expect(starts.has(shards[k]?.from as number)).toBe(true);
      }
      const total = rows.reduce((a, b) => a + b, 0);
      // within one chunk (200 bars) of an equal share
      for (const s of shards) expect(Math.abs(s.bars - total / n)).toBeLessThanOrEqual(200);
    }
  });

  it('more shards than chunks: the extra shards are empty', () => {
    const shards = planShards({ rows: [5, 5, 5] }, 5, 100, 1);
    expect(shards.map((s) => s.to - s.from).reduce((a, b) => a + b, 0)).toBe(3);
    expect(shards.filter((s) => s.to === s.from)).toHaveLength(4);
  });

  it('parses i/n', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(() => parseShard('5/5')).toThrow(/0 <= i < n/);
    expect(() => parseShard('x')).toThrow(/i\/n/);
  });
});
