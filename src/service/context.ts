// What every operation needs: the store reader, the writer, the check pool, auth, and the caches writes invalidate.
import type { Config } from '../config.js';
import type { StoreReader } from '../store/read.js';
import type { ProjectRecord } from '../store/records.js';
import type { WriteCommand } from '../store/commands.js';
import type { CheckPool } from '../worker/pool.js';
import type { WriterClient } from '../worker/writer-client.js';
import type { Authenticator } from './auth.js';
import { CheckCache } from './check-cache.js';

export class ServiceContext {
  private readonly projectCache = new Map<string, ProjectRecord>();
  private readonly limitCache = new Map<string, number>();
  /** Recent check answers; a write bumps the versions it affects before it is answered. */
  readonly checkCache: CheckCache;

  constructor(
    readonly config: Config,
    readonly reader: StoreReader,
    readonly writer: WriterClient,
    readonly pool: CheckPool,
    readonly auth: Authenticator,
    private readonly limitOfOrg: (orgId: string) => number,
  ) {
    this.checkCache = new CheckCache(config.checkCacheChars);
  }

  /** Drops every cache (after the writer restarted: a write may have committed without its answer). */
  clearCaches(): void {
    this.projectCache.clear();
    this.limitCache.clear();
    this.checkCache.clear();
    this.auth.forget();
  }

  /** A project by organisation and name (cached; the cache is dropped on project writes). */
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

  /**
   * Sends a command to the writer; once durable, queues its change to the owning check worker and bumps the
   * check-cache versions it affects, in one step before the caller answers (read-your-writes), and drops the
   * caches the command may affect.
   */
  async write(cmd: WriteCommand): Promise<unknown> {
    const { value, change } = await this.writer.write(cmd);
    if (change) {
      this.pool.applyChange(change);
      this.checkCache.invalidate(change);
    }
    this.reader.refresh();
    switch (cmd.op) {
      case 'deleteProject': // its project keys are now invalid, and the name may come back as a new project
        this.projectCache.clear();
        this.auth.forget();
        break;
      case 'invalidateApiKey':
        this.auth.forget();
        break;
      case 'updateOrganisation':
        this.limitCache.delete(cmd.organisation_id);
        break;
    }
    return value;
  }
}
