// Recent check answers on the main thread: a repeated check is answered without the hop to its worker, inside the
// request's own microtasks (which is also what lets uWS answer pipelined HTTP/1.1 requests: it cannot answer them
// from a later event-loop turn).
//
// Exact, never stale: a key holds its project's version and its principal's version in that project. A change that
// alters a project bumps them when the change feed dispatches it, right after its events were queued to the worker
// and before its write is answered: a grant or revoke bumps its principal's version only (another principal's answers
// cannot change), anything else (permissions, roles, a project delete) the project's; a change without events none.
// A check keyed at versions v was queued behind every event up to v, so its answer is v's (or newer, for a write
// committed but not yet answered); once a write bumps a version, no later check can read an entry keyed with the old
// one. An answer that holds only until a moment (a grant window opening or closing) is set with that moment, and
// `get` does not return it from then on (on the server's clock, so the test clock moves it too).
//
// Bounded without pauses: a fixed number of slots, allocated once. The index is split into many small Maps (V8 hashes
// the whole key natively; one Map over every slot would stop the main thread for tens of milliseconds each time it
// doubles or rehashes after deletions); a key's Map is chosen from its check's principal, URIs and permissions, so
// each holds a few hundred entries and its rehash takes microseconds. A new entry takes the slot the CLOCK hand stops at
// (the first whose answer was not read since the hand last passed), and the hand also evicts a few more while the
// entries hold more characters than the budget: eviction is a few slots per insert, never the whole cache at once. clear() moves to a new epoch (no older key matches again) and leaves the old
// entries for the hand to reclaim; every entry is forgotten that way when the principal versions outgrow
// MAX_PRINCIPAL_VERSIONS.
import * as clock from '../clock.js';
import { onlyGrantEvents, type Change, type GrantEvent } from '../store/change-feed.js';

/** Batches whose URIs are longer than this are not cached (their keys would be large and rarely repeat). */
export const MAX_CACHED_URI_CHARS = 4096;

const SEP = '\u0001'; // never in a principal id or a resource URI (control characters are refused)
/** Principals whose grants changed, remembered by version; past this many, everything is dropped and they are forgotten. */
const MAX_PRINCIPAL_VERSIONS = 1_000_000;

/** Characters of budget per slot: a 1×1 check's key and answer are ~150 characters, so a full budget of those fits. */
const CHARS_PER_SLOT = 128;
const MIN_SLOTS = 64;
/** 2^20 slots: ~18 MB of arrays allocated at start (the default 64 MB budget has 2^19: ~9 MB), plus the index Maps. */
const MAX_SLOTS = 1 << 20;
/** An entry over this share of the budget is not cached (it would evict many small ones for one). */
const MAX_ENTRY_SHARE = 1 / 64;
/** Extra slots the hand may evict per insert to bring the characters under budget (it catches up over a few inserts). */
const MAX_EVICTIONS_PER_INSERT = 8;
const NO_EXPIRY = Infinity;

/** Index Maps: 2^12, so at the largest table (2^20 slots) one holds ~256 entries on average. */
const SHARDS = 1 << 12;
/** A key's Map is chosen from its check: the URIs' last TAIL characters whole, every STRIDE-th before them. */
const TAIL = 32;
const STRIDE = 8;

/** murmur3's finalizer: FNV's low bits alone follow a few characters' low bits. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The index Map of a check's keys (every version of it shares one): FNV-1a over the principal, the URIs (their length,
 * their last TAIL characters, and every STRIDE-th before: where resource ids differ) and each permission's length
 * and last character. Reads only flat strings, never the key (a rope: reading it would copy it flat).
 */
function shardOfCheck(principal: string, joinedUris: string, permissions: readonly string[]): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < principal.length; i++) h = Math.imul(h ^ principal.charCodeAt(i), 0x01000193);
  const n = joinedUris.length;
  h = Math.imul(h ^ n, 0x01000193);
  const tail = Math.max(0, n - TAIL);
  for (let i = n - 1; i >= tail; i--) h = Math.imul(h ^ joinedUris.charCodeAt(i), 0x01000193);
  for (let i = tail - 1; i >= 0; i -= STRIDE) h = Math.imul(h ^ joinedUris.charCodeAt(i), 0x01000193);
  for (let i = 0; i < permissions.length; i++) {
    const name = permissions[i]!;
    h = Math.imul(h ^ name.length, 0x01000193);
    if (name.length > 0) h = Math.imul(h ^ name.charCodeAt(name.length - 1), 0x01000193);
  }
  return mix(h) & (SHARDS - 1);
}

/** shardOfCheck of a key given as a string (not the one keyOf just made): its check read back out of it. */
function shardOfKey(key: string): number {
  let at = 0;
  for (let field = 0; field < 4; field++) at = key.indexOf(SEP, at) + 1; // epoch, project, versions
  const principalEnd = key.indexOf(SEP, at);
  if (principalEnd < 0) return 0; // not keyOf's (tests' own strings): any Map will do, always the same
  const principal = key.slice(at, principalEnd);
  const urisEnd = key.indexOf(SEP, principalEnd + 1); // URIs never hold SEP
  const joinedUris = key.slice(principalEnd + 1, urisEnd < 0 ? key.length : urisEnd);
  const permissions: string[] = [];
  for (let i = urisEnd; i >= 0 && i < key.length; ) {
    const colon = key.indexOf(':', i + 1);
    const length = Number(key.slice(i + 1, colon));
    permissions.push(key.slice(colon + 1, colon + 1 + length));
    i = colon + 1 + length;
  }
  return shardOfCheck(principal, joinedUris, permissions);
}

export class CheckCache {
  private readonly versions = new Map<string, number>(); // project id → version
  private principalVersions = new Map<string, number>(); // project id + SEP + principal → version
  private epoch = 0; // bumped by clear(): entries keyed before are never read again

  /** Number of slots (fixed). */
  readonly capacity: number;
  private readonly keys: string[]; // '' = free slot
  private readonly answers: string[];
  private readonly validUntil: Float64Array; // ms on the server's clock; Infinity = until a write invalidates it
  private readonly referenced: Uint8Array; // read since the CLOCK hand last passed
  private readonly index: Map<string, number>[]; // key → slot, by shardOf(key)
  private hand = 0;
  private chars = 0;
  private count = 0;
  private readonly maxEntryChars: number;
  /** The last key keyOf made and its index Map (a check reads it right after). */
  private lastKey = '';
  private lastShard = 0;

  /** @param maxChars budget of key + answer characters; 0 disables the cache. */
  constructor(private readonly maxChars: number) {
    const slots = maxChars === 0 ? 0 : Math.min(MAX_SLOTS, Math.max(MIN_SLOTS, Math.floor(maxChars / CHARS_PER_SLOT)));
    this.capacity = slots;
    this.keys = new Array<string>(slots).fill('');
    this.answers = new Array<string>(slots).fill('');
    this.validUntil = new Float64Array(slots);
    this.referenced = new Uint8Array(slots);
    this.index = Array.from({ length: slots === 0 ? 0 : SHARDS }, () => new Map<string, number>());
    this.maxEntryChars = Math.max(1, Math.floor(maxChars * MAX_ENTRY_SHARE));
  }

  /** The key of a check at the current versions of its project and principal, or undefined when not cached. */
  keyOf(projectId: string, principal: string, joinedUris: string, permissions: readonly string[]): string | undefined {
    if (this.maxChars === 0 || joinedUris.length > MAX_CACHED_URI_CHARS) return undefined;
    const principalVersion = this.principalVersions.get(projectId + SEP + principal) ?? 0;
    const prefix = `${this.epoch}${SEP}${projectId}${SEP}${this.versions.get(projectId) ?? 0}${SEP}${principalVersion}${SEP}${principal}${SEP}`;
    let key = prefix + joinedUris;
    // names may hold any character: length-prefixed, so ['a,b'] and ['a', 'b'] never share a key
    for (let i = 0; i < permissions.length; i++) key += `${SEP}${permissions[i]!.length}:${permissions[i]}`;
    // the key is a rope; reading its characters would copy it flat, so its Map is found from the flat pieces
    this.lastKey = key;
    this.lastShard = shardOfCheck(principal, joinedUris, permissions);
    return key;
  }

  /** The answer cached under `key`, unless there is none or its `validUntilMs` has come. */
  get(key: string): string | undefined {
    if (this.capacity === 0) return undefined;
    const slot = this.index[this.shardFor(key)]!.get(key);
    if (slot === undefined) return undefined;
    const until = this.validUntil[slot]!;
    if (until !== NO_EXPIRY && clock.now() >= until) {
      this.evict(slot);
      return undefined;
    }
    this.referenced[slot] = 1;
    return this.answers[slot];
  }

  /**
   * Caches `answer` under `key` (from keyOf). `validUntilMs` (server clock, ms since the epoch): the moment from
   * which the answer may no longer hold without any write, e.g. a grant window opening or closing; omitted: until a
   * write invalidates it.
   */
  set(key: string, answer: string, validUntilMs: number = NO_EXPIRY): void {
    if (this.capacity === 0 || key === '') return;
    const size = key.length + answer.length;
    if (size > this.maxEntryChars) return;
    if (validUntilMs !== NO_EXPIRY && validUntilMs <= clock.now()) return; // already over
    const shard = this.index[this.shardFor(key)]!;
    let slot = shard.get(key);
    if (slot !== undefined) {
      this.chars += answer.length - this.answers[slot]!.length;
    } else {
      slot = this.victim();
      if (this.keys[slot] !== '') this.evict(slot);
      this.keys[slot] = key;
      shard.set(key, slot);
      this.chars += size;
      this.count++;
    }
    this.answers[slot] = answer;
    this.validUntil[slot] = validUntilMs;
    this.referenced[slot] = 0; // earns its place by being read before the hand comes round
    for (let i = 0; i < MAX_EVICTIONS_PER_INSERT && this.chars > this.maxChars && this.count > 1; i++) {
      const v = this.victim();
      if (v !== slot && this.keys[v] !== '') this.evict(v);
    }
  }

  /** Entries held and their characters (for tests and metrics). */
  size(): { entries: number; chars: number } {
    return { entries: this.count, chars: this.chars };
  }

  /** A committed change (a change feed listener): the cached answers it may change are never read again. */
  invalidate(change: Change): void {
    const projectId = change.project_id;
    if (projectId === undefined || (change.events.length === 0 && change.elided_events === undefined)) return; // nothing a check sees changed
    if (change.elided_events !== undefined || !onlyGrantEvents(change)) {
      this.versions.set(projectId, (this.versions.get(projectId) ?? 0) + 1);
      return;
    }
    if (this.principalVersions.size >= MAX_PRINCIPAL_VERSIONS) this.clear();
    for (const e of change.events) {
      const k = projectId + SEP + (e as GrantEvent).user_id;
      this.principalVersions.set(k, (this.principalVersions.get(k) ?? 0) + 1);
    }
  }

  /** Forgets everything (after the writer restarted: a write may have committed without its answer). */
  clear(): void {
    this.epoch++; // older principal versions may be forgotten: no entry keyed before can match again
    this.principalVersions = new Map();
    // the old entries stay until the hand reclaims them: never referenced again, they are the first it takes
    this.referenced.fill(0);
  }

  /** The slot the CLOCK hand stops at (a free one, or the first not read since it last passed); moves past it. */
  private victim(): number {
    const cap = this.capacity;
    let h = this.hand;
    // every slot referenced: at most one full turn clears them all, then the first is taken
    while (this.keys[h] !== '' && this.referenced[h] === 1) {
      this.referenced[h] = 0;
      h = h + 1 === cap ? 0 : h + 1;
    }
    this.hand = h + 1 === cap ? 0 : h + 1;
    return h;
  }

  private shardFor(key: string): number {
    return key === this.lastKey ? this.lastShard : shardOfKey(key);
  }

  /** Frees `slot`: out of its index Map, its strings dropped. */
  private evict(slot: number): void {
    const key = this.keys[slot]!;
    this.index[this.shardFor(key)]!.delete(key);
    this.chars -= key.length + this.answers[slot]!.length;
    this.count--;
    this.keys[slot] = '';
    this.answers[slot] = '';
    this.referenced[slot] = 0;
  }
}
