// Read-only queries for the main thread (lists, gets, key lookup). Never writes.
import type { Store } from './env.js';
import { CallLogColumns, type LogPage, type LogQuery } from './call-log-columns.js';
import { ProjectSnapshot } from './export-snapshot.js';
import { keyOf, META, partsOfExpiryKey, rangeOf, seqOfGrantOrderKey, uriOfGrantKey, userOfSubjectKey, type Key } from './keys.js';
import type {
  ApiKeyRecord,
  GrantRecord,
  InvitationRecord,
  OrgRecord,
  PermissionRecord,
  ProjectRecord,
  RoleRecord,
  UserRecord,
} from './records.js';

export class StoreReader {
  private readonly db: Store['dbs'];
  private readonly logColumns = new CallLogColumns();

  constructor(private readonly store: Store) {
    this.db = store.dbs;
  }

  /** Moves reads to the newest committed snapshot (called after the writer acknowledges). */
  refresh(): void {
    this.store.root.resetReadTxn();
  }

  /** The revision of the last applied command, as committed. */
  revision(): number {
    return (this.db.meta.get(META.revision) as number | undefined) ?? 0;
  }

  /** A consistent read snapshot of one project as export records (SPEC §9); close it when done. */
  projectSnapshot(projectId: string, now: number): ProjectSnapshot {
    return new ProjectSnapshot(this.store, projectId, now);
  }

  /** The store's id (revision tokens are tagged with it). */
  storeId(): string {
    return this.db.meta.get(META.storeId) as string;
  }

  org(id: string): OrgRecord | undefined {
    return this.db.orgs.get(keyOf.org(id));
  }

  orgs(): OrgRecord[] {
    return this.values(this.db.orgs.getRange());
  }

  users(orgId: string): UserRecord[] {
    return this.values<UserRecord>(this.db.users.getRange(rangeOf.organisation(orgId))).sort((a, b) => a.seq - b.seq);
  }

  project(orgId: string, name: string): ProjectRecord | undefined {
    return this.db.projects.get(keyOf.project(orgId, name));
  }

  projects(orgId: string): ProjectRecord[] {
    return this.values<ProjectRecord>(this.db.projects.getRange(rangeOf.organisation(orgId))).sort((a, b) => a.seq - b.seq);
  }

  apiKeys(orgId: string): ApiKeyRecord[] {
    return this.values(this.db.apikeys.getRange(rangeOf.organisation(orgId)));
  }

  apiKeyByHash(hash: string): ApiKeyRecord | undefined {
    const ref = this.db.keyHashes.get(keyOf.keyHash(hash)) as Key | undefined;
    return ref && this.db.apikeys.get(ref);
  }

  permission(projectId: string, id: string): PermissionRecord | undefined {
    return this.db.permissions.get(keyOf.permission(projectId, id));
  }

  permissions(projectId: string): PermissionRecord[] {
    return this.values(this.db.permissions.getRange(rangeOf.project(projectId)));
  }

  role(projectId: string, id: string): RoleRecord | undefined {
    return this.db.roles.get(keyOf.role(projectId, id));
  }

  roles(projectId: string): RoleRecord[] {
    return this.values(this.db.roles.getRange(rangeOf.project(projectId)));
  }

  grant(projectId: string, userId: string, uri: string): GrantRecord | undefined {
    return this.db.grants.get(keyOf.grant(projectId, userId, uri));
  }

  /** A user's grant entries in creation order: `[seq, uri]` pairs (records are fetched per page). */
  grantOrder(projectId: string, userId: string): [number, string][] {
    const out: [number, string][] = [];
    for (const { key, value } of this.db.grantOrder.getRange(rangeOf.principal(projectId, userId))) {
      out.push([seqOfGrantOrderKey(key as Key), value as string]);
    }
    return out;
  }

  /**
   * The URIs of `userId`'s entries in the project whose window ended by `nowMs` but which the sweep has not removed
   * yet (undefined: none; the common case costs one empty range read).
   */
  endedEntries(projectId: string, userId: string, nowMs: number): Set<string> | undefined {
    let out: Set<string> | undefined;
    for (const key of this.db.grantExpiry.getKeys(rangeOf.expiredBy(nowMs))) {
      const k = partsOfExpiryKey(key as Key);
      if (k.projectId === projectId && k.userId === userId) (out ??= new Set()).add(k.uri);
    }
    return out;
  }

  /** The earliest end of a windowed entry still indexed, in ms (Infinity: none). */
  nextExpiry(): number {
    for (const key of this.db.grantExpiry.getKeys({ limit: 1 })) return partsOfExpiryKey(key as Key).expiresMs;
    return Infinity;
  }

  /** The projects with an entry whose window ended by `nowMs` (what the expiry sweep must visit). */
  projectsWithEnded(nowMs: number): Set<string> {
    const out = new Set<string>();
    for (const key of this.db.grantExpiry.getKeys(rangeOf.expiredBy(nowMs))) out.add(partsOfExpiryKey(key as Key).projectId);
    return out;
  }

  /** `userId`'s grants at or under the normalized `prefix`, by URI in byte order (siblings like `/a-c` of `/a` included). */
  *principalGrantsUnder(projectId: string, userId: string, prefix: string): Iterable<[uri: string, grant: GrantRecord]> {
    for (const { key, value } of this.db.grants.getRange(rangeOf.principalUnder(projectId, userId, prefix))) {
      yield [uriOfGrantKey(key as Key), value as GrantRecord];
    }
  }

  /** The principals holding a grant entry on exactly the normalized `uri`. */
  *subjectsOn(projectId: string, uri: string): Iterable<string> {
    for (const key of this.db.grantSubjects.getKeys(rangeOf.subjectsOn(projectId, uri))) yield userOfSubjectKey(key as Key);
  }

  /** A permission's id by its current name. */
  permissionIdByName(projectId: string, name: string): string | undefined {
    return this.db.permNames.get(keyOf.permissionName(projectId, name)) as string | undefined;
  }

  /** One page of an organisation's API call log, newest first. */
  apiLogPage(orgId: string, query: LogQuery): LogPage {
    return this.logColumns.page(this.db, orgId, query);
  }

  /** An invitation by the hash of its token. */
  invitation(tokenHash: string): InvitationRecord | undefined {
    return this.db.invitations.get(keyOf.invitation(tokenHash));
  }

  private values<T>(range: Iterable<{ value: unknown }>): T[] {
    const out: T[] = [];
    for (const { value } of range) out.push(value as T);
    return out;
  }
}
