// Open-addressing hash from an int pair (a, b) to a fixed-width int32 record, all packed in one Int32Array.

const MIN_CAPACITY = 16; // records; always a power of two
const MAX_LOAD_NUM = 3; // grow past 3/4 full: linear probes stay short, and 10 M grants
const MAX_LOAD_DEN = 4; //   fit a 2^24-record table (≈ 34 B/grant, bench/engine.bench.ts)

/** Mixes a pair of non-negative ints into a well-spread 32-bit hash (murmur3 finaliser). */
function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A hash table of records `[a + 1, b, value…]`, `stride` int32s each (a stored 0 marks an empty slot,
 * so a fresh array is an empty table). Linear probing; deletion by backward shift, so no tombstones and
 * probes never lengthen with churn. Offsets from {@link find}/{@link insert} index {@link data} and stay
 * valid until the next insert or remove.
 */
export class PairTable {
  /** The records, `stride` int32s each; read directly on the check hot path. */
  data: Int32Array;
  /** Number of records held. */
  size = 0;
  private mask: number;

  /** @param stride int32s per record, keys included; @param capacity records to reserve. */
  constructor(
    readonly stride: number,
    capacity = MIN_CAPACITY,
  ) {
    let cap = MIN_CAPACITY;
    while (cap < capacity) cap *= 2;
    this.data = new Int32Array(cap * stride);
    this.mask = cap - 1;
  }

  /** Number of record slots (a power of two). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Offset of the record for (a, b), or -1. */
  find(a: number, b: number): number {
    const d = this.data;
    const s = this.stride;
    const mask = this.mask;
    const a1 = a + 1;
    for (let i = pairHash(a, b) & mask; ; i = (i + 1) & mask) {
      const o = i * s;
      const k = d[o]!;
      if (k === 0) return -1;
      if (k === a1 && d[o + 1] === b) return o;
    }
  }

  /** Offset of the record for (a, b), adding a zero-valued one when absent. */
  insert(a: number, b: number): number {
    const found = this.find(a, b);
    if (found >= 0) return found;
    if ((this.size + 1) * MAX_LOAD_DEN > this.capacity * MAX_LOAD_NUM) this.grow();
    const o = this.emptyFor(a, b);
    this.data[o] = a + 1;
    this.data[o + 1] = b;
    this.size++;
    return o;
  }

  /** Removes the record at offset `o`, shifting later records of its probe run back into the hole. */
  removeAt(o: number): void {
    const d = this.data;
    const s = this.stride;
    const mask = this.mask;
    let hole = o / s;
    for (let j = (hole + 1) & mask; d[j * s] !== 0; j = (j + 1) & mask) {
      const home = pairHash(d[j * s]! - 1, d[j * s + 1]!) & mask;
      // the record at j may fill the hole only if its home is not cyclically in (hole, j]
      const staysPut = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (staysPut) continue;
      d.copyWithin(hole * s, j * s, j * s + s);
      hole = j;
    }
    d.fill(0, hole * s, hole * s + s);
    this.size--;
  }

  /** Approximate bytes held. */
  byteSize(): number {
    return this.data.byteLength;
  }

  private emptyFor(a: number, b: number): number {
    const d = this.data;
    const s = this.stride;
    const mask = this.mask;
    let i = pairHash(a, b) & mask;
    while (d[i * s] !== 0) i = (i + 1) & mask;
    return i * s;
  }

  private grow(): void {
    const old = this.data;
    const s = this.stride;
    this.data = new Int32Array(old.length * 2);
    this.mask = (this.mask << 1) | 1;
    for (let o = 0; o < old.length; o += s) {
      if (old[o] === 0) continue;
      const n = this.emptyFor(old[o]! - 1, old[o + 1]!);
      for (let k = 0; k < s; k++) this.data[n + k] = old[o + k]!; // no subarray view per record
    }
  }
}
