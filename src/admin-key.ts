// The operator key: PERMIO_ADMIN_KEY, or `$PERMIO_DATA_DIR/admin.key` read or created (mode 0600). Never stored in LMDB, never logged.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const KEY_PREFIX = 'perms_api_';
/** The operator key's file inside the data directory. */
export const ADMIN_KEY_FILE = 'admin.key';
const KEY_RANDOM_BYTES = 24; // 192 bits (SPEC §2: ≥ 128)

/** A new random API key secret. */
export function generateKeySecret(): string {
  return KEY_PREFIX + crypto.randomBytes(KEY_RANDOM_BYTES).toString('base64url');
}

/** Returns the operator key and, when it came from a file, that file's path (to log instead of the key). */
export function resolveAdminKey(configured: string | undefined, dataDir: string): { key: string; file?: string } {
  if (configured) return { key: configured };
  const file = path.join(dataDir, ADMIN_KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key) return { key, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = generateKeySecret();
  fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'w' });
  return { key, file };
}
