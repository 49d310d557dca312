// scripts/ensure-build.mjs: builds only when dist/ is missing or older than a source; keeps dist/ where TypeScript is absent.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let tree: string;

/** A package whose `build` script records each run in build.log (instead of running tsc). */
function makeTree(withTypeScript: boolean): string {
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-ensure-'));
  fs.mkdirSync(path.join(tree, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'scripts/ensure-build.mjs'), path.join(tree, 'scripts/ensure-build.mjs'));
  const build = "node -e \"fs=require('fs');fs.mkdirSync('dist/src',{recursive:true});fs.writeFileSync('dist/src/main.js','');fs.appendFileSync('build.log','built\\n')\"";
  fs.writeFileSync(path.join(tree, 'package.json'), JSON.stringify({ name: 't', private: true, scripts: { build } }));
  fs.mkdirSync(path.join(tree, 'src'));
  fs.writeFileSync(path.join(tree, 'src/a.ts'), '');
  if (withTypeScript) {
    fs.mkdirSync(path.join(tree, 'node_modules'));
    fs.symlinkSync(path.join(ROOT, 'node_modules/typescript'), path.join(tree, 'node_modules/typescript'));
  }
  return tree;
}

const ensure = () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
  try {
    execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: tree, env, stdio: 'pipe' });
    return 0;
  } catch (err) {
    return (err as { status: number }).status;
  }
};
const builds = () => (fs.existsSync(path.join(tree, 'build.log')) ? fs.readFileSync(path.join(tree, 'build.log'), 'utf8').split('\n').length - 1 : 0);
const age = (file: string, secondsAgo: number) => {
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(path.join(tree, file), t, t);
};

afterEach(() => fs.rmSync(tree, { recursive: true, force: true }));

describe('ensure-build', () => {
  it('builds when dist/ is missing, then not again while it is current, and again once a source is newer', () => {
    makeTree(true);
    expect([ensure(), builds()]).toEqual([0, 1]);
    age('src/a.ts', 60);
    age('src', 60);
    expect([ensure(), builds()]).toEqual([0, 1]);
    fs.writeFileSync(path.join(tree, 'src/a.ts'), 'changed');
    expect([ensure(), builds()]).toEqual([0, 2]);
    age('src/a.ts', 60);
    age('src', 60);
    fs.rmSync(path.join(tree, 'src/a.ts')); // a deleted source changes its folder
    expect([ensure(), builds()]).toEqual([0, 3]);
  });

  it('without TypeScript it keeps the dist/ it has, and fails with a message when there is none', () => {
    makeTree(false);
    expect(ensure()).toBe(1);
    fs.mkdirSync(path.join(tree, 'dist/src'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'dist/src/main.js'), '');
    age('dist/src/main.js', 60);
    expect([ensure(), builds()]).toEqual([0, 0]);
  });
});
