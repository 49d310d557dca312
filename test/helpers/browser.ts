// Real Chromium for the console tests: Debian's /usr/bin/chromium driven by playwright-core (no browser download).
// Each tab records console errors and every request to another host (refused), and is screenshotted on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** The Chromium binary (`.ci/run` installs Debian's `chromium` package when it is missing). */
export const CHROMIUM_PATH = process.env.PERMIO_CHROMIUM ?? '/usr/bin/chromium';

/** `PERMIO_SKIP_BROWSER_TESTS=1` skips the browser tests, and says so; nothing else does. */
export const SKIP_BROWSER_TESTS = process.env.PERMIO_SKIP_BROWSER_TESTS === '1';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Starts headless Chromium; playwright gives every launch a fresh temporary `--user-data-dir`, removed on close. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: install Debian's chromium package (.ci/run does), ` +
        'set PERMIO_CHROMIUM to another binary, or set PERMIO_SKIP_BROWSER_TESTS=1 to skip the browser tests',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface Tab {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors and uncaught exceptions, in order. */
  readonly consoleErrors: string[];
  /** Requests (and WebSockets) to any origin but the server's; they were refused. */
  readonly foreignRequests: string[];
}

let shotsDir: string | undefined;

/**
 * Runs `flow` in a new browser context on `origin`; fails when the page logged a console error or asked another
 * host for anything (unless `allowConsoleErrors`: a test of a failing call, whose HTTP error Chromium logs).
 * On failure a full-page screenshot is written to a temp dir and its path printed.
 */
export async function inTab(
  browser: Browser,
  origin: string,
  name: string,
  flow: (tab: Tab) => Promise<void>,
  opts: { allowConsoleErrors?: boolean; permissions?: string[] } = {},
): Promise<void> {
  const context = await browser.newContext({ baseURL: origin, permissions: opts.permissions });
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    foreignRequests.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== new URL(origin).host) foreignRequests.push(ws.url());
  });
  try {
    await flow({ page, context, consoleErrors, foreignRequests });
    expect(foreignRequests, 'requests to other hosts').toEqual([]);
    if (!opts.allowConsoleErrors) expect(consoleErrors, 'console errors').toEqual([]);
  } catch (err) {
    shotsDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'permio-dashboard-'));
    const file = path.join(shotsDir, `${name.replace(/[^\w-]+/g, '_')}.png`);
    await page.screenshot({ path: file, fullPage: true }).then(
      () => console.error(`screenshot of the failed test "${name}": ${file}`),
      (e) => console.error(`screenshot of "${name}" failed: ${e}`),
    );
    throw err;
  } finally {
    await context.close();
  }
}

/** Every form control on the page has an accessible name (a label, or aria-label / aria-labelledby). */
export async function expectLabelled(page: Page): Promise<void> {
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        const text = el.tagName === 'BUTTON' ? (el.textContent ?? '').trim() : '';
        return !text && !(labels && labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  expect(unnamed, 'form controls without an accessible name').toEqual([]);
}
