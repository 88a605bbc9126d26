// A vitest reporter that names the test files that did not finish. When a test process dies
// (a native crash, a kill), vitest reports only "Worker exited unexpectedly" and leaves the
// file out of its list: this says which file and which test was running, last, where a CI log
// that keeps only its tail still shows it.

import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class UnfinishedReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const m of modules) {
      const tests = [...m.children.allTests()];
      const pending = tests.filter((t) => t.result().state === 'pending');
      if (pending.length === 0 && m.state() !== 'pending' && m.state() !== 'queued') continue;
      const ran = tests.length - pending.length;
      process.stderr.write(
        `unfinished: ${relative(process.cwd(), m.moduleId)}: ${ran} of ${tests.length} tests ran; running when it stopped: ${pending[0] ? `"${pending[0].fullName}"` : 'none (before its tests)'}\n`,
      );
    }
  }
}
