// The data directory: private (created 0700, its files 0600) and owned by one server at a time.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;
/** Holds the random name of the directory's lock: only who can read the directory can take or squat it. */
const LOCK_NAME_FILE = 'permio.lock';
const LOCK_NAME_BYTES = 16;

/** The directory is owned by a live server; the message names it. */
export class DataDirInUse extends Error {
  constructor(readonly dir: string) {
    super(`the data directory ${dir} is in use by another Permio server`);
  }
}

/**
 * Creates `dir` (0700) if missing and makes the files in it 0600 (a store made by an older version or copied in),
 * and sets the process umask so what is created later (LMDB's files, `admin.key`) is private from the start.
 */
export function preparePrivateDir(dir: string): void {
  process.umask(0o077);
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) fs.chmodSync(path.join(dir, entry.name), PRIVATE_FILE_MODE);
  }
}

/** Releases the directory (also released by the kernel when the process dies, kill -9 included). */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the directory for this process: a listening Unix socket in Linux's abstract namespace, named by a random id
 * kept in the directory. The kernel frees the name when the process ends however it ends, so there is never a
 * stale lock to recover; a second server on the same directory fails to bind it and gets {@link DataDirInUse}.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const server = net.createServer((socket) => socket.destroy());
  const name = `\0permio:${lockName(dir)}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new DataDirInUse(path.resolve(dir)) : err));
    server.listen(name, resolve);
  });
  server.unref(); // the lock alone must not keep the process alive
  return { release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The directory's lock id, created once: written aside and linked in, so two first starts agree on one id. */
function lockName(dir: string): string {
  const file = path.join(dir, LOCK_NAME_FILE);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, crypto.randomBytes(LOCK_NAME_BYTES).toString('hex'));
    try {
      fs.linkSync(tmp, file); // atomic: EEXIST when another first start made it meanwhile
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.unlinkSync(tmp);
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}
