// A report opened in headless Chromium (the system's Debian `chromium`, driven by
// playwright-core; never a downloaded browser), as the tests and the benchmark look at it: every
// console error and every request other than the file itself is recorded.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Chromium binary: $ATC_CHROMIUM, else `chromium` or `chromium-browser` on the PATH;
 *  undefined if none. */
export function findChromium(): string | undefined {
  const env = process.env.ATC_CHROMIUM;
  if (env) return existsSync(env) ? env : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return ['chromium', 'chromium-browser'].flatMap((name) => dirs.map((d) => join(d, name))).find((p) => existsSync(p));
}

// no GPU, no background traffic of the browser's own (updates, sync, field trials)
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (removed on close). */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'atc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedReport {
  page: Page;
  url: string;
  /** console errors and uncaught exceptions */
  errors: string[];
  /** every request but the report file itself */
  requests: string[];
  /** ms from navigation start until the page said it was ready (every chart drawn) */
  readyMs: number;
}

export async function openReport(b: Browser, file: string, timeoutMs = 30_000): Promise<OpenedReport> {
  const page = await b.context.newPage();
  const url = pathToFileURL(resolve(file)).href;
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: timeoutMs });
  const readyMs = Number(await page.evaluate('document.body.dataset.ready'));
  return { page, url, errors, requests, readyMs };
}
