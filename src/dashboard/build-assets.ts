// Build step (node, part of `npm run build`, after tsc): turns the compiled console into the shipped files — one
// minified ES module (the pages, preact and htm, bundled by esbuild: a single request, no import waterfall, no import
// map, which would be an inline script under the CSP), the style sheet and the icon, under one content-hashed folder,
// and index.html pointing at it.
//
//   dist/dashboard/index.html
//   dist/dashboard/assets/<hash>/main.js, style.css, favicon.svg
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPILED = path.dirname(fileURLToPath(import.meta.url)); // dist/src/dashboard
const ROOT = path.resolve(COMPILED, '../../..');
const SOURCE = path.join(ROOT, 'src/dashboard'); // index.html, style.css, favicon.svg
const OUT = path.join(ROOT, 'dist/dashboard');
const ENTRY = 'main.js';
const STATIC_FILES = ['style.css', 'favicon.svg'];
const HASH_CHARS = 12;

/** The URL prefix of the shipped assets; the serving module maps it onto {@link OUT}/assets. */
export const ASSETS_URL = '/dashboard/assets';

/** The console's modules and the packages they import, as one minified ES module. */
async function bundle(): Promise<string> {
  // imported here, not at the top: the server imports ASSETS_URL from this module, and esbuild is a dev dependency
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(COMPILED, ENTRY)],
    absWorkingDir: ROOT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** Builds {@link OUT}; returns the asset folder's hash. */
export async function buildDashboard(): Promise<string> {
  const files = new Map<string, string>([[ENTRY, await bundle()]]);
  for (const name of STATIC_FILES) files.set(name, fs.readFileSync(path.join(SOURCE, name), 'utf8'));
  const names = [...files.keys()].sort();
  const digest = crypto.createHash('sha256');
  for (const name of names) digest.update(name).update('\0').update(files.get(name)!).update('\0');
  const hash = digest.digest('hex').slice(0, HASH_CHARS);

  const html = fs.readFileSync(path.join(SOURCE, 'index.html'), 'utf8').replaceAll('{{ASSETS}}', `${ASSETS_URL}/${hash}`);
  fs.rmSync(OUT, { recursive: true, force: true });
  for (const name of names) {
    const target = path.join(OUT, 'assets', hash, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, files.get(name)!);
  }
  fs.writeFileSync(path.join(OUT, 'index.html'), html);
  return hash;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDashboard();
