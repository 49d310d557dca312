// Applies grant and revoke: references resolved by id or name, one entry per (user, URI), events for what changed.
import type { Database } from 'lmdb';
import { Errors } from '../../errors.js';
import type { CommandOf as Cmd } from '../commands.js';
import { keyOf, rangeOf, uriOfGrantKey, userOfGrantKey, type Key } from '../keys.js';
import type { GrantRecord } from '../records.js';
import { requireProject } from './lookups.js';
import type { WriteTxn } from './write-txn.js';

/** Resolves id-or-name references; returns ids (deduplicated, in order) and the references that matched nothing. */
function resolve(
  projectId: string,
  refs: readonly string[],
  byId: Database,
  idKey: (projectId: string, id: string) => Key,
  byName: Database,
  nameKey: (projectId: string, name: string) => Key,
): [string[], string[]] {
  const ids: string[] = [];
  const unknown: string[] = [];
  for (const ref of refs) {
    const id = byId.doesExist(idKey(projectId, ref)) ? ref : (byName.get(nameKey(projectId, ref)) as string | undefined); // no record decode
    if (id === undefined) unknown.push(ref);
    else if (!ids.includes(id)) ids.push(id);
  }
  return [ids, unknown];
}

/** The permission and role ids of a grant or revoke; unknown references → 400 naming them, nothing applied. */
function resolveRefs(tx: WriteTxn, pid: string, cmd: Cmd<'grant' | 'revoke'>): [string[], string[]] {
  const { permissions, permNames, roles, roleNames } = tx.db;
  const [permIds, unknownPerms] = resolve(pid, cmd.permissions, permissions, keyOf.permission, permNames, keyOf.permissionName);
  const [roleIds, unknownRoles] = resolve(pid, cmd.roles, roles, keyOf.role, roleNames, keyOf.roleName);
  if (unknownPerms.length && unknownRoles.length) {
    throw Errors.badRequest(
      `Invalid request: unknown permissions: ${unknownPerms.join(', ')}; unknown roles: ${unknownRoles.join(', ')}`,
      [{ unknown_permissions: unknownPerms }, { unknown_roles: unknownRoles }],
    );
  }
  if (unknownPerms.length) throw Errors.unknownPermissions(unknownPerms);
  if (unknownRoles.length) throw Errors.unknownRoles(unknownRoles);
  return [permIds, roleIds];
}

/** Adds the entries; a GRANT event lists those not held before (none: no event, nothing written). */
export function grant(tx: WriteTxn, cmd: Cmd<'grant'>): object {
  const pid = requireProject(tx, cmd);
  const [permIds, roleIds] = resolveRefs(tx, pid, cmd);
  const key = keyOf.grant(pid, cmd.user_id, cmd.resource_uri);
  const existing = tx.db.grants.get(key) as GrantRecord | undefined;
  const addedPerms = existing ? permIds.filter((id) => !existing.p.includes(id)) : permIds;
  const addedRoles = existing ? roleIds.filter((id) => !existing.r.includes(id)) : roleIds;
  if (addedPerms.length === 0 && addedRoles.length === 0) return {};
  if (existing) {
    tx.db.grants.putSync(key, { seq: existing.seq, p: [...existing.p, ...addedPerms], r: [...existing.r, ...addedRoles] });
  } else {
    const seq = tx.nextSeq();
    tx.db.grantOrder.putSync(keyOf.grantOrder(pid, cmd.user_id, seq), cmd.resource_uri);
    tx.db.grants.putSync(key, { seq, p: permIds, r: roleIds });
  }
  tx.emit(pid, { type: 'GRANT', user_id: cmd.user_id, resource_uri: cmd.resource_uri, permissions: addedPerms, roles: addedRoles });
  return {};
}

/** Removes the entries; a REVOKE event lists those that were held (none: no event, nothing written). */
export function revoke(tx: WriteTxn, cmd: Cmd<'revoke'>): object {
  const pid = requireProject(tx, cmd);
  const [permIds, roleIds] = resolveRefs(tx, pid, cmd);
  const key = keyOf.grant(pid, cmd.user_id, cmd.resource_uri);
  const existing = tx.db.grants.get(key) as GrantRecord | undefined;
  if (!existing) return {};
  const removedPerms = permIds.filter((id) => existing.p.includes(id));
  const removedRoles = roleIds.filter((id) => existing.r.includes(id));
  if (removedPerms.length === 0 && removedRoles.length === 0) return {};
  const p = existing.p.filter((id) => !removedPerms.includes(id));
  const r = existing.r.filter((id) => !removedRoles.includes(id));
  putOrDropGrant(tx, pid, cmd.user_id, cmd.resource_uri, { seq: existing.seq, p, r });
  tx.emit(pid, { type: 'REVOKE', user_id: cmd.user_id, resource_uri: cmd.resource_uri, permissions: removedPerms, roles: removedRoles });
  return {};
}

/** Stores a grant entry, or removes it (and its order entry) once it holds nothing. */
function putOrDropGrant(tx: WriteTxn, projectId: string, userId: string, uri: string, rec: GrantRecord): void {
  const key = keyOf.grant(projectId, userId, uri);
  if (rec.p.length || rec.r.length) {
    tx.db.grants.putSync(key, rec);
  } else {
    tx.db.grants.removeSync(key);
    tx.db.grantOrder.removeSync(keyOf.grantOrder(projectId, userId, rec.seq));
  }
}

/** Applies `edit` to every grant entry of a project (cascades of permission and role deletes). */
export function rewriteGrants(tx: WriteTxn, projectId: string, edit: (g: GrantRecord) => GrantRecord): void {
  const entries = [...tx.db.grants.getRange(rangeOf.project(projectId))]; // collect first: no writes under a live cursor
  for (const { key, value } of entries) {
    const next = edit(value as GrantRecord);
    if (next !== value) putOrDropGrant(tx, projectId, userOfGrantKey(key as Key), uriOfGrantKey(key as Key), next);
  }
}
