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
// one. Bounded: the whole cache is dropped when it holds more than its budget of characters, and every entry when the
// principal versions outgrow MAX_PRINCIPAL_VERSIONS.
import { onlyGrantEvents, type Change, type GrantEvent } from '../store/change-feed.js';

/** Batches whose URIs are longer than this are not cached (their keys would be large and rarely repeat). */
export const MAX_CACHED_URI_CHARS = 4096;

const SEP = '\u0001'; // never in a principal id or a resource URI (control characters are refused)
/** Principals whose grants changed, remembered by version; past this many, everything is dropped and they are forgotten. */
const MAX_PRINCIPAL_VERSIONS = 1_000_000;

export class CheckCache {
  private readonly versions = new Map<string, number>(); // project id → version
  private principalVersions = new Map<string, number>(); // project id + SEP + principal → version
  private entries = new Map<string, string>();
  private chars = 0;
  private epoch = 0; // bumped by clear(): entries keyed before are never read again

  /** @param maxChars budget of key + answer characters; 0 disables the cache. */
  constructor(private readonly maxChars: number) {}

  /** The key of a check at the current versions of its project and principal, or undefined when not cached. */
  keyOf(projectId: string, principal: string, joinedUris: string, permissions: readonly string[]): string | undefined {
    if (this.maxChars === 0 || joinedUris.length > MAX_CACHED_URI_CHARS) return undefined;
    const principalVersion = this.principalVersions.get(projectId + SEP + principal) ?? 0;
    let key = `${this.epoch}${SEP}${projectId}${SEP}${this.versions.get(projectId) ?? 0}${SEP}${principalVersion}${SEP}${principal}${SEP}${joinedUris}`;
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
    this.entries = new Map();
    this.principalVersions = new Map();
    this.chars = 0;
  }
}
