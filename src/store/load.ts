// Reads one project's permissions, roles and grants from LMDB into an index (a check worker's cold load).
import type { Store } from './env.js';
import { prefixRange } from './keys.js';
import type { GrantRecord, PermissionRecord, RoleRecord } from './records.js';

/** What a project load writes into: the engine's ProjectIndex satisfies it. */
export interface ProjectSink {
  putPermission(id: string, name: string): void;
  putRole(id: string, permissionIds: readonly string[]): void;
  grant(principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[]): void;
}

/**
 * Streams a project's current state into `sink`, from a fresh snapshot (never a stale read transaction),
 * and releases the snapshot afterwards: a check worker waits in Atomics.wait, not on its event loop, so
 * lmdb-js would never reset the read transaction, and LMDB cannot reuse pages an open reader may see
 * (the data file grew ~20 KB per grant written after a project was loaded).
 */
export function loadProject(store: Store, projectId: string, sink: ProjectSink): void {
  store.root.resetReadTxn();
  try {
    readInto(store, projectId, sink);
  } finally {
    store.root.resetReadTxn();
  }
}

function readInto(store: Store, projectId: string, sink: ProjectSink): void {
  const range = prefixRange([projectId]);
  for (const { value } of store.dbs.permissions.getRange(range)) {
    const p = value as PermissionRecord;
    sink.putPermission(p.id, p.name);
  }
  for (const { value } of store.dbs.roles.getRange(range)) {
    const r = value as RoleRecord;
    sink.putRole(r.id, r.permissions);
  }
  for (const { key, value } of store.dbs.grants.getRange(range)) {
    const g = value as GrantRecord;
    sink.grant(key[1] as string, key[2] as string, g.p, g.r);
  }
}
