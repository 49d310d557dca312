// Read-only queries for the main thread (lists, gets, key lookup). Never writes.
import type { Store } from './env.js';
import { prefixRange } from './keys.js';
import type {
  ApiKeyRecord,
  ApiLogRecord,
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

  constructor(private readonly store: Store) {
    this.db = store.dbs;
  }

  /** Moves reads to the newest committed snapshot (called after the writer acknowledges). */
  refresh(): void {
    this.store.root.resetReadTxn();
  }

  org(id: string): OrgRecord | undefined {
    return this.db.orgs.get([id]);
  }

  orgs(): OrgRecord[] {
    return this.values(this.db.orgs.getRange());
  }

  users(orgId: string): UserRecord[] {
    return this.values<UserRecord>(this.db.users.getRange(prefixRange([orgId]))).sort((a, b) => a.seq - b.seq);
  }

  project(orgId: string, name: string): ProjectRecord | undefined {
    return this.db.projects.get([orgId, name]);
  }

  projects(orgId: string): ProjectRecord[] {
    return this.values<ProjectRecord>(this.db.projects.getRange(prefixRange([orgId]))).sort((a, b) => a.seq - b.seq);
  }

  apiKeys(orgId: string): ApiKeyRecord[] {
    return this.values(this.db.apikeys.getRange(prefixRange([orgId])));
  }

  apiKeyByHash(hash: string): ApiKeyRecord | undefined {
    const ref = this.db.keyHashes.get([hash]) as [string, string] | undefined;
    return ref && this.db.apikeys.get(ref);
  }

  permission(projectId: string, id: string): PermissionRecord | undefined {
    return this.db.permissions.get([projectId, id]);
  }

  permissions(projectId: string): PermissionRecord[] {
    return this.values(this.db.permissions.getRange(prefixRange([projectId])));
  }

  role(projectId: string, id: string): RoleRecord | undefined {
    return this.db.roles.get([projectId, id]);
  }

  roles(projectId: string): RoleRecord[] {
    return this.values(this.db.roles.getRange(prefixRange([projectId])));
  }

  grant(projectId: string, userId: string, uri: string): GrantRecord | undefined {
    return this.db.grants.get([projectId, userId, uri]);
  }

  /** A user's grant entries in creation order: `[seq, uri]` pairs (records are fetched per page). */
  grantOrder(projectId: string, userId: string): [number, string][] {
    const out: [number, string][] = [];
    for (const { key, value } of this.db.grantOrder.getRange(prefixRange([projectId, userId]))) {
      out.push([key[2] as number, value as string]);
    }
    return out;
  }

  /** An organisation's API call log, oldest first. */
  apiLogs(orgId: string): ApiLogRecord[] {
    return this.values(this.db.apiLogs.getRange(prefixRange([orgId])));
  }

  invitation(token: string): InvitationRecord | undefined {
    return this.db.invitations.get([token]);
  }

  private values<T>(range: Iterable<{ value: unknown }>): T[] {
    const out: T[] = [];
    for (const { value } of range) out.push(value as T);
    return out;
  }
}
