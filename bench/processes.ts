// Starts the server under test and the baselines as child processes and reads their bound ports.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Proc {
  child: ChildProcess;
  ports: { http_port?: number; grpc_port?: number };
  stop(): Promise<void>;
}

/** Spawns `node <script>` and resolves once it logs its `listening` line. */
export function startProcess(script: string, env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, [path.join(DIST, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({
        child,
        ports: JSON.parse(line),
        stop: () =>
          new Promise((r) => {
            child.removeAllListeners('exit');
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** Starts Permio on a fresh data directory. */
export async function startPermio(workers: number): Promise<Proc & { adminKey: string; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-bench-'));
  const adminKey = `perms_api_${crypto.randomBytes(16).toString('hex')}`;
  const proc = await startProcess('src/main.js', {
    PERMIO_HTTP_PORT: '0',
    PERMIO_GRPC_PORT: '0',
    PERMIO_DATA_DIR: dataDir,
    PERMIO_ADMIN_KEY: adminKey,
    PERMIO_WORKERS: String(workers),
  });
  const stop = proc.stop;
  return {
    ...proc,
    adminKey,
    dataDir,
    stop: async () => {
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
