// A consistent, compacted copy of the LMDB environment, taken while the server runs (SPEC §9).
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { DATA_FILE } from './env.js';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Copies the LMDB environment of `dataDir` into the new directory `outDir` from one read transaction — every write
 * committed before the copy began is in it, none after — compacted (`mdb_env_copy2` with `MDB_CP_COMPACT`: free
 * pages left out). The server's readers and writer keep going meanwhile. `outDir` must be missing or empty.
 */
export async function backupEnvironment(dataDir: string, outDir: string): Promise<void> {
  const source = path.join(dataDir, DATA_FILE);
  if (!fs.existsSync(source)) throw new Error(`no Permio data in ${dataDir} (${DATA_FILE} is missing)`);
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) throw new Error(`${outDir} already exists and is not empty`);
  fs.mkdirSync(outDir, { recursive: true, mode: PRIVATE_DIR });
  const env = open({ path: source, readOnly: true });
  try {
    await env.backup(path.join(outDir, DATA_FILE), true);
  } finally {
    await env.close();
  }
  fs.chmodSync(path.join(outDir, DATA_FILE), PRIVATE_FILE);
}
