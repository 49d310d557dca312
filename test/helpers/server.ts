// Starts the real server (node dist/src/main.js) on port 0 with a temporary LMDB directory; talks real HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const STARTUP_TIMEOUT_MS = 30_000;

export interface RunningServer {
  httpUrl: string;
  grpcAddress: string;
  adminKey: string;
  dataDir: string;
  process: ChildProcess;
  /** Collected stdout+stderr, for assertions about logs. */
  output(): string;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill(): Promise<void>;
  /** Removes the data directory (after stop/kill). */
  cleanup(): void;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse an existing data directory (restart after a crash). */
  dataDir?: string;
  adminKey?: string;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'permio-test-'));
  const adminKey = opts.adminKey ?? `perms_api_${crypto.randomBytes(16).toString('hex')}`;
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      PERMIO_HTTP_PORT: '0',
      PERMIO_GRPC_PORT: '0',
      PERMIO_DATA_DIR: dataDir,
      PERMIO_ADMIN_KEY: adminKey,
      PERMIO_WORKERS: '2',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), STARTUP_TIMEOUT_MS);
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const msg = JSON.parse(line);
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        return resolve({ http: msg.http_port, grpc: msg.grpc_port });
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) during startup:\n${out}`));
    });
  });

  return {
    httpUrl: `http://127.0.0.1:${ports.http}`,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    adminKey,
    dataDir,
    process: child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}
