// String interning: segments and principals become dense int ids, found by (str, start, end) without allocating.

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const INITIAL_SLOTS = 64; // power of two
const MAX_LOAD_SHIFT = 1; // grow when more than half full: short probes, and this table is small beside the grants
const STRING_OVERHEAD_BYTES = 16; // V8 header of a sequential string, for byteSize()
const SLICED_STRING_MIN = 13; // V8 makes substrings this long views that keep their parent alive
const MAP_ENTRY_BYTES = 24; // V8 OrderedHashMap: key, value, chain link, plus half a bucket at full load

/** Hash state before the first character; feed characters with {@link hashStep}. */
export const HASH_SEED = FNV_OFFSET;

/** One FNV-1a step; lets a caller hash a segment while scanning for its end (one pass). */
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

/** FNV-1a state of `str[start, end)`; equal to folding {@link hashStep} over the characters. */
export function hashRange(str: string, start: number, end: number): number {
  let h = HASH_SEED;
  for (let i = start; i < end; i++) h = hashStep(h, str.charCodeAt(i));
  return h;
}

/** Avalanches FNV's weak low bits before masking them into a slot index. */
function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

function equalsRange(stored: string, str: string, start: number, end: number): boolean {
  const n = end - start;
  if (stored.length !== n) return false;
  for (let k = 0; k < n; k++) if (stored.charCodeAt(k) !== str.charCodeAt(start + k)) return false;
  return true;
}

/** `str[start, end)` as a string that does not pin `str` (a whole request URI) in memory. */
function ownCopy(str: string, start: number, end: number): string {
  const s = start === 0 && end === str.length ? str : str.slice(start, end);
  // concatenating then slicing flattens into a fresh string; a plain slice would be a view of `str`
  return s.length < SLICED_STRING_MIN || s === str ? s : (' ' + s).slice(1);
}

/**
 * An append-only set of whole strings with dense ids 0, 1, 2, …: a `Map`, whose lookup hashes and compares in
 * native code and reuses a string's cached hash, about 3× faster than {@link InternTable} on principal ids.
 */
export class StringIds {
  private readonly ids = new Map<string, number>();
  private chars = 0;

  /** Id of `str`, or -1. */
  find(str: string): number {
    return this.ids.get(str) ?? -1;
  }

  /** Id of `str`, adding it when new. */
  intern(str: string): number {
    let id = this.ids.get(str);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(ownCopy(str, 0, str.length), id);
      this.chars += str.length;
    }
    return id;
  }

  /** Approximate bytes held: the map's entries plus the strings themselves. */
  byteSize(): number {
    return this.ids.size * (MAP_ENTRY_BYTES + STRING_OVERHEAD_BYTES) + this.chars;
  }
}

/** An append-only set of strings with dense ids 0, 1, 2, … (open addressing, linear probing), found by range. */
export class InternTable {
  private slots = new Int32Array(INITIAL_SLOTS); // id + 1 per slot; 0 = empty
  private hashes = new Int32Array(INITIAL_SLOTS); // finished hash per id
  private readonly strings: string[] = [];
  private mask = INITIAL_SLOTS - 1;
  private chars = 0;

  /** Id of `str[start, end)`, or -1. */
  find(str: string, start: number, end: number): number {
    return this.findHashed(str, start, end, hashRange(str, start, end));
  }

  /** Id of `str[start, end)` given its {@link hashRange} state `h`, or -1. */
  findHashed(str: string, start: number, end: number, h: number): number {
    const fh = finishHash(h);
    const slots = this.slots;
    const mask = this.mask;
    for (let i = fh & mask; ; i = (i + 1) & mask) {
      const id1 = slots[i]!;
      if (id1 === 0) return -1;
      if (this.hashes[id1 - 1] === fh && equalsRange(this.strings[id1 - 1]!, str, start, end)) return id1 - 1;
    }
  }

  /** Id of `str[start, end)`, adding it when new (the only place a substring is made). */
  intern(str: string, start: number, end: number): number {
    const h = hashRange(str, start, end);
    const found = this.findHashed(str, start, end, h);
    if (found >= 0) return found;
    const id = this.strings.length;
    if ((id + 1) << MAX_LOAD_SHIFT > this.slots.length) this.grow();
    const fh = finishHash(h);
    if (id >= this.hashes.length) {
      const hashes = new Int32Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.hashes[id] = fh;
    this.strings.push(ownCopy(str, start, end));
    this.chars += end - start;
    this.place(id, fh);
    return id;
  }

  /** Approximate bytes held: the slot arrays plus the strings themselves. */
  byteSize(): number {
    return this.slots.byteLength + this.hashes.byteLength + this.strings.length * (STRING_OVERHEAD_BYTES + 8) + this.chars * 2;
  }

  private place(id: number, fh: number): void {
    const mask = this.mask;
    let i = fh & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = id + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.strings.length; id++) this.place(id, this.hashes[id]!);
  }
}
