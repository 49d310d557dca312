// Compact per-project grant trie: int nodes, packed (parent, segment) → child edges, packed (node, principal) → grants.
import { GrantRoles } from './grant-roles.js';
import { InternTable } from './intern.js';
import { PairTable } from './pair-table.js';
import { uriEnd } from './uri.js';

/** Node of the project root `/`. */
export const ROOT = 0;
/** Edge record: `[parent + 1, segment, child]`. */
export const EDGE_CHILD = 2;
const EDGE_STRIDE = 3;
/** Grant record: `[node + 1, principal, roles, effective × words, direct × words]`. */
export const GRANT_ROLES = 2;
export const GRANT_EFFECTIVE = 3;
const GRANT_HEADER = 3;
const INITIAL_NODES = 1024;
const SLASH = 47; // '/'

/**
 * Nodes are ints (root 0); each grant record keeps the principal's direct permission bits, its role
 * field ({@link GrantRoles}) and the effective bits (direct | expanded roles), so a check only ORs
 * words. Grant records at 10 M grants: 20 B × 2^24 slots ≈ 34 B/grant, plus edges and interned strings.
 */
export class GrantTrie {
  /** Segment strings → ids, looked up by offset into a URI. */
  readonly segments = new InternTable();
  /** Principal strings → ids. */
  readonly principals = new InternTable();
  /** (parent, segment) → child. */
  readonly edges = new PairTable(EDGE_STRIDE, INITIAL_NODES);
  /** (node, principal) → grant record. */
  grants: PairTable;
  /** Live grant records per node; 0 lets a check skip the probe on a grant-less node. */
  nodeGrants = new Int32Array(INITIAL_NODES);
  readonly roles = new GrantRoles();
  private nodeCount = 1; // the root

  constructor(public words: number) {
    this.grants = new PairTable(GRANT_HEADER + 2 * words);
  }

  /** Offset of the direct bits inside a grant record. */
  get directAt(): number {
    return GRANT_EFFECTIVE + this.words;
  }

  /** Node of a normalized URI, or -1 when absent and `create` is false. */
  nodeOf(uri: string, create: boolean): number {
    const end = uriEnd(uri);
    let node = ROOT;
    for (let i = 1; i < end; ) {
      let j = i;
      while (j < end && uri.charCodeAt(j) !== SLASH) j++;
      if (j > i) {
        node = create ? this.childOrNew(node, this.segments.intern(uri, i, j)) : this.child(node, uri, i, j);
        if (node < 0) return -1;
      }
      i = j + 1;
    }
    return node;
  }

  /** Offset of the grant record of `principal` (an id) at `node`, or -1. */
  find(node: number, principal: number): number {
    return this.nodeGrants[node] === 0 ? -1 : this.grants.find(node, principal);
  }

  /** Offset of the grant record at (node, principal), adding an empty one when absent. */
  upsert(node: number, principal: number): number {
    const before = this.grants.size;
    const o = this.grants.insert(node, principal);
    if (this.grants.size !== before) this.nodeGrants[node]++;
    return o;
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
    const d = this.grants.data;
    this.roles.release(d[o + GRANT_ROLES]!);
    this.nodeGrants[d[o]! - 1]--;
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
      this.nodeGrants.byteLength +
      this.segments.byteSize() +
      this.principals.byteSize() +
      this.roles.byteSize()
    );
  }

  /** Removes grants by (node, principal) pairs: removing during a scan would shift records under it. */
  private removeAll(pairs: readonly number[]): void {
    for (let i = 0; i < pairs.length; i += 2) this.remove(this.grants.find(pairs[i]!, pairs[i + 1]!));
  }

  private child(node: number, uri: string, start: number, end: number): number {
    const seg = this.segments.find(uri, start, end);
    if (seg < 0) return -1;
    const o = this.edges.find(node, seg);
    return o < 0 ? -1 : this.edges.data[o + EDGE_CHILD]!;
  }

  private childOrNew(node: number, seg: number): number {
    const found = this.edges.find(node, seg);
    if (found >= 0) return this.edges.data[found + EDGE_CHILD]!;
    const child = this.nodeCount++;
    if (child >= this.nodeGrants.length) {
      const grown = new Int32Array(this.nodeGrants.length * 2);
      grown.set(this.nodeGrants);
      this.nodeGrants = grown;
    }
    const o = this.edges.insert(node, seg); // may grow: read `data` only after
    this.edges.data[o + EDGE_CHILD] = child;
    return child;
  }
}
