// What every operation needs: the store reader, the writer, the change feed and log, the check pool, auth, and the
// caches committed changes invalidate.
import type { Config } from '../config.js';
import type { StoreReader } from '../store/read.js';
import type { ProjectRecord } from '../store/records.js';
import { PermioError } from '../errors.js';
import type { CallStub, CommandBody } from '../store/commands.js';
import type { Change, ChangeFeed } from '../store/change-feed.js';
import type { ChangeLog } from '../store/change-log.js';
import type { CheckPool } from '../worker/pool.js';
import type { WriterClient } from '../worker/writer-client.js';
import { Answer } from './answer.js';
import type { Authenticator } from './auth.js';
import { CheckCache } from './check-cache.js';
import { LookupCache } from './lookup-cache.js';
import { LogWaits } from './log-waits.js';
import type { RevisionTokens } from './revision-token.js';

/** The call a write is made for: its call-log entry, and the note that the writer committed it. */
export interface WriteCall {
  stub(): CallStub | undefined;
  committed(): void;
}

/** What the service layer is wired with (main.ts). */
export interface ServiceParts {
  readonly config: Config;
  readonly reader: StoreReader;
  readonly writer: WriterClient;
  /** Every committed change, in revision order; `applied` is what this node's reads reflect. */
  readonly feed: ChangeFeed;
  readonly changeLog: ChangeLog;
  readonly tokens: RevisionTokens;
  readonly pool: CheckPool;
  readonly auth: Authenticator;
  /** The organisation's requests-per-minute limit, 0 = unlimited, read from the store. */
  readonly limitOfOrg: (orgId: string) => number;
}

export class ServiceContext {
  readonly config: Config;
  readonly reader: StoreReader;
  readonly writer: WriterClient;
  readonly feed: ChangeFeed;
  readonly changeLog: ChangeLog;
  readonly tokens: RevisionTokens;
  readonly pool: CheckPool;
  readonly auth: Authenticator;
  private readonly limitOfOrg: (orgId: string) => number;
  private readonly projectCache = new Map<string, ProjectRecord>();
  private readonly limitCache = new Map<string, number>();
  /** Recent check answers; a change bumps the versions it affects when the feed dispatches it. */
  readonly checkCache: CheckCache;
  /** Recent lookup answer sets (the pages of one walk), invalidated like the check cache. */
  readonly lookupCache = new LookupCache();
  /** Cluster mode: waits for revisions this node has not applied yet, and for the log's end. */
  readonly logWaits: LogWaits;
  /** Set on a call's own context ({@link forCall}). */
  private call: WriteCall | undefined;

  constructor(parts: ServiceParts) {
    ({
      config: this.config,
      reader: this.reader,
      writer: this.writer,
      feed: this.feed,
      changeLog: this.changeLog,
      tokens: this.tokens,
      pool: this.pool,
      auth: this.auth,
      limitOfOrg: this.limitOfOrg,
    } = parts);
    this.checkCache = new CheckCache(parts.config.checkCacheChars);
    const logEnd = parts.config.cluster ? () => parts.writer.logEnd() : undefined;
    this.logWaits = new LogWaits(this.feed, logEnd, parts.config.consistencyWaitMs, (revision) => this.tokens.encode(revision));
  }

  /** Drops every cache (after the writer restarted: a write may have committed without its change dispatched). */
  clearCaches(): void {
    this.projectCache.clear();
    this.limitCache.clear();
    this.checkCache.clear();
    this.lookupCache.clear();
    this.auth.forget();
  }

  /** A change feed listener: drops what the committed change made stale. */
  applyChange(change: Change): void {
    this.checkCache.invalidate(change);
    this.lookupCache.invalidate(change);
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

  /** This context for one call: a write it makes carries the call's call-log entry (see {@link write}). */
  forCall(call: WriteCall): ServiceContext {
    const scoped = Object.create(this) as ServiceContext; // everything else is shared: one property differs
    scoped.call = call;
    return scoped;
  }

  /**
   * Sends a command to the writer; once it is durable and its change was dispatched (read-your-writes), resolves to
   * `body(value)` with the write's `permio-revision`. Made for a call ({@link forCall}), the command carries the call's
   * log entry, which the writer commits with the write, or with its refusal.
   */
  async write<V>(cmd: CommandBody, body: (value: V) => unknown = (value) => value): Promise<Answer> {
    const stub = this.call?.stub();
    let committed;
    try {
      committed = await this.writer.write(stub === undefined ? cmd : { ...cmd, call: stub });
    } catch (err) {
      // a refusal (4xx) was applied and logged; a 5xx (writer restart, log unreachable) is logged by the transport
      if (stub !== undefined && err instanceof PermioError && err.status < 500) this.call!.committed();
      throw err;
    }
    if (stub !== undefined) this.call!.committed();
    const { value, revision } = committed;
    if (this.feed.applied < revision) await this.feed.reached(revision); // cluster mode: another path dispatches it
    return new Answer(body(value as V), this.tokens.headers(revision));
  }
}
