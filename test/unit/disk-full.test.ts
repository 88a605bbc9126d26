// Disk-full errors from Node (ENOSPC with a path) and DuckDB (the message names the file),
// also wrapped as the cause of another error, become ATC_ERR_DISK_FULL naming the file.

import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { diskFullError } from '../../src/util/disk-full.js';

describe('diskFullError', () => {
  it('names the file of a Node ENOSPC, of a DuckDB IO error, also as a cause; leaves other errors alone', () => {
    const node = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/o/manifest.jsonl' });
    expect(diskFullError(node, '--out /o')).toMatchObject({ code: 'ATC_ERR_DISK_FULL', message: expect.stringMatching(/^\/o\/manifest\.jsonl: no space left on the device \(--out \/o\); .*resume/) });
    const duck = new Error('IO Error: Could not write file "/c/segments/.tmp-1-ab.parquet": No space left on device');
    const wrapped = new DataError('ATC_ERR_DATA_READ', 'x.parquet: could not read', {}, { cause: duck });
    expect(diskFullError(wrapped, '--out /o')).toMatchObject({ code: 'ATC_ERR_DISK_FULL', message: expect.stringMatching(/^\/c\/segments\/\.tmp-1-ab\.parquet: /) });
    expect(diskFullError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), '--out /o')?.message).toMatch(/^--out \/o: no space left/);
    expect(diskFullError(new Error('IO Error: Permission denied'), '--out /o')).toBeUndefined();
    expect(diskFullError('ENOSPC as a string', '--out /o')).toBeUndefined();
  });
});
