// What every operation needs: the store reader, the writer, the change feed and log, the check pool, auth, and the
// caches committed changes invalidate.
import type { Config } from '../config.js';
import type { StoreReader } from '../store/read.js';
import type { ProjectRecord } from '../store/records.js';
import type { CommandBody } from '../store/commands.js';
import type { Change, ChangeFeed } from '../store/change-feed.js';
import type { ChangeLog } from '../store/change-log.js';
import type { CheckPool } from '../worker/pool.js';
import type { WriterClient } from '../worker/writer-client.js';
import type { Authenticator } from './auth.js';
import { CheckCache } from './check-cache.js';
import { LogWaits } from './log-waits.js';

export class ServiceContext {
  private readonly projectCache = new Map<string, ProjectRecord>();
  private readonly limitCache = new Map<string, number>();
  /** Recent check answers; a change bumps the versions it affects when the feed dispatches it. */
  readonly checkCache: CheckCache;
  /** Cluster mode: waits for revisions this node has not applied yet, and for the log's end. */
  readonly logWaits: LogWaits;

  constructor(
    readonly config: Config,
    readonly reader: StoreReader,
    readonly writer: WriterClient,
    readonly feed: ChangeFeed,
    readonly changeLog: ChangeLog,
    readonly pool: CheckPool,
    readonly auth: Authenticator,
    private readonly limitOfOrg: (orgId: string) => number,
  ) {
    this.checkCache = new CheckCache(config.checkCacheChars);
    const logEnd = config.cluster ? () => writer.logEnd() : undefined;
    this.logWaits = new LogWaits(feed, logEnd, config.consistencyWaitMs, (revision) => revision.toString(36));
  }

  /** Drops every cache (after the writer restarted: a write may have committed without its change dispatched). */
  clearCaches(): void {
    this.projectCache.clear();
    this.limitCache.clear();
    this.checkCache.clear();
    this.auth.forget();
  }

  /** A change feed listener: drops what the committed change made stale. */
  applyChange(change: Change): void {
    this.checkCache.invalidate(change);
    if (change.keys_invalidated) this.auth.forget();
    if (change.organisation_updated !== undefined) this.limitCache.delete(change.organisation_updated);
    // a deleted project's name may come back as a new project
    if (change.events.some((e) => e.type === 'PROJECT_DELETED')) this.projectCache.clear();
  }

  /** A project by organisation and name (cached; the cache is dropped when a project is deleted). */
  project(orgId: string, name: string): ProjectRecord | undefined {
    const key = `${orgId}\u0000${name}`;
    let p = this.projectCache.get(key);
    if (p === undefined) {
      p = this.reader.project(orgId, name);
      if (p !== undefined) this.projectCache.set(key, p);
    }
    return p;
  }

  /** The organisation's requests-per-minute limit, 0 = unlimited (cached until an organisation write). */
  rateLimitOf(orgId: string): number {
    let limit = this.limitCache.get(orgId);
    if (limit === undefined) {
      limit = this.limitOfOrg(orgId);
      this.limitCache.set(orgId, limit);
    }
    return limit;
  }

  /** Sends a command to the writer; resolves to its value once it is durable and its change was dispatched (read-your-writes). */
  async write(cmd: CommandBody): Promise<unknown> {
    const { value, revision } = await this.writer.write(cmd);
    if (this.feed.applied < revision) await this.feed.reached(revision); // cluster mode: another path dispatches it
    return value;
  }
}
