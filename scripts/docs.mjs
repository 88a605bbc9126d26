#!/usr/bin/env node
// Rewrites the README's column lists (between the `schema` markers) from the result schemas
// (src/results/schema.ts, built into dist/). `npm run docs`; test/unit/schema.test.ts checks
// that the README is up to date.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { schemaMarkdown } = await import(join(root, 'dist', 'src', 'results', 'schema.js'));
const file = join(root, 'README.md');
const text = readFileSync(file, 'utf8');
const begin = '<!-- schema:begin (npm run docs) -->';
const end = '<!-- schema:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('README.md has no schema markers');
writeFileSync(file, text.slice(0, a + begin.length) + '\n' + schemaMarkdown() + text.slice(b));
