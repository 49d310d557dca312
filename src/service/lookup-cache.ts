// Recent lookup answers (SPEC §8) on the main thread, so the pages of one walk compute the answer set once. Exact,
// never stale, the way the check cache is: a key holds its project's version and the version of what its answer reads
// — the principal's grants for LookupResources, the project's grants for LookupSubjects — bumped by the change feed
// before a write is answered. Answers that read a windowed entry depend on the clock and are never cached.
import { onlyGrantEvents, type Change, type GrantEvent } from '../store/change-feed.js';

const SEP = '\u0001'; // never in a principal id, a URI or a permission name that exists
/** Items (URIs, principal ids) held at most; past it the whole cache is dropped. */
const MAX_ITEMS = 1_000_000;
/** Principals remembered by version; past it, everything is dropped and they are forgotten. */
const MAX_PRINCIPAL_VERSIONS = 1_000_000;

export class LookupCache {
  private readonly versions = new Map<string, number>(); // project id → version (schema, deletes)
  private readonly grantVersions = new Map<string, number>(); // project id → version of any of its grants
  private principalVersions = new Map<string, number>(); // project id + SEP + principal → version
  private entries = new Map<string, readonly string[]>();
  private items = 0;
  private epoch = 0;

  /** The key of a LookupResources answer at the current versions. */
  resourcesKey(projectId: string, principal: string, permission: string, prefix: string): string {
    const pv = this.principalVersions.get(projectId + SEP + principal) ?? 0;
    return `r${this.epoch}${SEP}${projectId}${SEP}${this.versions.get(projectId) ?? 0}${SEP}${pv}${SEP}${principal}${SEP}${permission}${SEP}${prefix}`;
  }

  /** The key of a LookupSubjects answer at the current versions. */
  subjectsKey(projectId: string, uri: string, permission: string): string {
    const gv = this.grantVersions.get(projectId) ?? 0;
    return `s${this.epoch}${SEP}${projectId}${SEP}${this.versions.get(projectId) ?? 0}${SEP}${gv}${SEP}${permission}${SEP}${uri}`;
  }

  get(key: string): readonly string[] | undefined {
    return this.entries.get(key);
  }

  set(key: string, answer: readonly string[]): void {
    this.items += answer.length + 1;
    if (this.items > MAX_ITEMS) {
      this.entries = new Map();
      this.items = answer.length + 1;
    }
    this.entries.set(key, answer);
  }

  /** A committed change (a change feed listener): the answers it may change are never read again. */
  invalidate(change: Change): void {
    const projectId = change.project_id;
    if (projectId === undefined || (change.events.length === 0 && change.elided_events === undefined)) return;
    if (change.elided_events !== undefined || !onlyGrantEvents(change)) { // a change too large to carry: anything may differ
      this.versions.set(projectId, (this.versions.get(projectId) ?? 0) + 1);
      return;
    }
    this.grantVersions.set(projectId, (this.grantVersions.get(projectId) ?? 0) + 1);
    if (this.principalVersions.size >= MAX_PRINCIPAL_VERSIONS) this.clear();
    for (const e of change.events) {
      const k = projectId + SEP + (e as GrantEvent).user_id;
      this.principalVersions.set(k, (this.principalVersions.get(k) ?? 0) + 1);
    }
  }

  /** Forgets everything (after the writer restarted). */
  clear(): void {
    this.epoch++;
    this.entries = new Map();
    this.principalVersions = new Map();
    this.items = 0;
  }
}
