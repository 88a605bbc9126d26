// @duckdb/node-api loaded with require: imported as ESM, Node lexed its ~180 CommonJS files for
// their named exports first, ~0.13 s of every command's start (measured: import 270-350 ms,
// require 125-160 ms, the native library's load included). Types still come from the package.

import { createRequire } from 'node:module';
import type * as Api from '@duckdb/node-api';

export const duckdbApi = createRequire(import.meta.url)('@duckdb/node-api') as typeof Api;
