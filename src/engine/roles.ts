// A project's roles: id → small index → permission mask, expanded at write time, never during a check.

const INITIAL_ROLES = 8;

/** Role registry: each role is an index into packed masks of `words` int32s. */
export class RoleTable {
  /** Permission mask per role, `words` int32s each (role r at `r * words`). */
  masks: Int32Array;
  /** Grant records holding each role; 0 lets an edit skip the scan of every grant. */
  holders: Int32Array;
  private readonly indexById = new Map<string, number>();
  private readonly free: number[] = [];
  private count = 0; // indices ever handed out

  constructor(public words: number) {
    this.masks = new Int32Array(INITIAL_ROLES * words);
    this.holders = new Int32Array(INITIAL_ROLES);
  }

  /** Index of role `id`, or -1. */
  indexOf(id: string): number {
    return this.indexById.get(id) ?? -1;
  }

  /** Index of role `id`, created with an empty mask when new. */
  ensure(id: string): number {
    const known = this.indexById.get(id);
    if (known !== undefined) return known;
    const r = this.free.length > 0 ? this.free.pop()! : this.count++;
    if (r >= this.holders.length) this.resize(this.holders.length * 2, this.words);
    this.indexById.set(id, r);
    return r;
  }

  /** Deletes role `id` (its grants must be gone already); returns its freed index, or -1. */
  delete(id: string): number {
    const r = this.indexById.get(id);
    if (r === undefined) return -1;
    this.indexById.delete(id);
    this.masks.fill(0, r * this.words, (r + 1) * this.words);
    this.holders[r] = 0;
    this.free.push(r);
    return r;
  }

  /** Replaces role `r`'s mask with `bits`; returns whether it changed (a replayed edit usually does not). */
  setMask(r: number, bits: Int32Array): boolean {
    const w = this.words;
    let changed = false;
    for (let k = 0; k < w; k++) {
      if (this.masks[r * w + k] !== bits[k]) changed = true;
      this.masks[r * w + k] = bits[k]!;
    }
    return changed;
  }

  /** Removes permission `bit` from every role. */
  clearBit(bit: number): void {
    const off = bit >>> 5;
    const keep = ~(1 << (bit & 31));
    for (let r = 0; r < this.count; r++) this.masks[r * this.words + off] &= keep;
  }

  /** Re-lays the masks for `words` int32s each (a project passed a multiple of 32 permissions). */
  widen(words: number): void {
    if (words > this.words) this.resize(this.holders.length, words);
  }

  /** Approximate bytes held. */
  byteSize(): number {
    return this.masks.byteLength + this.holders.byteLength + this.indexById.size * 64;
  }

  private resize(capacity: number, words: number): void {
    const masks = new Int32Array(capacity * words);
    for (let r = 0; r < this.count; r++) {
      for (let k = 0; k < this.words; k++) masks[r * words + k] = this.masks[r * this.words + k]!;
    }
    const holders = new Int32Array(capacity);
    holders.set(this.holders.subarray(0, Math.min(capacity, this.holders.length)));
    this.masks = masks;
    this.holders = holders;
    this.words = words;
  }
}
