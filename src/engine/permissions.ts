// A project's permissions: id ↔ bit index ↔ current name; freed bits are reused so masks stay narrow.

/** Bits per mask word. */
const WORD_BITS = 32;

/** Permission registry; a permission's identity inside the engine is its bit index. */
export class PermissionTable {
  private readonly bitById = new Map<string, number>();
  private readonly bitByName = new Map<string, number>();
  private readonly names: (string | undefined)[] = []; // by bit
  private readonly free: number[] = []; // bits freed by deletes

  /** Number of bit indices ever handed out (live or free); masks need `ceil(bitCount / 32)` words. */
  get bitCount(): number {
    return this.names.length;
  }

  /** Mask words needed to hold every bit: 1 while a project has ≤ 32 permissions (the fast path). */
  get words(): number {
    return Math.max(1, Math.ceil(this.names.length / WORD_BITS));
  }

  /** Bit of the permission with this id, or -1. */
  bitOfId(id: string): number {
    return this.bitById.get(id) ?? -1;
  }

  /** Bit of the permission currently named `name`, or -1 (an unknown name is simply missing). */
  bitOfName(name: string): number {
    return this.bitByName.get(name) ?? -1;
  }

  /** Creates or renames permission `id`; returns its bit. */
  put(id: string, name: string): number {
    let bit = this.bitById.get(id);
    if (bit === undefined) {
      bit = this.takeFreeBit();
      this.bitById.set(id, bit);
    } else if (this.names[bit] !== name) {
      this.releaseName(bit);
    }
    this.names[bit] = name;
    // always (re)claim: a replayed rename may have briefly shared the name with another permission
    this.bitByName.set(name, bit);
    return bit;
  }

  /** Deletes permission `id`; returns its freed bit, or -1 when unknown. */
  delete(id: string): number {
    const bit = this.bitById.get(id);
    if (bit === undefined) return -1;
    this.bitById.delete(id);
    this.releaseName(bit);
    this.names[bit] = undefined;
    this.free.push(bit);
    return bit;
  }

  /** Drops `bit`'s name from the name index, handing it to another holder if a replay left one. */
  private releaseName(bit: number): void {
    const name = this.names[bit]!;
    if (this.bitByName.get(name) !== bit) return;
    this.bitByName.delete(name);
    for (let b = 0; b < this.names.length; b++) {
      if (b !== bit && this.names[b] === name) {
        this.bitByName.set(name, b);
        return;
      }
    }
  }

  /** The lowest freed bit, else a new one: keeps masks as narrow as the live count allows. */
  private takeFreeBit(): number {
    if (this.free.length === 0) {
      this.names.push(undefined);
      return this.names.length - 1;
    }
    let at = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]! < this.free[at]!) at = i;
    const bit = this.free[at]!;
    this.free[at] = this.free[this.free.length - 1]!;
    this.free.pop();
    return bit;
  }
}
