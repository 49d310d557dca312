// Applies permission and role commands. Names are unique per project (separate namespaces); a delete cascades into
// roles and grants and is one event (SPEC §7: the cascade is implied by it).
import type { Database } from 'lmdb';
import { Errors } from '../../errors.js';
import { permissionObject, roleObject } from '../change-feed.js';
import type { CommandOf as Cmd, ProjectRef } from '../commands.js';
import { keyOf, rangeOf, type Key } from '../keys.js';
import type { PermissionRecord, RoleRecord } from '../records.js';
import { rewriteGrants } from './grants.js';
import { requirePermission, requireProject, requireRole } from './lookups.js';
import type { WriteTxn } from './write-txn.js';

function emitPermission(tx: WriteTxn, pid: string, ref: ProjectRef, type: 'PERMISSION_CREATED' | 'PERMISSION_UPDATED' | 'PERMISSION_DELETED', rec: PermissionRecord): void {
  tx.emit(pid, { type, permission: permissionObject(rec, ref.organisation_id, ref.project_name) });
}

function emitRole(tx: WriteTxn, pid: string, ref: ProjectRef, type: 'ROLE_CREATED' | 'ROLE_UPDATED' | 'ROLE_DELETED', rec: RoleRecord): void {
  const lookup = (id: string) => tx.db.permissions.get(keyOf.permission(pid, id)) as PermissionRecord | undefined;
  tx.emit(pid, { type, role: roleObject(rec, ref.organisation_id, ref.project_name, lookup) });
}

/** Moves `rec`'s entry in its name index (permission or role names) to `name`; a name in use → 409. */
function rename(names: Database, nameKey: (pid: string, name: string) => Key, pid: string, what: string, rec: { id: string; name: string }, name: string): void {
  if (names.get(nameKey(pid, name))) throw Errors.conflict(what, name);
  names.removeSync(nameKey(pid, rec.name));
  names.putSync(nameKey(pid, name), rec.id);
  rec.name = name;
}

export function createPermission(tx: WriteTxn, cmd: Cmd<'createPermission'>): PermissionRecord {
  const pid = requireProject(tx, cmd);
  if (tx.db.permNames.get(keyOf.permissionName(pid, cmd.name))) throw Errors.conflict('permission', cmd.name);
  const rec: PermissionRecord = { id: tx.newId('perm'), name: cmd.name, description: cmd.description };
  tx.db.permissions.putSync(keyOf.permission(pid, rec.id), rec);
  tx.db.permNames.putSync(keyOf.permissionName(pid, rec.name), rec.id);
  emitPermission(tx, pid, cmd, 'PERMISSION_CREATED', rec);
  return rec;
}

export function updatePermission(tx: WriteTxn, cmd: Cmd<'updatePermission'>): PermissionRecord {
  const pid = requireProject(tx, cmd);
  const before = requirePermission(tx, pid, cmd.permission_id);
  const rec = { ...before };
  if (cmd.name !== undefined && cmd.name !== rec.name) rename(tx.db.permNames, keyOf.permissionName, pid, 'permission', rec, cmd.name);
  if (cmd.description !== undefined) rec.description = cmd.description;
  if (rec.name === before.name && rec.description === before.description) return rec;
  tx.db.permissions.putSync(keyOf.permission(pid, rec.id), rec);
  emitPermission(tx, pid, cmd, 'PERMISSION_UPDATED', rec);
  return rec;
}

export function deletePermission(tx: WriteTxn, cmd: Cmd<'deletePermission'>): object {
  const pid = requireProject(tx, cmd);
  const rec = requirePermission(tx, pid, cmd.permission_id);
  for (const { key, value } of [...tx.db.roles.getRange(rangeOf.project(pid))]) {
    const role = value as RoleRecord;
    if (role.permissions.includes(rec.id)) {
      tx.db.roles.putSync(key, { ...role, permissions: role.permissions.filter((p) => p !== rec.id) });
    }
  }
  rewriteGrants(tx, pid, (g) => (g.p.includes(rec.id) ? { ...g, p: g.p.filter((p) => p !== rec.id) } : g));
  tx.db.permissions.removeSync(keyOf.permission(pid, rec.id));
  tx.db.permNames.removeSync(keyOf.permissionName(pid, rec.name));
  emitPermission(tx, pid, cmd, 'PERMISSION_DELETED', rec);
  return {};
}

/** Unknown permission ids → 400 naming them; duplicates dropped, order kept. */
function requirePermissionIds(tx: WriteTxn, pid: string, ids: readonly string[]): string[] {
  const unique = [...new Set(ids)];
  const unknown = unique.filter((id) => !tx.db.permissions.doesExist(keyOf.permission(pid, id)));
  if (unknown.length) throw Errors.unknownPermissions(unknown);
  return unique;
}

export function createRole(tx: WriteTxn, cmd: Cmd<'createRole'>): RoleRecord {
  const pid = requireProject(tx, cmd);
  const permissions = requirePermissionIds(tx, pid, cmd.permissions);
  if (tx.db.roleNames.get(keyOf.roleName(pid, cmd.name))) throw Errors.conflict('role', cmd.name);
  const rec: RoleRecord = { id: tx.newId('role'), name: cmd.name, description: cmd.description, permissions };
  tx.db.roles.putSync(keyOf.role(pid, rec.id), rec);
  tx.db.roleNames.putSync(keyOf.roleName(pid, rec.name), rec.id);
  emitRole(tx, pid, cmd, 'ROLE_CREATED', rec);
  return rec;
}

export function updateRole(tx: WriteTxn, cmd: Cmd<'updateRole'>): RoleRecord {
  const pid = requireProject(tx, cmd);
  const permissions = cmd.permissions && requirePermissionIds(tx, pid, cmd.permissions);
  const before = requireRole(tx, pid, cmd.role_id);
  const rec = { ...before };
  if (cmd.name !== undefined && cmd.name !== rec.name) rename(tx.db.roleNames, keyOf.roleName, pid, 'role', rec, cmd.name);
  if (cmd.description !== undefined) rec.description = cmd.description;
  if (permissions) rec.permissions = permissions;
  const same =
    rec.name === before.name &&
    rec.description === before.description &&
    rec.permissions.length === before.permissions.length &&
    rec.permissions.every((id, i) => id === before.permissions[i]);
  if (same) return rec;
  tx.db.roles.putSync(keyOf.role(pid, rec.id), rec);
  emitRole(tx, pid, cmd, 'ROLE_UPDATED', rec);
  return rec;
}

export function deleteRole(tx: WriteTxn, cmd: Cmd<'deleteRole'>): object {
  const pid = requireProject(tx, cmd);
  const rec = requireRole(tx, pid, cmd.role_id);
  rewriteGrants(tx, pid, (g) => (g.r.includes(rec.id) ? { ...g, r: g.r.filter((r) => r !== rec.id) } : g));
  emitRole(tx, pid, cmd, 'ROLE_DELETED', rec);
  tx.db.roles.removeSync(keyOf.role(pid, rec.id));
  tx.db.roleNames.removeSync(keyOf.roleName(pid, rec.name));
  return {};
}
