// The report page: one HTML file with everything inlined (uPlot's script and stylesheet from
// node_modules, the page script compiled from page/app.ts, the data as JSON). A Content
// Security Policy forbids every fetch, so the file cannot reach the network even by mistake.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AtcError } from '../errors.js';
import { packageInfo } from '../util/package-root.js';
import type { ReportData } from './model.js';
import { STYLE } from './style.js';

const require = createRequire(import.meta.url);

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtcError('ATC_ERR_DATA_READ', `cannot read ${what} (${path}): ${(e as Error).message}; reinstall (npm install builds it)`, { cause: e });
  }
}

/** Text that cannot end the <script> or <style> element it is inlined in. */
function inline(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1');
}

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export function renderHtml(data: ReportData): string {
  const uplotJs = read(require.resolve('uplot/dist/uPlot.iife.min.js'), "uPlot's script");
  const uplotCss = read(require.resolve('uplot/dist/uPlot.min.css'), "uPlot's stylesheet");
  // the page script is compiled with the rest (tsconfig.page.json); tests run src/, so dist/ is named
  const app = read(join(packageInfo().root, 'dist', 'src', 'report', 'page', 'app.js'), 'the report page script');
  // "</script" would end the element: every "<" is written as the JSON escape \u003c
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${inline(uplotCss)}</style>
<style>${inline(STYLE)}</style>
</head>
<body>
<noscript>This report draws its charts and tables with JavaScript.</noscript>
<script type="application/json" id="report-data">${json}</script>
<script>${inline(uplotJs)}</script>
<script type="module">${inline(app)}</script>
</body>
</html>
`;
}
