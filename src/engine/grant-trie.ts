// Compact per-project grant trie: int nodes, packed (parent, segment) → child edges, packed (node, principal) → grants.
import { GrantRoles } from './grant-roles.js';
import { InternTable, StringIds } from './intern.js';
import { PairTable } from './pair-table.js';
import { uriEnd } from '../resource-uri.js';

/** Node of the project root `/`. */
export const ROOT = 0;
/** Edge record: `[parent + 1, segment, child, principal Bloom bits of the child's grants]`. */
export const EDGE_CHILD = 2;
export const EDGE_BLOOM = 3;
const EDGE_STRIDE = 4;
/** Grant record: `[node + 1, principal, roles, effective × words, direct × words]`. */
export const GRANT_ROLES = 2;
export const GRANT_EFFECTIVE = 3;
const GRANT_HEADER = 3;
const INITIAL_EDGES = 1024;
const SLASH = 47; // '/'
const NO_EDGE = -1;
const ROOT_EDGE = -2; // the root is reached by no edge: its Bloom bits live in `rootBloom`

/**
 * The one Bloom bit of a principal id. A node's edge ORs the bits of every principal granted there, so
 * a check reads it in the cache line it already has and skips the grant probe for most other principals
 * (bits are never cleared on revoke: a stale bit only costs a probe).
 */
export function principalBit(principal: number): number {
  return 1 << (Math.imul(principal, 0x9e3779b1) >>> 27); // top 5 bits of a Fibonacci hash
}

/**
 * Nodes are ints (root 0). Each grant record keeps the principal's direct permission bits, its role
 * field ({@link GrantRoles}) and its effective bits (direct | expanded roles), so a check only ORs
 * words. At 10 M grants: 20 B records in a 2^24-slot table, edges and strings ≈ 40 B/grant (bench).
 */
export class GrantTrie {
  /** Segment strings → ids, looked up by offset into a URI. */
  readonly segments = new InternTable();
  /** Principal strings → ids. */
  readonly principals = new StringIds();
  /** (parent, segment) → child. */
  readonly edges = new PairTable(EDGE_STRIDE, INITIAL_EDGES);
  /** (node, principal) → grant record. */
  grants: PairTable;
  /** Bloom bits ({@link principalBit}) of the principals granted on the root. */
  rootBloom = 0;
  private readonly roles = new GrantRoles();
  private nodeCount = 1; // the root

  /** @param words permission mask words per record (1 up to 32 permissions); see {@link widen}. */
  constructor(public words: number) {
    this.grants = new PairTable(GRANT_HEADER + 2 * words);
  }

  /** Offset of the direct bits inside a grant record. */
  get directAt(): number {
    return GRANT_EFFECTIVE + this.words;
  }

  /** Offset of the grant record of principal id `principal` on the normalized `uri`, or -1. */
  findGrant(uri: string, principal: number): number {
    const e = this.edgeOf(uri, false);
    if (e === NO_EDGE) return -1;
    return this.grants.find(e === ROOT_EDGE ? ROOT : this.edges.data[e + EDGE_CHILD]!, principal);
  }

  /** Offset of the grant record of `principal` on `uri`, adding the path and an empty record when absent. */
  upsertGrant(uri: string, principal: number): number {
    const e = this.edgeOf(uri, true);
    const bit = principalBit(principal);
    if (e === ROOT_EDGE) this.rootBloom |= bit;
    else this.edges.data[e + EDGE_BLOOM] |= bit;
    return this.grants.insert(e === ROOT_EDGE ? ROOT : this.edges.data[e + EDGE_CHILD]!, principal);
  }

  /** Recomputes a record's effective bits: direct | every held role's mask. */
  expand(o: number, roleMasks: Int32Array): void {
    const d = this.grants.data;
    const w = this.words;
    for (let k = 0; k < w; k++) d[o + GRANT_EFFECTIVE + k] = d[o + GRANT_EFFECTIVE + w + k]!;
    this.roles.orMasksInto(d[o + GRANT_ROLES]!, roleMasks, w, d, o + GRANT_EFFECTIVE);
  }

  /** Whether the record holds neither direct bits nor roles (and so should go). */
  isEmpty(o: number): boolean {
    const d = this.grants.data;
    if (d[o + GRANT_ROLES] !== 0) return false;
    for (let k = 0, at = o + this.directAt; k < this.words; k++) if (d[at + k] !== 0) return false;
    return true;
  }

  /** Removes the record at `o`. */
  remove(o: number): void {
    this.roles.release(this.grants.data[o + GRANT_ROLES]!);
    this.grants.removeAt(o);
  }

  /** Adds role `r` to the record at `o`; returns whether it was new there. */
  addRole(o: number, r: number): boolean {
    const field = this.grants.data[o + GRANT_ROLES]!;
    if (this.roles.has(field, r)) return false;
    this.grants.data[o + GRANT_ROLES] = this.roles.add(field, r);
    return true;
  }

  /** Removes role `r` from the record at `o`; returns whether it was held. */
  removeRole(o: number, r: number): boolean {
    const field = this.grants.data[o + GRANT_ROLES]!;
    if (!this.roles.has(field, r)) return false;
    this.grants.data[o + GRANT_ROLES] = this.roles.remove(field, r);
    return true;
  }

  /** Removes permission `bit` from every grant (a deleted permission), dropping grants left empty. */
  clearBit(bit: number): void {
    const d = this.grants.data;
    const stride = this.grants.stride;
    const keep = ~(1 << (bit & 31));
    const eff = GRANT_EFFECTIVE + (bit >>> 5);
    const direct = eff + this.words;
    const emptied: number[] = [];
    for (let o = 0; o < d.length; o += stride) {
      if (d[o] === 0 || (d[o + eff]! & ~keep) === 0) continue;
      d[o + eff] &= keep; // every role lost the bit too, so effective loses exactly it
      d[o + direct] &= keep;
      if (this.isEmpty(o)) emptied.push(d[o]! - 1, d[o + 1]!);
    }
    this.removeAll(emptied);
  }

  /** Re-expands every grant holding role `r` after its mask changed. */
  reexpandRole(r: number, roleMasks: Int32Array): void {
    const d = this.grants.data;
    const stride = this.grants.stride;
    for (let o = 0; o < d.length; o += stride) {
      if (d[o] !== 0 && this.roles.has(d[o + GRANT_ROLES]!, r)) this.expand(o, roleMasks);
    }
  }

  /** Takes role `r` out of every grant (a deleted role), dropping grants left empty. */
  dropRole(r: number, roleMasks: Int32Array): void {
    const d = this.grants.data;
    const stride = this.grants.stride;
    const emptied: number[] = [];
    for (let o = 0; o < d.length; o += stride) {
      if (d[o] === 0 || !this.removeRole(o, r)) continue;
      this.expand(o, roleMasks);
      if (this.isEmpty(o)) emptied.push(d[o]! - 1, d[o + 1]!);
    }
    this.removeAll(emptied);
  }

  /** Re-lays every grant record for `words` mask words (a project passed a multiple of 32 permissions). */
  widen(words: number): void {
    if (words <= this.words) return;
    const old = this.grants;
    const oldWords = this.words;
    const next = new PairTable(GRANT_HEADER + 2 * words, old.capacity);
    for (let o = 0; o < old.data.length; o += old.stride) {
      if (old.data[o] === 0) continue;
      const n = next.insert(old.data[o]! - 1, old.data[o + 1]!);
      next.data[n + GRANT_ROLES] = old.data[o + GRANT_ROLES]!;
      for (let k = 0; k < oldWords; k++) {
        next.data[n + GRANT_EFFECTIVE + k] = old.data[o + GRANT_EFFECTIVE + k]!;
        next.data[n + GRANT_EFFECTIVE + words + k] = old.data[o + GRANT_EFFECTIVE + oldWords + k]!;
      }
    }
    this.grants = next;
    this.words = words;
  }

  /** Approximate bytes held. */
  byteSize(): number {
    return (
      this.grants.byteSize() +
      this.edges.byteSize() +
      this.segments.byteSize() +
      this.principals.byteSize() +
      this.roles.byteSize()
    );
  }

  /** Removes grants by (node, principal) pairs: removing during a scan would shift records under it. */
  private removeAll(pairs: readonly number[]): void {
    for (let i = 0; i < pairs.length; i += 2) this.remove(this.grants.find(pairs[i]!, pairs[i + 1]!));
  }

  /** Offset of the edge reaching a normalized URI's node: ROOT_EDGE for '/', NO_EDGE when absent and not `create`. */
  private edgeOf(uri: string, create: boolean): number {
    const end = uriEnd(uri);
    let node = ROOT;
    let e = ROOT_EDGE;
    for (let i = 1; i < end; ) {
      let j = i;
      while (j < end && uri.charCodeAt(j) !== SLASH) j++;
      if (j > i) {
        e = create ? this.edgeOrNew(node, this.segments.intern(uri, i, j)) : this.edge(node, uri, i, j);
        if (e === NO_EDGE) return NO_EDGE;
        node = this.edges.data[e + EDGE_CHILD]!;
      }
      i = j + 1;
    }
    return e;
  }

  private edge(node: number, uri: string, start: number, end: number): number {
    const seg = this.segments.find(uri, start, end);
    return seg < 0 ? NO_EDGE : this.edges.find(node, seg);
  }

  private edgeOrNew(node: number, seg: number): number {
    const found = this.edges.find(node, seg);
    if (found >= 0) return found;
    const o = this.edges.insert(node, seg); // may grow: read `data` only after
    this.edges.data[o + EDGE_CHILD] = this.nodeCount++;
    return o;
  }
}
