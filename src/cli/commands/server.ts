// `permio serve` (the server, as `npm start` runs it) and `permio backup` (a copy of a data directory, server running or not).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ADMIN_KEY_FILE } from '../../admin-key.js';
import { DATA_FILE } from '../../store/env.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { printJson, printLine } from '../output.js';
import { progress } from '../progress.js';
import type { CliSettings } from '../settings.js';

type Run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void | number>) => void;

/**
 * The glibc malloc tunables the server runs with (README "Configuration"): huge pages for the check workers' grant
 * tables, a fixed mmap threshold so freed tables go back to the OS. package.json's `start` sets the same string.
 */
export const SERVER_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=131072';
const SERVER_MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));
const BACKUP_POLL_MS = 200;

/**
 * Runs the server. glibc reads its tunables only when a process starts, so unless they are already set (under
 * `npm start`) the server runs as a child with them, holding an IPC channel: it shuts down if this process dies.
 */
async function serve(settings: CliSettings): Promise<number> {
  const tunables = settings.env.GLIBC_TUNABLES ?? '';
  // glibc rewrites the variable it parsed, keeping only its first tunable: that one marks "already started with them"
  if (tunables.includes(SERVER_GLIBC_TUNABLES.split(':')[0]!)) {
    await import(SERVER_MAIN);
    return new Promise<number>(() => {}); // the server exits the process itself
  }
  const child = spawn(process.execPath, [...process.execArgv, SERVER_MAIN], {
    env: { ...settings.env, GLIBC_TUNABLES: tunables === '' ? SERVER_GLIBC_TUNABLES : `${tunables}:${SERVER_GLIBC_TUNABLES}` },
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  if (settings.env.npm_lifecycle_event !== undefined) stopWhenOrphaned(() => child.kill('SIGTERM'));
  const [code, signal] = (await new Promise((resolve) => child.once('exit', (...r) => resolve(r)))) as [number | null, string | null];
  return code ?? (signal === null ? 1 : 128 + 15);
}

const LAUNCHER_POLL_MS = 500;

/**
 * Under npm (`npx permio serve`, an npm script) npm is our parent, and killing it does not stop us: notice the new
 * parent and stop the server as if signalled (src/main.ts does the same under `npm start`).
 */
function stopWhenOrphaned(stop: () => void): void {
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher) stop();
  }, LAUNCHER_POLL_MS).unref();
}

export function registerServerCommands(program: Command, run: Run, settings: CliSettings): void {
  run(program.command('serve').description('run the server (configured by PERMIO_* variables, as npm start)'), () => serve(settings));

  run(
    program
      .command('backup')
      .description('write a consistent, compacted copy of a data directory (the server may be running); restore = start a server on it')
      .requiredOption('--data-dir <dir>', 'the server\'s PERMIO_DATA_DIR')
      .requiredOption('--out <dir>', 'the new backup directory (missing or empty)'),
    async (ctx, opts: { dataDir: string; out: string }) => {
      const source = path.join(opts.dataDir, DATA_FILE);
      const total = fs.existsSync(source) ? fs.statSync(source).size : 0; // an upper bound: the compacted copy is at most this big
      const bar = progress('backup', 'bytes', total);
      const target = path.join(opts.out, DATA_FILE);
      const poll = setInterval(() => fs.stat(target, (err, s) => err || bar.update(Math.min(s.size, total))), BACKUP_POLL_MS);
      try {
        const { backupEnvironment } = await import('../../store/backup.js'); // lmdb loads only for this command
        await backupEnvironment(opts.dataDir, opts.out);
        bar.update(total);
      } catch (err) {
        throw new UsageError((err as Error).message);
      } finally {
        clearInterval(poll);
        bar.stop();
      }
      const key = path.join(opts.dataDir, ADMIN_KEY_FILE); // the operator key file, so the restored server keeps it
      if (fs.existsSync(key)) {
        fs.copyFileSync(key, path.join(opts.out, ADMIN_KEY_FILE));
        fs.chmodSync(path.join(opts.out, ADMIN_KEY_FILE), 0o600);
      }
      const answer = { backup: { data_dir: path.resolve(opts.out), bytes: fs.statSync(target).size } };
      ctx.json ? printJson(answer) : printLine(`backup of ${opts.dataDir} written to ${opts.out} (${answer.backup.bytes} bytes)`);
    },
  );
}
