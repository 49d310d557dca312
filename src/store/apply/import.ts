// Applies an import (SPEC §9) in three kinds of commands, so a file of any size travels the write log in bounded
// messages and still lands all or nothing: `importStage` stores validated lines under the import's id (no effect on
// the project), `importCommit` turns every staged line into the project's state in one transaction, and
// `importDiscard` drops staged lines a bounded batch at a time. Each is an ordinary logged command: every node
// stages and commits the same lines at the same position, so replicas stay identical.
import { Errors } from '../../errors.js';
import { permissionObject, roleObject, type WatchEvent } from '../change-feed.js';
import type { CommandOf as Cmd, ImportMode, ProjectRef } from '../commands.js';
import { entryWindow, windowKey, withEntryWindows, type EntryWindow } from '../grant-windows.js';
import { keyOf, partsOfStagedGrantKey, rangeOf, uriOfGrantKey, userOfGrantKey, type Key } from '../keys.js';
import type { GrantRecord, ImportJobRecord, PermissionRecord, RoleRecord, StagedGrantLine, StagedSchemaLine } from '../records.js';
import { requireProject } from './lookups.js';
import type { WriteTxn } from './write-txn.js';

/** Staged lines of an import nobody touched for this long are dropped (its node died before committing). */
export const STALE_IMPORT_MS = 60 * 60 * 1000;
/** Stale staged lines removed per command, so no command is held up long by another import's leftovers. */
const PURGE_BATCH = 10_000;

/** Stores a chunk of validated lines under the import's id; the project is untouched until the commit. */
export function importStage(tx: WriteTxn, cmd: Cmd<'importStage'>): object {
  const pid = requireProject(tx, cmd);
  const { importJobs, importStaging } = tx.db;
  const job = importJobs.get(keyOf.importJob(cmd.import_id)) as ImportJobRecord | undefined;
  if (job !== undefined && job.project_id !== pid) throw Errors.conflict('import', cmd.import_id);
  importJobs.putSync(keyOf.importJob(cmd.import_id), { project_id: pid, touched: tx.now } satisfies ImportJobRecord);
  for (const l of cmd.lines) {
    if (l.type === 'grant') {
      const value: StagedGrantLine = { p: l.permissions, r: l.roles };
      if (l.starts_at !== undefined) value.starts_at = l.starts_at;
      if (l.expires_at !== undefined) value.expires_at = l.expires_at;
      importStaging.putSync(keyOf.stagedGrant(cmd.import_id, l.user_id, l.resource_uri, l.line), value);
    } else {
      const value: StagedSchemaLine = { type: l.type, name: l.name };
      if (l.description !== undefined) value.description = l.description;
      if (l.type === 'role') value.permissions = l.permissions;
      importStaging.putSync(keyOf.stagedSchema(cmd.import_id, l.line), value);
    }
  }
  purgeStale(tx, cmd.import_id);
  return {};
}

/** Removes up to `limit` staged lines of the import (and the import once none is left): `{done}` says whether it is gone. */
export function importDiscard(tx: WriteTxn, cmd: Cmd<'importDiscard'>): { done: boolean } {
  return { done: discard(tx, cmd.import_id, cmd.limit) };
}

function discard(tx: WriteTxn, importId: string, limit: number): boolean {
  const keys = [...tx.db.importStaging.getKeys({ ...rangeOf.staged(importId), limit })]; // collect first: no writes under a live cursor
  for (const key of keys) tx.db.importStaging.removeSync(key);
  if (keys.length === limit) return false;
  tx.db.importJobs.removeSync(keyOf.importJob(importId));
  return true;
}

/** Drops a batch of another import's lines when it has not been touched for STALE_IMPORT_MS (by command time: the same on every node). */
function purgeStale(tx: WriteTxn, except: string): void {
  for (const { key, value } of tx.db.importJobs.getRange()) {
    const id = (key as Key)[0] as string;
    if (id === except || (value as ImportJobRecord).touched > tx.now - STALE_IMPORT_MS) continue;
    discard(tx, id, PURGE_BATCH);
    return; // one batch per command
  }
}

/** A line of the file that does not fit the project: 400 naming the line and why; nothing is applied. */
function badLine(line: number, reason: string): Error {
  return Errors.badRequest(`Invalid import: line ${line}: ${reason}`, [{ line, reason }]);
}

/** The file's permissions and roles by name, in line order. */
interface Schema {
  permissions: Map<string, { description?: string; line: number }>;
  roles: Map<string, { description?: string; permissions: string[]; line: number }>;
}

function readSchema(tx: WriteTxn, importId: string): Schema {
  const schema: Schema = { permissions: new Map(), roles: new Map() };
  for (const { key, value } of tx.db.importStaging.getRange(rangeOf.stagedSchema(importId))) {
    const line = (key as Key)[2] as number;
    const s = value as StagedSchemaLine;
    if (s.type === 'permission') schema.permissions.set(s.name, { description: s.description, line });
    else schema.roles.set(s.name, { description: s.description, permissions: s.permissions ?? [], line });
  }
  return schema;
}

/** The project's current records: creation order, and by name. */
function current<R extends { name: string }>(tx: WriteTxn, db: 'permissions' | 'roles', pid: string): Map<string, R> {
  const byName = new Map<string, R>();
  for (const { value } of tx.db[db].getRange(rangeOf.project(pid))) byName.set((value as R).name, value as R);
  return byName;
}

/**
 * Every name the file uses must be a permission or role of the file — or, when merging, of the project. Checked for
 * every line before anything is written, so a bad line deep in the file leaves the project as it was.
 */
function checkNames(tx: WriteTxn, importId: string, mode: ImportMode, schema: Schema, perms: Map<string, unknown>, roles: Map<string, unknown>): void {
  const knownPerm = (n: string) => schema.permissions.has(n) || (mode === 'merge' && perms.has(n));
  const knownRole = (n: string) => schema.roles.has(n) || (mode === 'merge' && roles.has(n));
  for (const [, role] of schema.roles) {
    for (const n of role.permissions) if (!knownPerm(n)) throw badLine(role.line, `unknown permission '${n}'`);
  }
  for (const { key, value } of tx.db.importStaging.getRange(rangeOf.stagedGrants(importId))) {
    const g = value as StagedGrantLine;
    for (const n of g.p) if (!knownPerm(n)) throw badLine(partsOfStagedGrantKey(key as Key)[2], `unknown permission '${n}'`);
    for (const n of g.r) if (!knownRole(n)) throw badLine(partsOfStagedGrantKey(key as Key)[2], `unknown role '${n}'`);
  }
}

/** Makes the staged file the project's state (merge: added to it; replace: exactly it) in this one transaction. */
export function importCommit(tx: WriteTxn, cmd: Cmd<'importCommit'>): object {
  const pid = requireProject(tx, cmd);
  const job = tx.db.importJobs.get(keyOf.importJob(cmd.import_id)) as ImportJobRecord | undefined;
  if (job !== undefined && job.project_id !== pid) throw Errors.conflict('import', cmd.import_id);
  const schema = readSchema(tx, cmd.import_id);
  const perms = current<PermissionRecord>(tx, 'permissions', pid);
  const roles = current<RoleRecord>(tx, 'roles', pid);
  checkNames(tx, cmd.import_id, cmd.mode, schema, perms, roles);

  const permIds = applyPermissions(tx, pid, cmd, schema, perms);
  const roleIds = applyRoles(tx, pid, cmd, schema, roles, permIds);
  const dropped = new Set<string>(); // ids whose delete event implies their grants went too (SPEC §7 cascade)
  for (const [name, rec] of perms) if (!permIds.has(name)) dropped.add(rec.id);
  for (const [name, rec] of roles) if (!roleIds.has(name)) dropped.add(rec.id);
  if (cmd.mode === 'replace') sweepGrants(tx, pid, cmd.import_id, dropped);
  applyGrants(tx, pid, cmd.import_id, cmd.mode, permIds, roleIds, dropped);
  return {};
}

const emitPermission = (tx: WriteTxn, pid: string, ref: ProjectRef, type: 'PERMISSION_CREATED' | 'PERMISSION_UPDATED' | 'PERMISSION_DELETED', rec: PermissionRecord) =>
  tx.emit(pid, { type, permission: permissionObject(rec, ref.organisation_id, ref.project_name) });

/** Creates, updates and (replace) deletes permissions; returns the id of every name grants and roles may now use. */
function applyPermissions(tx: WriteTxn, pid: string, cmd: Cmd<'importCommit'>, schema: Schema, perms: Map<string, PermissionRecord>): Map<string, string> {
  const ids = new Map<string, string>();
  if (cmd.mode === 'merge') for (const [name, rec] of perms) ids.set(name, rec.id);
  else {
    for (const [name, rec] of perms) {
      if (schema.permissions.has(name)) continue;
      for (const { key, value } of [...tx.db.roles.getRange(rangeOf.project(pid))]) {
        const role = value as RoleRecord;
        if (role.permissions.includes(rec.id)) tx.db.roles.putSync(key, { ...role, permissions: role.permissions.filter((p) => p !== rec.id) });
      }
      tx.db.permissions.removeSync(keyOf.permission(pid, rec.id));
      tx.db.permNames.removeSync(keyOf.permissionName(pid, name));
      emitPermission(tx, pid, cmd, 'PERMISSION_DELETED', rec);
    }
  }
  for (const [name, line] of schema.permissions) {
    const before = perms.get(name);
    const description = line.description ?? (cmd.mode === 'merge' ? before?.description : undefined) ?? '';
    if (before === undefined) {
      const rec: PermissionRecord = { id: tx.newId('perm'), name, description };
      tx.db.permissions.putSync(keyOf.permission(pid, rec.id), rec);
      tx.db.permNames.putSync(keyOf.permissionName(pid, name), rec.id);
      emitPermission(tx, pid, cmd, 'PERMISSION_CREATED', rec);
      ids.set(name, rec.id);
      continue;
    }
    ids.set(name, before.id);
    if (before.description === description) continue;
    const rec = { ...before, description };
    tx.db.permissions.putSync(keyOf.permission(pid, rec.id), rec);
    emitPermission(tx, pid, cmd, 'PERMISSION_UPDATED', rec);
  }
  return ids;
}

/** Creates, updates and (replace) deletes roles; a merged role keeps its permissions and gains the file's. */
function applyRoles(
  tx: WriteTxn,
  pid: string,
  cmd: Cmd<'importCommit'>,
  schema: Schema,
  roles: Map<string, RoleRecord>,
  permIds: Map<string, string>,
): Map<string, string> {
  const lookup = (id: string) => tx.db.permissions.get(keyOf.permission(pid, id)) as PermissionRecord | undefined;
  const emit = (type: 'ROLE_CREATED' | 'ROLE_UPDATED' | 'ROLE_DELETED', rec: RoleRecord) =>
    tx.emit(pid, { type, role: roleObject(rec, cmd.organisation_id, cmd.project_name, lookup) });
  const ids = new Map<string, string>();
  if (cmd.mode === 'merge') for (const [name, rec] of roles) ids.set(name, rec.id);
  else {
    for (const [name, rec] of roles) {
      if (schema.roles.has(name)) continue;
      emit('ROLE_DELETED', tx.db.roles.get(keyOf.role(pid, rec.id)) as RoleRecord); // as now stored: without deleted permissions
      tx.db.roles.removeSync(keyOf.role(pid, rec.id));
      tx.db.roleNames.removeSync(keyOf.roleName(pid, name));
    }
  }
  for (const [name, line] of schema.roles) {
    const before = roles.get(name) && (tx.db.roles.get(keyOf.role(pid, roles.get(name)!.id)) as RoleRecord);
    const fromFile = [...new Set(line.permissions.map((n) => permIds.get(n)!))];
    const description = line.description ?? (cmd.mode === 'merge' ? before?.description : undefined) ?? '';
    if (!before) {
      const rec: RoleRecord = { id: tx.newId('role'), name, description, permissions: fromFile };
      tx.db.roles.putSync(keyOf.role(pid, rec.id), rec);
      tx.db.roleNames.putSync(keyOf.roleName(pid, name), rec.id);
      emit('ROLE_CREATED', rec);
      ids.set(name, rec.id);
      continue;
    }
    ids.set(name, before.id);
    const permissions = cmd.mode === 'merge' ? [...before.permissions, ...fromFile.filter((id) => !before.permissions.includes(id))] : fromFile;
    const same = before.description === description && permissions.length === before.permissions.length && permissions.every((id, i) => id === before.permissions[i]);
    if (same) continue;
    const rec = { ...before, description, permissions };
    tx.db.roles.putSync(keyOf.role(pid, rec.id), rec);
    emit('ROLE_UPDATED', rec);
  }
  return ids;
}

/** Replace: every grant entry of the project the file does not name goes (a REVOKE for what no delete event implies). */
function sweepGrants(tx: WriteTxn, pid: string, importId: string, dropped: ReadonlySet<string>): void {
  const gone: { key: Key; rec: GrantRecord }[] = [];
  for (const { key, value } of tx.db.grants.getRange(rangeOf.project(pid))) {
    const k = key as Key;
    let named = false;
    for (const _ of tx.db.importStaging.getKeys({ ...rangeOf.stagedGrantsOf(importId, userOfGrantKey(k), uriOfGrantKey(k)), limit: 1 })) named = true;
    if (!named) gone.push({ key: k, rec: value as GrantRecord }); // collect first: no writes under a live cursor
  }
  for (const { key, rec } of gone) {
    const userId = userOfGrantKey(key);
    const uri = uriOfGrantKey(key);
    tx.db.grants.removeSync(key);
    tx.db.grantOrder.removeSync(keyOf.grantOrder(pid, userId, rec.seq));
    emitGrantChange(tx, pid, 'REVOKE', userId, uri, rec.p.filter((id) => !dropped.has(id)), rec.r.filter((id) => !dropped.has(id)), () => ({}));
  }
}

/**
 * The file's grant lines, staged sorted by (principal, URI), one entry at a time: merge adds the file's entries
 * to what the entry holds, replace makes the entry exactly the file's. An entry named again takes the file's window.
 */
function applyGrants(
  tx: WriteTxn,
  pid: string,
  importId: string,
  mode: ImportMode,
  permIds: ReadonlyMap<string, string>,
  roleIds: ReadonlyMap<string, string>,
  dropped: ReadonlySet<string>,
): void {
  let userId = '';
  let uri = '';
  let p: string[] = [];
  let r: string[] = [];
  let windows = new Map<string, EntryWindow>();
  const flush = () => {
    if (p.length > 0 || r.length > 0) applyEntry(tx, pid, mode, userId, uri, p, r, windows, dropped);
  };
  for (const { key, value } of tx.db.importStaging.getRange(rangeOf.stagedGrants(importId))) {
    const [u, resource] = partsOfStagedGrantKey(key as Key);
    if (u !== userId || resource !== uri) {
      flush();
      userId = u;
      uri = resource;
      p = [];
      r = [];
      windows = new Map();
    }
    const g = value as StagedGrantLine;
    const window: EntryWindow = {};
    if (g.starts_at !== undefined) window.starts_at = g.starts_at;
    if (g.expires_at !== undefined) window.expires_at = g.expires_at;
    for (const n of g.p) {
      const id = permIds.get(n)!;
      if (!p.includes(id)) p.push(id);
      windows.set(id, window); // a later line of the same entry wins, as a later grant would
    }
    for (const n of g.r) {
      const id = roleIds.get(n)!;
      if (!r.includes(id)) r.push(id);
      windows.set(id, window);
    }
  }
  flush();
}

/** One (principal, URI) entry made what the file says; GRANT for what it gains (one per window), REVOKE for what it loses. */
function applyEntry(
  tx: WriteTxn,
  pid: string,
  mode: ImportMode,
  userId: string,
  uri: string,
  p: string[],
  r: string[],
  windows: ReadonlyMap<string, EntryWindow>,
  dropped: ReadonlySet<string>,
): void {
  const key = keyOf.grant(pid, userId, uri);
  const before = tx.db.grants.get(key) as GrantRecord | undefined;
  const union = (held: string[], added: string[]) => [...held, ...added.filter((id) => !held.includes(id))];
  const nextP = before === undefined || mode === 'replace' ? p : union(before.p, p);
  const nextR = before === undefined || mode === 'replace' ? r : union(before.r, r);
  let seq: number;
  if (before) seq = before.seq;
  else {
    seq = tx.nextSeq();
    tx.db.grantOrder.putSync(keyOf.grantOrder(pid, userId, seq), uri);
  }
  const rec = withEntryWindows({ seq, p: nextP, r: nextR }, windows, before);
  tx.db.grants.putSync(key, rec);
  const changed = (id: string) => before === undefined || windowKey(entryWindow(before, id)) !== windowKey(entryWindow(rec, id)) || !(before.p.includes(id) || before.r.includes(id));
  emitGrantChange(tx, pid, 'GRANT', userId, uri, nextP.filter(changed), nextR.filter(changed), (id) => entryWindow(rec, id));
  if (before) {
    const lostP = before.p.filter((id) => !nextP.includes(id) && !dropped.has(id));
    const lostR = before.r.filter((id) => !nextR.includes(id) && !dropped.has(id));
    emitGrantChange(tx, pid, 'REVOKE', userId, uri, lostP, lostR, () => ({}));
  }
}

/** GRANT/REVOKE events for `p` and `r`: one per distinct window (SPEC §7: a windowed grant carries its times); none when both are empty. */
function emitGrantChange(
  tx: WriteTxn,
  pid: string,
  type: 'GRANT' | 'REVOKE',
  userId: string,
  uri: string,
  p: readonly string[],
  r: readonly string[],
  windowOf: (id: string) => EntryWindow,
): void {
  if (p.length === 0 && r.length === 0) return;
  const groups = new Map<string, { window: EntryWindow; p: string[]; r: string[] }>();
  const add = (id: string, list: 'p' | 'r') => {
    const window = windowOf(id);
    const k = windowKey(window);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { window, p: [], r: [] }));
    g[list].push(id);
  };
  for (const id of p) add(id, 'p');
  for (const id of r) add(id, 'r');
  for (const g of groups.values()) {
    const event: WatchEvent = { type, user_id: userId, resource_uri: uri, permissions: g.p, roles: g.r, ...g.window };
    tx.emit(pid, event);
  }
}
