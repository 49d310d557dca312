// Opens the one LMDB environment and its named databases; values are msgpackr-encoded (lmdb-js default).
import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { DB_NAMES, type DbName } from './keys.js';

export interface Store {
  /** The data directory. */
  readonly dir: string;
  readonly root: RootDatabase;
  readonly dbs: Readonly<Record<DbName, Database<any, any>>>;
  close(): Promise<void>;
}

/** The LMDB data file inside PERMIO_DATA_DIR (its lock file is `data.mdb-lock`). */
export const DATA_FILE = 'data.mdb';

/** Generous map size: LMDB reserves address space, not disk. */
const MAP_SIZE_BYTES = 64 * 1024 ** 3;

/**
 * Opens (creating if missing, unless read-only) the store in `dir`. The writer thread opens it
 * read-write; every other thread opens it read-only.
 */
export function openStore(dir: string, opts: { readOnly: boolean }): Store {
  if (!opts.readOnly) fs.mkdirSync(dir, { recursive: true });
  const root = open({
    // The file, not the folder: lmdb-js would take a folder whose name has a dot ('permio.data') for a file.
    path: path.join(dir, DATA_FILE),
    maxDbs: DB_NAMES.length + 2,
    mapSize: MAP_SIZE_BYTES,
    readOnly: opts.readOnly,
    encoding: 'msgpack',
  });
  const dbs = {} as Record<DbName, Database<any, any>>;
  for (const name of DB_NAMES) dbs[name] = root.openDB({ name, encoding: 'msgpack', readOnly: opts.readOnly } as any);
  return {
    dir,
    root,
    dbs,
    close: () => root.close(),
  };
}
