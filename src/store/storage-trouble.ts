// Tells a failed commit that the disk is at fault (full, or failing) from a bug: the first is the operator's to fix
// and is answered 503, saying so; the second stays a 500.
import fs from 'node:fs';

/** A commit failed because the disk holding the data directory is full or cannot be written. */
export class StorageTrouble extends Error {
  constructor(
    /** The disk is full (or LMDB's map is): freeing space fixes it. */
    readonly full: boolean,
    detail: string,
  ) {
    super(
      full
        ? `Storage full: no space left on the disk of the data directory (${detail}); the write was not applied`
        : `Storage error: the data file could not be written (${detail}); the write was not applied`,
    );
    this.name = 'StorageTrouble';
  }
}

// What LMDB and the kernel answer a write that does not fit: a short write is EIO to LMDB, ENOSPC and EDQUOT from
// pwrite/fsync, MDB_MAP_FULL when the map size is reached.
const DISK_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);
const DISK_ERRNOS = new Set([5, 28, 122, 27, 30]);
const DISK_TEXT = /No space left|Input\/output error|Disk quota|File too large|Read-only file system|MDB_MAP_FULL/i;
/** Less than this free for the data directory counts as full (LMDB writes whole pages, several per commit). */
const FULL_BELOW_BYTES = 1024 * 1024;

/** The disk trouble `err` shows, or undefined when it is something else (a bug: the caller's 500). */
export function storageTroubleOf(err: unknown, dir: string): StorageTrouble | undefined {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | undefined;
  const code = e?.code;
  const text = String(e?.message ?? err);
  const disk =
    (typeof code === 'string' && DISK_CODES.has(code)) || (typeof code === 'number' && DISK_ERRNOS.has(code)) || DISK_TEXT.test(text);
  if (!disk) return undefined;
  if (/MDB_MAP_FULL/i.test(text)) return new StorageTrouble(true, 'the LMDB map size is reached');
  const free = freeBytes(dir);
  const full = code === 'ENOSPC' || code === 28 || code === 'EDQUOT' || code === 122 || (free !== undefined && free < FULL_BELOW_BYTES);
  return new StorageTrouble(full, full && free !== undefined ? `${free} bytes free` : text.replace(/\s+/g, ' ').slice(0, 200));
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
