// Builds dist/ only when it is missing or older than its sources (npm ci's `prepare`, npm start), so a start with a
// current build compiles nothing. A production tree (no TypeScript: `npm ci --omit=dev`, an installed tarball) keeps
// the dist/ it shipped with.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = path.join(ROOT, 'dist/src/main.js'); // tsc rewrites every output on each build
const SOURCES = ['src', 'bench', 'proto', 'scripts', 'tsconfig.json'];

/** The newest modification time under `entry` (a file or a folder), in ms. */
function newest(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs; // a deleted or renamed file changes its folder
  for (const name of fs.readdirSync(entry)) max = Math.max(max, newest(path.join(entry, name)));
  return max;
}

function hasTypeScript() {
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve('typescript');
    return true;
  } catch {
    return false;
  }
}

const built = fs.existsSync(BUILT) ? fs.statSync(BUILT).mtimeMs : 0;
const sourcesPresent = fs.existsSync(path.join(ROOT, 'src'));
if (!sourcesPresent || !hasTypeScript()) {
  if (built === 0) {
    console.error('permio: dist/ is missing and TypeScript is not installed: run `npm ci` (with dev dependencies), then `npm run build`');
    process.exit(1);
  }
} else if (built < Math.max(...SOURCES.map((s) => newest(path.join(ROOT, s))))) {
  execSync('npm run build', { cwd: ROOT, stdio: 'inherit' });
}
