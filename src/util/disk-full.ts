// A write that failed for want of space (ENOSPC from Node, "No space left on device" from
// DuckDB, possibly wrapped in another error) as ATC_ERR_DISK_FULL naming the path it wrote.

import { AtcError } from '../errors.js';

const NO_SPACE = /ENOSPC|No space left on device|Disk is full/i;

/** The disk-full error for `e`, or undefined when `e` is something else. `where` names the
 *  places written when the error does not say which file it was. */
export function diskFullError(e: unknown, where: string): AtcError | undefined {
  if (e instanceof AtcError && e.code === 'ATC_ERR_DISK_FULL') return e;
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const path = (c as NodeJS.ErrnoException).path;
    if ((c as NodeJS.ErrnoException).code !== 'ENOSPC' && !NO_SPACE.test(c.message)) continue;
    const file = path ?? /"([^"]+)"/.exec(c.message)?.[1] ?? /'([^']+)'/.exec(c.message)?.[1] ?? where;
    return new AtcError('ATC_ERR_DISK_FULL', `${file}: no space left on the device (${where}); what was committed is kept: free space and run the same command again to resume`, { cause: e });
  }
  return undefined;
}
