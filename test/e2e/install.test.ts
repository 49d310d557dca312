// Production installs start without TypeScript: `npm pack` → `npm install permio-*.tgz` → `npx permio serve`, and
// `npm ci --omit=dev` on a built tree → `npm start`. Dependencies come from npm's cache (filled by this tree's `npm ci`).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INSTALL_TIMEOUT_MS = 240_000;
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A clean environment: nothing of the test runner's npm or PERMIO_* settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERMIO_') && !k.startsWith('npm_')));
  return { ...base, ...extra };
}

function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, env: cleanEnv(), maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`npm ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** Starts `command` in `cwd` on free ports; resolves once /healthz answers 200, with the REST port. */
async function startAndProbe(command: string, args: string[], cwd: string): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(command, args, {
    cwd,
    env: cleanEnv({ PERMIO_HTTP_PORT: '0', PERMIO_GRPC_PORT: '0', PERMIO_WORKERS: '1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(JSON.parse(line).http_port);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  return { child, port, output: () => out };
}

/** SIGTERM and the exit code. */
function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('production installs', () => {
  it(
    'npm pack → npm install ./permio-*.tgz in an empty directory → npx permio serve, and permio/client imports',
    async () => {
      const packDir = tempDir('permio-pack-');
      const packed = (await npm(['pack', '--pack-destination', packDir], ROOT)).trim().split('\n').pop()!;
      const app = tempDir('permio-app-');
      await npm(['install', '--omit=dev', path.join(packDir, packed)], app);
      expect(fs.existsSync(path.join(app, 'node_modules/typescript'))).toBe(false);

      const server = await startAndProbe('npx', ['permio', 'serve'], app);
      const script = [
        "import { Permio } from 'permio/client';",
        "import fs from 'node:fs';",
        `const p = new Permio({ url: 'http://127.0.0.1:${server.port}', apiKey: fs.readFileSync('data/admin.key', 'utf8').trim() });`,
        "const { organisation } = await p.organisations.create({ name: 'Installed', user_id: 'u' });",
        'console.log(organisation.name);',
      ].join('\n');
      fs.writeFileSync(path.join(app, 'use-client.mjs'), script);
      const printed = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['use-client.mjs'], { cwd: app }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
      );
      expect(printed).toBe('Installed\n');
      // npx dies of the signal without passing it on; permio serve notices it was orphaned and stops the server
      await stop(server.child);
      for (let i = 0; i < 100 && !server.output().includes('"stopped"'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(server.output()).toContain('"stopped"');
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'npm ci --omit=dev on a built tree → npm start (no compiler, no rebuild)',
    async () => {
      const tree = tempDir('permio-built-');
      for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'proto', 'scripts', 'src', 'dist']) {
        fs.cpSync(path.join(ROOT, entry), path.join(tree, entry), { recursive: true });
      }
      await npm(['ci', '--omit=dev'], tree);
      expect(fs.existsSync(path.join(tree, 'node_modules/typescript'))).toBe(false);
      const server = await startAndProbe('npm', ['start'], tree);
      expect(await stop(server.child)).toBe(0);
    },
    INSTALL_TIMEOUT_MS,
  );
});
