// Build step (node, part of `npm run build`, after tsc): turns the compiled console into the shipped files —
// bare imports rewritten to the vendored preact and htm (no import map: it would be an inline script under the CSP),
// everything under one content-hashed folder, and index.html pointing at it.
//
//   dist/dashboard/index.html
//   dist/dashboard/assets/<hash>/main.js, app.js, …, pages/*.js, vendor/*.js, style.css, favicon.svg
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

/** Bare specifier → the package's browser ES module and where it is shipped. */
const VENDOR: Readonly<Record<string, { pkg: string; file: string; out: string }>> = {
  preact: { pkg: 'preact', file: 'dist/preact.module.js', out: 'vendor/preact.js' },
  'preact/hooks': { pkg: 'preact', file: 'hooks/dist/hooks.module.js', out: 'vendor/hooks.js' },
  htm: { pkg: 'htm', file: 'dist/htm.module.js', out: 'vendor/htm.js' },
  'htm/preact': { pkg: 'htm', file: 'preact/index.module.js', out: 'vendor/htm-preact.js' },
};

// `import x from './a.js'`, `export { y } from "preact"`, `import "./b.js"` (tsc output and the minified vendor files)
const IMPORT = /\b(from|import)(\s*)(["'])([^"'\n]+)\3/g;
const SOURCE_MAP_COMMENT = /\n?\/\/# sourceMappingURL=\S+\s*$/;

/** Every module reachable from the entry, by shipped path, with its imports rewritten for the browser. */
function collectModules(): Map<string, string> {
  const modules = new Map<string, string>();
  const visit = (outPath: string, file: string) => {
    if (modules.has(outPath)) return;
    modules.set(outPath, ''); // mark before recursing: import cycles end here
    const text = fs.readFileSync(file, 'utf8').replace(SOURCE_MAP_COMMENT, '\n');
    const rewritten = text.replace(IMPORT, (whole, keyword: string, space: string, quote: string, spec: string) => {
      if (spec.startsWith('.')) {
        visit(path.posix.join(path.posix.dirname(outPath), spec), path.resolve(path.dirname(file), spec));
        return whole;
      }
      const vendor = VENDOR[spec];
      if (vendor === undefined) throw new Error(`dashboard: ${outPath} imports '${spec}', which is not vendored`);
      visit(vendor.out, path.join(ROOT, 'node_modules', vendor.pkg, vendor.file));
      let rel = path.posix.relative(path.posix.dirname(outPath), vendor.out);
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `${keyword}${space}${quote}${rel}${quote}`;
    });
    modules.set(outPath, rewritten);
  };
  visit(ENTRY, path.join(COMPILED, ENTRY));
  return modules;
}

/** Builds {@link OUT}; returns the asset folder's hash. */
export function buildDashboard(): string {
  const files = collectModules();
  for (const name of STATIC_FILES) files.set(name, fs.readFileSync(path.join(SOURCE, name), 'utf8'));
  const names = [...files.keys()].sort();
  const digest = crypto.createHash('sha256');
  for (const name of names) digest.update(name).update('\0').update(files.get(name)!).update('\0');
  const hash = digest.digest('hex').slice(0, HASH_CHARS);

  const base = `${ASSETS_URL}/${hash}`;
  const preloads = names
    .filter((n) => n.endsWith('.js') && n !== ENTRY)
    .map((n) => `<link rel="modulepreload" href="${base}/${n}" />`)
    .join('\n    ');
  const html = fs.readFileSync(path.join(SOURCE, 'index.html'), 'utf8').replaceAll('{{ASSETS}}', base).replace('{{PRELOADS}}', preloads);

  fs.rmSync(OUT, { recursive: true, force: true });
  for (const name of names) {
    const target = path.join(OUT, 'assets', hash, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, files.get(name)!);
  }
  fs.writeFileSync(path.join(OUT, 'index.html'), html);
  return hash;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildDashboard();
