// The change log: every committed change that has events, stored by the writer in the same transaction as the write
// (key layout in keys.ts), trimmed in the background past its retention, and read on the main thread (Watch replay).
import type { Database } from 'lmdb';
import type { Change, WatchEvent } from './change-feed.js';
import type { Store } from './env.js';
import { keyOf, META, rangeOf, revisionOfChangeKey, revisionOfOrderKey, type Key } from './keys.js';

/** What the log stores per change, under `[projectId, revision]`. */
interface StoredChange {
  committed_at: string;
  events: readonly WatchEvent[];
}

/** Entries of the global order index: `[projectId, committed at (ms)]` under `[revision]`. */
type OrderEntry = [projectId: string, committedMs: number];

/** SPEC §7: everything younger than this is kept, whatever the revision count. */
export const CHANGELOG_MIN_AGE_MS = 24 * 3600 * 1000;

/** Stores `change` (writer thread, inside the write's transaction); a change without events is not stored. */
export function appendChange(dbs: Store['dbs'], change: Change): void {
  if (change.events.length === 0 || change.project_id === undefined) return;
  const stored: StoredChange = { committed_at: change.committed_at, events: change.events };
  dbs.changes.putSync(keyOf.change(change.project_id, change.revision), stored);
  dbs.changeOrder.putSync(keyOf.changeOrder(change.revision), [change.project_id, Date.parse(change.committed_at)] satisfies OrderEntry);
}

export interface TrimOptions {
  /** Keep at least this many of the newest entries (PERMIO_CHANGELOG_RETENTION): each is a revision of its own. */
  retention: number;
  /** The writer's clock, in ms. */
  now: number;
  /** Keep everything younger than this (default 24 h). */
  minAgeMs?: number;
  /** Entries removed at most, so one call never stalls the writer. */
  limit: number;
}

/**
 * Removes the oldest entries that are both outside the newest `retention` entries (so at least the last `retention`
 * revisions stay replayable, whatever gaps the revisions have) and older than the minimum age (writer thread, in one
 * transaction of at most `limit` removals). Returns how many it removed: call again while that is `limit`. Records
 * the highest removed revision as the lowest a replay may start after.
 */
export function trimChangeLog(store: Store, o: TrimOptions): number {
  const { changes, changeOrder, meta } = store.dbs;
  const cutoff = o.now - (o.minAgeMs ?? CHANGELOG_MIN_AGE_MS);
  return store.root.transactionSync(() => {
    const excess = (changeOrder.getStats() as { entryCount: number }).entryCount - o.retention; // O(1): LMDB keeps the count
    if (excess <= 0) return 0;
    const doomed: [number, OrderEntry][] = [];
    for (const { key, value } of changeOrder.getRange({ limit: Math.min(o.limit, excess) })) {
      const [projectId, committedMs] = value as OrderEntry;
      if (committedMs > cutoff) break; // oldest first: the rest is younger
      doomed.push([revisionOfOrderKey(key), [projectId, committedMs]]);
    }
    if (doomed.length === 0) return 0;
    for (const [revision, [projectId]] of doomed) {
      changes.removeSync(keyOf.change(projectId, revision));
      changeOrder.removeSync(keyOf.changeOrder(revision));
    }
    meta.putSync(META.changesTrimmedThrough, doomed[doomed.length - 1]![0]);
    return doomed.length;
  });
}

/** Reads the change log (main thread, read-only; a read sees every change the feed has dispatched). */
export class ChangeLog {
  private readonly changes: Database;
  private readonly changeOrder: Database;
  private readonly meta: Database;

  constructor(store: Store) {
    ({ changes: this.changes, changeOrder: this.changeOrder, meta: this.meta } = store.dbs);
  }

  /**
   * The lowest revision a replay may start after: every change above it is still in the log (0 while nothing
   * was trimmed). An `after_revision` below it is no longer retained.
   */
  replayableAfter(): number {
    return (this.meta.get(META.changesTrimmedThrough) as number | undefined) ?? 0;
  }

  /** Up to `limit` changes of `projectId` with a revision above `after`, in revision order (page on from the last one). */
  projectChanges(projectId: string, after: number, limit: number): Change[] {
    const out: Change[] = [];
    for (const { key, value } of this.changes.getRange({ ...rangeOf.changesAfter(projectId, after), limit })) {
      const stored = value as StoredChange;
      out.push({ revision: revisionOfChangeKey(key as Key), committed_at: stored.committed_at, project_id: projectId, events: stored.events });
    }
    return out;
  }

  /** Up to `limit` changes of every project with a revision above `after`, in revision order. */
  changesAfter(after: number, limit: number): Change[] {
    const out: Change[] = [];
    for (const { key, value } of this.changeOrder.getRange({ start: keyOf.changeOrder(after + 1), limit })) {
      const [projectId] = value as OrderEntry;
      const revision = revisionOfOrderKey(key);
      const stored = this.changes.get(keyOf.change(projectId, revision)) as StoredChange | undefined;
      if (stored) out.push({ revision, committed_at: stored.committed_at, project_id: projectId, events: stored.events });
    }
    return out;
  }
}
