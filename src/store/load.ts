// Reads a project from LMDB into a check worker's index, lazily: its permissions and roles when the project is
// first used, and one principal's grants when that principal is first checked (grant keys are [project, user, uri],
// so they are one contiguous range). A first check therefore costs one principal's grants, not the project's.
import type { Store } from './env.js';
import { rangeOf, uriOfGrantKey, type Key } from './keys.js';
import type { GrantRecord, PermissionRecord, RoleRecord } from './records.js';

/** What a load writes into: the engine's ProjectIndex satisfies it. */
export interface ProjectSink {
  putPermission(id: string, name: string): void;
  putRole(id: string, permissionIds: readonly string[]): void;
  grant(principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[], window?: { starts_at?: string; expires_at?: string }): void;
}

/** Streams the project's permissions and roles into `sink`. */
export function loadProjectSchema(store: Store, projectId: string, sink: ProjectSink): void {
  fresh(store, () => {
    const range = rangeOf.project(projectId);
    for (const { value } of store.dbs.permissions.getRange(range)) {
      const p = value as PermissionRecord;
      sink.putPermission(p.id, p.name);
    }
    for (const { value } of store.dbs.roles.getRange(range)) {
      const r = value as RoleRecord;
      sink.putRole(r.id, r.permissions);
    }
  });
}

/** Streams every grant of `principal` (exactly: not of ids it prefixes) in the project into `sink`. */
export function loadPrincipalGrants(store: Store, projectId: string, principal: string, sink: ProjectSink): void {
  fresh(store, () => {
    for (const { key, value } of store.dbs.grants.getRange(rangeOf.principal(projectId, principal))) {
      const g = value as GrantRecord;
      const uri = uriOfGrantKey(key as Key);
      if (g.w === undefined) {
        sink.grant(principal, uri, g.p, g.r);
        continue;
      }
      const w = g.w;
      sink.grant(principal, uri, g.p.filter((id) => w[id] === undefined), g.r.filter((id) => w[id] === undefined));
      for (const id in w) {
        const bounds = { ...(w[id]!.s === undefined ? {} : { starts_at: w[id]!.s }), ...(w[id]!.e === undefined ? {} : { expires_at: w[id]!.e }) };
        sink.grant(principal, uri, g.p.includes(id) ? [id] : [], g.r.includes(id) ? [id] : [], bounds);
      }
    }
  });
}

/**
 * Runs `read` on a fresh snapshot (never a stale read transaction: every write acknowledged so far is seen), and
 * releases the snapshot afterwards: a check worker waits in Atomics.wait, not on its event loop, so lmdb-js would
 * never reset the read transaction, and LMDB cannot reuse pages an open reader may see (the data file grew
 * ~20 KB per grant written after a project was loaded).
 */
function fresh<T>(store: Store, read: () => T): T {
  store.root.resetReadTxn();
  try {
    return read();
  } finally {
    store.root.resetReadTxn();
  }
}
