#!/usr/bin/env node
// `atc --version` is answered before the commands load: they pull in DuckDB and the native
// kernel (~0.8 s), which printing a version does not need.
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  const { packageInfo } = await import('../util/package-root.js');
  process.stdout.write(`${packageInfo().version}\n`);
} else {
  const { run } = await import('./run.js');
  process.exitCode = await run(argv);
}
