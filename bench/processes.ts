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

/** Spawns `node [nodeArgs] <dist>/<script>` and resolves once it logs its `listening` line. */
export function startProcess(script: string, env: Record<string, string> = {}, nodeArgs: readonly string[] = [], dist = DIST): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(dist, script)], {
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

export interface PermioOptions {
  /** An existing data directory (kept on stop); by default a fresh temporary one (removed on stop). */
  dataDir?: string;
  /** Extra PERMIO_* variables. */
  env?: Record<string, string>;
  /** Node flags for the server, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** The build to run (a `dist` directory); by default this one. */
  dist?: string;
}

/** Where `--server-cpu-prof` puts the server's profiles (one .cpuprofile per thread and server started). */
export const PROFILE_DIR = path.join(os.tmpdir(), 'permio-bench-profiles');

/** Node flags for the server under test: `--server-cpu-prof` profiles every thread into {@link PROFILE_DIR}. */
export function serverNodeArgs(): string[] {
  if (!process.argv.includes('--server-cpu-prof')) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
}

/** Starts Permio, on a fresh data directory unless one is given. */
export async function startPermio(workers: number, opts: PermioOptions = {}): Promise<Proc & { adminKey: string; dataDir: string }> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'permio-bench-'));
  const adminKey = `perms_api_${crypto.randomBytes(16).toString('hex')}`;
  const proc = await startProcess(
    'src/main.js',
    {
      PERMIO_HTTP_PORT: '0',
      PERMIO_GRPC_PORT: '0',
      PERMIO_DATA_DIR: dataDir,
      PERMIO_ADMIN_KEY: adminKey,
      PERMIO_WORKERS: String(workers),
      ...opts.env,
    },
    opts.nodeArgs ?? serverNodeArgs(),
    opts.dist,
  );
  const stop = proc.stop;
  return {
    ...proc,
    adminKey,
    dataDir,
    stop: async () => {
      await stop();
      if (opts.dataDir === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux (`getconf CLK_TCK`)

/** CPU time (user + system, every thread) a process has used so far, in seconds; from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state is fields[0]
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC; // utime, stime (fields 14, 15 of stat)
}

/** CPU time every core of the machine has spent busy (anything but idle and iowait) so far, in seconds; from /proc/stat. */
export function machineBusySeconds(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SEC;
}

/** Busy cores over a figure: the server's (all its threads) and the whole machine's (ours, the load and neighbours). */
export interface CpuUse {
  seconds: number;
  serverCores: number;
  boxCores: number;
}

/** Starts measuring; the returned function ends the measurement. */
export function cpuMeter(serverPid: number): () => CpuUse {
  const server = cpuSeconds(serverPid);
  const box = machineBusySeconds();
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    return { seconds, serverCores: (cpuSeconds(serverPid) - server) / seconds, boxCores: (machineBusySeconds() - box) / seconds };
  };
}

/** Resident memory of a process in bytes: total, anonymous (heaps, trie arrays) and file-backed (LMDB's map, code). */
export function residentBytes(pid: number): { rss: number; anon: number; file: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}
