import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Heavy, GPU and stress suites have their own scripts.
    exclude: ['test/stress/**', 'test/gpu/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // the default output, and the files a dying test process left unfinished
    reporters: ['default', './test/helpers/unfinished-reporter.ts'],
    // No result cache unless a test names one (--cache): tests must compute what they check.
    env: { ATC_CACHE_DIR: 'off' },
  },
});
