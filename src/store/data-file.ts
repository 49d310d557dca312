// Checks the LMDB data file before it is mapped: LMDB trusts the file, and a truncated or garbled one makes it read
// past the end of the mapping or follow a wild page number (SIGBUS, SIGSEGV: the process dies without a word).
import fs from 'node:fs';

/** The data file cannot be used; the message names it and says why. */
export class DataFileUnusable extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`the data file ${file} cannot be opened: ${reason}`);
  }
}

// LMDB's meta pages (pages 0 and 1) as lmdb-js's LMDB writes them: a 24-byte page header, then MDB_meta.
const META_MAGIC = 0xbeefc0de;
const MAGIC_AT = 24;
const PAGE_SIZE_AT = 48; // mm_dbs[FREE_DBI].md_pad holds the page size
const FREE_ROOT_AT = 88; // mm_dbs[FREE_DBI].md_root
const MAIN_ROOT_AT = 136; // mm_dbs[MAIN_DBI].md_root
const LAST_PAGE_AT = 144; // mm_last_pg
const TXN_ID_AT = 152; // mm_txnid
const META_BYTES = 160;
const DEFAULT_PAGE_SIZE = 4096;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;
const NO_PAGE = 0xffff_ffff_ffff_ffffn; // P_INVALID: an empty database has no root

interface Meta {
  lastPage: bigint;
  txnId: bigint;
  roots: bigint[];
}

/**
 * Throws {@link DataFileUnusable} when `file` exists but is not a readable and writable LMDB file whose meta pages
 * hold together: the magic number, a last page inside the file, database roots that are pages of the file. A missing
 * file is fine (LMDB creates it).
 */
export function checkDataFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new DataFileUnusable(file, errnoText(err));
  }
  if (!stat.isFile()) throw new DataFileUnusable(file, 'it is not a regular file');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    throw new DataFileUnusable(file, errnoText(err));
  }
  try {
    if (stat.size === 0) return; // made but never written: LMDB initialises it
    const first = readAt(fd, 0, META_BYTES, file);
    const pageSize = pageSizeOf(first);
    if (stat.size < 2 * pageSize) throw new DataFileUnusable(file, `truncated: ${stat.size} bytes, less than its two meta pages`);
    const metas = [metaOf(first, 0, file), metaOf(readAt(fd, pageSize, META_BYTES, file), 1, file)];
    const current = metas[0]!.txnId >= metas[1]!.txnId ? metas[0]! : metas[1]!; // the one LMDB opens
    const pages = BigInt(stat.size) / BigInt(pageSize);
    if (current.lastPage >= pages) {
      throw new DataFileUnusable(file, `truncated: it ends at page ${pages}, its data runs to page ${current.lastPage}`);
    }
    for (const root of current.roots) {
      if (root === NO_PAGE) continue;
      if (root > current.lastPage) throw new DataFileUnusable(file, `corrupt: a database root (page ${root}) is past its last page`);
      // every page starts with its own number
      if (readAt(fd, Number(root) * pageSize, 8, file).readBigUInt64LE(0) !== root) {
        throw new DataFileUnusable(file, `corrupt: page ${root} does not hold what its meta page says`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function pageSizeOf(first: Buffer): number {
  const size = first.readUInt32LE(PAGE_SIZE_AT);
  const plausible = size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && (size & (size - 1)) === 0;
  return plausible ? size : DEFAULT_PAGE_SIZE; // a bad header is reported by the magic check
}

function metaOf(page: Buffer, n: number, file: string): Meta {
  if (page.length < META_BYTES || page.readUInt32LE(MAGIC_AT) !== META_MAGIC) {
    throw new DataFileUnusable(file, `not an LMDB file, or its meta page ${n} is corrupt`);
  }
  return {
    lastPage: page.readBigUInt64LE(LAST_PAGE_AT),
    txnId: page.readBigUInt64LE(TXN_ID_AT),
    roots: [page.readBigUInt64LE(FREE_ROOT_AT), page.readBigUInt64LE(MAIN_ROOT_AT)],
  };
}

function readAt(fd: number, position: number, length: number, file: string): Buffer {
  const buffer = Buffer.alloc(length);
  let read: number;
  try {
    read = fs.readSync(fd, buffer, 0, length, position);
  } catch (err) {
    throw new DataFileUnusable(file, errnoText(err));
  }
  return buffer.subarray(0, read);
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} (${e.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')})` : String(err);
}
