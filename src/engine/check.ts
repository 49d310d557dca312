// The check hot path (SPEC §4): one walk per distinct resource, OR-ing effective bits until the request is covered.
import { EDGE_BLOOM, EDGE_CHILD, GRANT_EFFECTIVE, principalBit, ROOT, type GrantTrie } from './grant-trie.js';
import { HASH_SEED, hashStep } from './intern.js';
import type { PermissionTable } from './permissions.js';
import { uriEnd } from '../resource-uri.js';

/** One resource with something missing, echoed as sent. */
export interface MissingEntry {
  resource_uri: string;
  missing_permissions: string[];
}

/** The answer to a check: `passed` iff nothing is missing. */
export interface CheckResult {
  passed: boolean;
  missing_permissions: MissingEntry[];
}

const SLASH = 47; // '/'

/** The answer of every passing check (shared: callers only read or serialize it). */
const PASSED: CheckResult = Object.freeze({ passed: true, missing_permissions: Object.freeze([]) as unknown as MissingEntry[] });

/**
 * Separator of the URIs of a check: they arrive as one joined string (validated URIs never hold control
 * characters), walked in place, so a batch allocates no per-URI strings unless a URI misses.
 */
export const URI_SEPARATOR = '\n';

// Scratch, one per thread (msgpackr's `target`): reused by every call, grown on demand.
let wanted = new Int32Array(4); // requested mask, one int32 per word
let held = new Int32Array(4); // bits held along the current path (multi-word projects only)
let bitOfName = new Int32Array(64); // bit per distinct requested name; -1 = no such permission

/**
 * Answers `principal` × `uris` × `permissions` against `trie`; `uris` is an array or one string joined by
 * {@link URI_SEPARATOR} (as a worker receives them), walked in place either way. URIs were validated by the
 * caller (a trailing '/' may remain); names are resolved to bits once, and strings are built only for failures.
 * The answer is read-only: entries missing the same names share one list.
 */
export function checkAccess(
  trie: GrantTrie,
  permissions: PermissionTable,
  principal: string,
  uris: string | readonly string[],
  names: readonly string[],
): CheckResult {
  const distinct = names.length > 1 ? [...new Set(names)] : names; // a repeated name answers once
  const words = trie.words;
  if (wanted.length < words) {
    wanted = new Int32Array(words * 2);
    held = new Int32Array(words * 2);
  }
  if (bitOfName.length < distinct.length) bitOfName = new Int32Array(distinct.length * 2);
  for (let k = 0; k < words; k++) wanted[k] = 0; // not fill(): a builtin call costs more than one word
  let allKnown = true; // else every resource misses the unknown names
  for (let k = 0; k < distinct.length; k++) {
    const bit = permissions.bitOfName(distinct[k]!);
    bitOfName[k] = bit;
    if (bit >= 0) wanted[bit >>> 5] |= 1 << (bit & 31);
    else allKnown = false;
  }
  const pid = trie.principals.find(principal);
  let reported: Set<string> | null = null; // URIs already answered as missing (a repeat answers once)
  let lastNames: string[] | null = null; // the last missing-name list built, for the bits it was built from
  let lastCovered = 0;
  const missing: MissingEntry[] = [];
  const joined = typeof uris === 'string';
  const firstStop = joined ? uris.indexOf(URI_SEPARATOR) : -1; // the first scan, reused by the loop
  const single = joined ? firstStop < 0 : uris.length === 1;
  // each URI is str[start, stop): a slice of the joined string, or a whole array element
  for (let next = 0, u = 0; joined ? next < uris.length : u < uris.length; ) {
    let str: string;
    let start = 0;
    let stop: number;
    if (joined) {
      str = uris;
      start = next;
      stop = start === 0 ? firstStop : uris.indexOf(URI_SEPARATOR, start);
      if (stop < 0) stop = uris.length;
      next = stop + 1;
    } else {
      str = uris[u++]!;
      stop = str.length;
    }
    const end = uriEnd(str, start, stop); // '/a/' is '/a'
    let names: string[] | null = null;
    if (words === 1) {
      // ≤ 32 permissions: the whole path fits in one int (the common case)
      const covered = (pid < 0 ? 0 : collectOne(trie, pid, str, start, end, wanted[0]!)) & wanted[0]!;
      if (!allKnown || covered !== wanted[0]) {
        // resources missing the same names share one list (a batch's misses mostly repeat one pattern)
        if (covered !== lastCovered || lastNames === null) lastNames = missingOne(distinct, covered);
        lastCovered = covered;
        names = lastNames;
      }
    } else {
      if (pid < 0) held.fill(0, 0, words);
      else collectMany(trie, pid, str, start, end, words);
      if (!allKnown || !heldCovers(words)) names = missingMany(distinct);
    }
    if (names === null) continue;
    const uri = start === 0 && stop === str.length ? str : str.slice(start, stop); // echoed as sent
    // only misses are reported, so only misses are deduplicated: a passing batch builds no set
    if (!single) {
      const key = end === stop ? uri : str.slice(start, end);
      reported ??= new Set();
      if (reported.has(key)) continue;
      reported.add(key);
    }
    missing.push({ resource_uri: uri, missing_permissions: names });
  }
  return missing.length === 0 ? PASSED : { passed: false, missing_permissions: missing };
}

/** ORs `pid`'s effective word along the URI `str[start, end)` from the root, stopping once `want` is covered. */
function collectOne(trie: GrantTrie, pid: number, str: string, start: number, end: number, want: number): number {
  const grants = trie.grants;
  const edges = trie.edges;
  const edgeData = edges.data;
  const segments = trie.segments;
  const bit = principalBit(pid);
  let o = (trie.rootBloom & bit) === 0 ? -1 : grants.find(ROOT, pid);
  let bits = o < 0 ? 0 : grants.data[o + GRANT_EFFECTIVE]!;
  let node = ROOT;
  for (let i = start + 1; (bits & want) !== want && i < end; ) {
    let h = HASH_SEED;
    let j = i;
    for (let c = 0; j < end && (c = str.charCodeAt(j)) !== SLASH; j++) h = hashStep(h, c); // hash while scanning
    const seg = segments.findHashed(str, i, j, h);
    if (seg < 0) break; // a segment no grant ever named: nothing deeper exists
    const e = edges.find(node, seg);
    if (e < 0) break;
    node = edgeData[e + EDGE_CHILD]!;
    // the edge's Bloom bits sit in the cache line just read, so most nodes skip the grant probe:
    // +20–45 % checks/s at 1 M grants (bench/engine.bench.ts)
    if ((edgeData[e + EDGE_BLOOM]! & bit) !== 0) {
      o = grants.find(node, pid);
      if (o >= 0) bits |= grants.data[o + GRANT_EFFECTIVE]!;
    }
    i = j + 1;
  }
  return bits;
}

/** Multi-word {@link collectOne}: ORs into the `held` scratch. */
function collectMany(trie: GrantTrie, pid: number, str: string, start: number, end: number, words: number): void {
  const grants = trie.grants;
  const edgeData = trie.edges.data;
  const bit = principalBit(pid);
  held.fill(0, 0, words);
  let o = (trie.rootBloom & bit) === 0 ? -1 : grants.find(ROOT, pid);
  if (o >= 0) for (let k = 0; k < words; k++) held[k] |= grants.data[o + GRANT_EFFECTIVE + k]!;
  let node = ROOT;
  for (let i = start + 1; !heldCovers(words) && i < end; ) {
    let h = HASH_SEED;
    let j = i;
    for (let c = 0; j < end && (c = str.charCodeAt(j)) !== SLASH; j++) h = hashStep(h, c);
    const seg = trie.segments.findHashed(str, i, j, h);
    if (seg < 0) break;
    const e = trie.edges.find(node, seg);
    if (e < 0) break;
    node = edgeData[e + EDGE_CHILD]!;
    if ((edgeData[e + EDGE_BLOOM]! & bit) !== 0) {
      o = grants.find(node, pid);
      if (o >= 0) for (let k = 0; k < words; k++) held[k] |= grants.data[o + GRANT_EFFECTIVE + k]!;
    }
    i = j + 1;
  }
}

/** Whether `held` covers `wanted` in its first `words` words. */
function heldCovers(words: number): boolean {
  for (let k = 0; k < words; k++) if ((held[k]! & wanted[k]!) !== wanted[k]) return false;
  return true;
}

function missingOne(names: readonly string[], bits: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < names.length; k++) {
    const bit = bitOfName[k]!;
    if (bit < 0 || (bits & (1 << bit)) === 0) out.push(names[k]!);
  }
  return out;
}

function missingMany(names: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < names.length; k++) {
    const bit = bitOfName[k]!;
    if (bit < 0 || (held[bit >>> 5]! & (1 << (bit & 31))) === 0) out.push(names[k]!);
  }
  return out;
}
