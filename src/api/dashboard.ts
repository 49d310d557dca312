// Serves the web console (SPEC §11) from the files `npm run build` wrote to dist/dashboard: GET /dashboard (the page,
// never cached, under a strict CSP), its content-hashed assets (cached for a year), and GET / → /dashboard.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASSETS_URL } from '../dashboard/build-assets.js';
import type { StaticPages } from './rest/local-routes.js';

export const DASHBOARD_PATH = '/dashboard';

const BUILT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard'); // dist/dashboard

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const HTML = 'text/html; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';

/**
 * Scripts, styles and images from this server only, no inline script or style; API calls and the Watch WebSocket
 * to this origin only (`'self'` covers ws:/wss: to the same host, CSP Level 3).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'cache-control': 'no-cache', // the page names the current asset hash: always revalidate it
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
const ASSET_HEADERS = {
  'cache-control': 'public, max-age=31536000, immutable', // the URL changes whenever the content does
  'x-content-type-options': 'nosniff',
};

/**
 * The console's URLs, each file read once at startup. `tsc` alone does not build the console (`npm run build`
 * does): then `/dashboard` answers 503 saying so.
 */
export function dashboardPages(dir = BUILT): StaticPages {
  const page = path.join(dir, 'index.html');
  const pages: Record<string, StaticPages[string]> = {
    '/': { status: 302, contentType: TEXT, headers: { location: DASHBOARD_PATH }, body: () => '' },
  };
  if (!fs.existsSync(page)) {
    const body = `The console is not built (${page} is missing): run npm run build.\n`;
    pages[DASHBOARD_PATH] = { status: 503, contentType: TEXT, body: () => body };
    return pages;
  }
  pages[DASHBOARD_PATH] = constant(HTML, PAGE_HEADERS, fs.readFileSync(page, 'utf8'));
  const assets = path.join(dir, 'assets');
  for (const rel of fs.readdirSync(assets, { recursive: true, encoding: 'utf8' })) {
    const type = CONTENT_TYPES[path.extname(rel)];
    const file = path.join(assets, rel);
    if (type === undefined || !fs.statSync(file).isFile()) continue;
    pages[`${ASSETS_URL}/${rel.split(path.sep).join('/')}`] = constant(type, ASSET_HEADERS, fs.readFileSync(file, 'utf8'));
  }
  return pages;
}

function constant(contentType: string, headers: Readonly<Record<string, string>>, body: string): StaticPages[string] {
  return { contentType, headers, body: () => body };
}
