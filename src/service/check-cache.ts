// Recent check answers on the main thread: a repeated check is answered without the hop to its worker, inside the
// request's own microtasks (which is also what lets uWS answer pipelined HTTP/1.1 requests: it cannot answer them
// from a later event-loop turn).
//
// Exact, never stale: a key holds its project's version, and every write that changes a project bumps the version
// in the same step that queues the write's deltas to the worker, before the write is answered. A check keyed at
// version v was queued behind every delta up to v, so its answer is v's (or newer, for a write committed but not yet
// answered); once a write bumps the version, no later check can read an entry of the old one. Bounded: the whole
// cache is dropped when it holds more than its budget of characters.

/** Batches whose URIs are longer than this are not cached (their keys would be large and rarely repeat). */
export const MAX_CACHED_URI_CHARS = 4096;

const SEP = '\u0001'; // never in a principal id or a resource URI (control characters are refused)

export class CheckCache {
  private readonly versions = new Map<string, number>();
  private entries = new Map<string, string>();
  private chars = 0;
  private epoch = 0; // bumped by clear(): entries keyed before are never read again

  /** @param maxChars budget of key + answer characters; 0 disables the cache. */
  constructor(private readonly maxChars: number) {}

  /** The key of a check at its project's current version, or undefined when it is not cached. */
  keyOf(projectId: string, principal: string, joinedUris: string, permissions: readonly string[]): string | undefined {
    if (this.maxChars === 0 || joinedUris.length > MAX_CACHED_URI_CHARS) return undefined;
    let key = `${this.epoch}${SEP}${projectId}${SEP}${this.versions.get(projectId) ?? 0}${SEP}${principal}${SEP}${joinedUris}`;
    // names may hold any character: length-prefixed, so ['a,b'] and ['a', 'b'] never share a key
    for (let i = 0; i < permissions.length; i++) key += `${SEP}${permissions[i]!.length}:${permissions[i]}`;
    return key;
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  set(key: string, answer: string): void {
    this.chars += key.length + answer.length;
    if (this.chars > this.maxChars) {
      this.entries = new Map();
      this.chars = key.length + answer.length;
    }
    this.entries.set(key, answer);
  }

  /** A write changed the project: its cached answers are never read again. */
  invalidate(projectId: string): void {
    this.versions.set(projectId, (this.versions.get(projectId) ?? 0) + 1);
  }

  /** Forgets everything (after the writer restarted: a write may have committed without its answer). */
  clear(): void {
    this.epoch++;
    this.entries = new Map();
    this.chars = 0;
  }
}
