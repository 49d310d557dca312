// The roles held by one grant, packed into a single int32 field: most grants hold none or one.

/**
 * Encoding of a grant's role field: `0` no role; `r + 1` exactly role r; `-(k + 1)` the k-th
 * overflow list (two or more roles). One int32 per grant keeps the common case at 4 bytes.
 */
export class GrantRoles {
  private readonly lists: (number[] | undefined)[] = [];
  private readonly free: number[] = [];

  /** Whether the field holds role `r`. */
  has(field: number, r: number): boolean {
    if (field >= 0) return field === r + 1;
    return this.lists[-field - 1]!.includes(r);
  }

  /** The field with role `r` added (unchanged when already held). */
  add(field: number, r: number): number {
    if (field === 0) return r + 1;
    if (this.has(field, r)) return field;
    if (field > 0) return this.newList([field - 1, r]);
    this.lists[-field - 1]!.push(r);
    return field;
  }

  /** The field with role `r` removed (unchanged when not held). */
  remove(field: number, r: number): number {
    if (field >= 0) return field === r + 1 ? 0 : field;
    const k = -field - 1;
    const list = this.lists[k]!;
    const at = list.indexOf(r);
    if (at < 0) return field;
    list.splice(at, 1);
    if (list.length > 1) return field;
    this.release(field);
    return list[0]! + 1; // back to the one-role form
  }

  /** Frees the overflow list behind `field`, if any (its grant is going away). */
  release(field: number): void {
    if (field >= 0) return;
    this.lists[-field - 1] = undefined;
    this.free.push(-field - 1);
  }

  /** ORs the masks of the field's roles (`words` int32s each in `masks`) into `dst[at, at + words)`. */
  orMasksInto(field: number, masks: Int32Array, words: number, dst: Int32Array, at: number): void {
    if (field === 0) return;
    if (field > 0) {
      orWords(masks, (field - 1) * words, dst, at, words);
      return;
    }
    const list = this.lists[-field - 1]!;
    for (let i = 0; i < list.length; i++) orWords(masks, list[i]! * words, dst, at, words);
  }

  /** Approximate bytes held by overflow lists. */
  byteSize(): number {
    let bytes = this.lists.length * 8;
    for (const list of this.lists) if (list !== undefined) bytes += 32 + list.length * 8;
    return bytes;
  }

  private newList(roles: number[]): number {
    const k = this.free.length > 0 ? this.free.pop()! : this.lists.length;
    this.lists[k] = roles;
    return -(k + 1);
  }
}

function orWords(src: Int32Array, from: number, dst: Int32Array, at: number, words: number): void {
  for (let k = 0; k < words; k++) dst[at + k] |= src[from + k]!;
}
