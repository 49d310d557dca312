// Applies an import (SPEC §9) in three kinds of commands, so a file of any size travels the write log in bounded
// messages and still lands all or nothing: `importStage` stores validated lines under the import's id (no effect on
// the project), `importCommit` turns every staged line into the project's state in one transaction (and drops them),
// and `importDiscard` drops the chunks of an import given up, a bounded batch at a time. Each is an ordinary logged command: every node
// stages and commits the same lines at the same position, so replicas stay identical.
import { Errors } from '../../errors.js';
import { permissionObject, roleObject, type WatchEvent } from '../change-feed.js';
import type { CommandOf as Cmd, ImportLine, ProjectRef } from '../commands.js';
import { entryWindow, hasWindows, windowKey, withEntryWindows, type EntryWindow } from '../grant-windows.js';
import { keyOf, rangeOf, uriOfGrantKey, userOfGrantKey, type Key } from '../keys.js';
import type { GrantRecord, ImportJobRecord, PermissionRecord, RoleRecord } from '../records.js';
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
  importStaging.putSync(keyOf.stagedChunk(cmd.import_id, cmd.chunk), cmd.lines); // one put per chunk: staging costs little beside the commit
  purgeStale(tx, cmd.import_id);
  return {};
}

/** Removes up to `limit` staged chunks of the import (and the import once none is left): `{done}` says whether it is gone. */
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

/** Drops a batch of another import's chunks when it has not been touched for STALE_IMPORT_MS (by command time: the same on every node). */
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

type GrantLine = Extract<ImportLine, { type: 'grant' }>;

/** The staged lines of an import, chunk by chunk in file order (one chunk decoded at a time). */
function* stagedLines(tx: WriteTxn, importId: string): Generator<ImportLine> {
  for (const { value } of tx.db.importStaging.getRange(rangeOf.staged(importId))) yield* value as ImportLine[];
}

/** The file's permissions and roles by name, in line order. */
interface Schema {
  permissions: Map<string, { description?: string; line: number }>;
  roles: Map<string, { description?: string; permissions: string[]; line: number }>;
}

/**
 * The file's schema, and the first line that names a permission or role neither the file defines nor (merge) the
 * project holds — checked for every line before anything is written, so a bad line deep in the file leaves the
 * project as it was.
 */
function readSchema(tx: WriteTxn, cmd: Cmd<'importCommit'>, perms: Map<string, unknown>, roles: Map<string, unknown>): Schema {
  const schema: Schema = { permissions: new Map(), roles: new Map() };
  const firstUse = { permission: new Map<string, number>(), role: new Map<string, number>() }; // distinct names: small
  const use = (kind: 'permission' | 'role', name: string, line: number) => firstUse[kind].has(name) || firstUse[kind].set(name, line);
  for (const l of stagedLines(tx, cmd.import_id)) {
    if (l.type === 'permission') schema.permissions.set(l.name, { description: l.description, line: l.line });
    else if (l.type === 'role') {
      schema.roles.set(l.name, { description: l.description, permissions: l.permissions, line: l.line });
      for (const n of l.permissions) use('permission', n, l.line);
    } else {
      for (const n of l.permissions) use('permission', n, l.line);
      for (const n of l.roles) use('role', n, l.line);
    }
  }
  let bad: { line: number; reason: string } | undefined;
  const check = (kind: 'permission' | 'role', defined: Map<string, unknown>, held: Map<string, unknown>) => {
    for (const [name, line] of firstUse[kind]) {
      if (defined.has(name) || (cmd.mode === 'merge' && held.has(name))) continue;
      if (bad === undefined || line < bad.line) bad = { line, reason: `unknown ${kind} '${name}'` };
    }
  };
  check('permission', schema.permissions, perms);
  check('role', schema.roles, roles);
  if (bad !== undefined) throw badLine(bad.line, bad.reason);
  return schema;
}

/** The project's current records by name. */
function current<R extends { name: string }>(tx: WriteTxn, db: 'permissions' | 'roles', pid: string): Map<string, R> {
  const byName = new Map<string, R>();
  for (const { value } of tx.db[db].getRange(rangeOf.project(pid))) byName.set((value as R).name, value as R);
  return byName;
}

/** Makes the staged file the project's state (merge: added to it; replace: exactly it) in this one transaction. */
export function importCommit(tx: WriteTxn, cmd: Cmd<'importCommit'>): object {
  const pid = requireProject(tx, cmd);
  const job = tx.db.importJobs.get(keyOf.importJob(cmd.import_id)) as ImportJobRecord | undefined;
  if (job !== undefined && job.project_id !== pid) throw Errors.conflict('import', cmd.import_id);
  const perms = current<PermissionRecord>(tx, 'permissions', pid);
  const roles = current<RoleRecord>(tx, 'roles', pid);
  const schema = readSchema(tx, cmd, perms, roles);

  // replace: what every entry held before, so the entries the file rewrites start empty and the rest are swept
  const before = cmd.mode === 'replace' ? grantsBefore(tx, pid) : undefined;
  const permIds = applyPermissions(tx, pid, cmd, schema, perms);
  const roleIds = applyRoles(tx, pid, cmd, schema, roles, permIds);
  const dropped = new Set<string>(); // ids whose delete event implies their grants went too (SPEC §7 cascade)
  for (const [name, rec] of perms) if (!permIds.has(name)) dropped.add(rec.id);
  for (const [name, rec] of roles) if (!roleIds.has(name)) dropped.add(rec.id);
  const touched = new Set<string>();
  const fresh = new FreshEntries(tx, pid, before);
  for (const l of stagedLines(tx, cmd.import_id)) {
    if (l.type === 'grant') applyGrantLine(tx, pid, l, permIds, roleIds, before, touched, fresh);
  }
  if (before !== undefined) settleReplaced(tx, pid, before, touched, dropped);
  discard(tx, cmd.import_id, Number.MAX_SAFE_INTEGER); // a chunk is one key: even a 1 M-line file is ~150 removals
  return {};
}

/** Every grant entry of the project as it was, by `user \0 uri` (replace only: its size is the project's, not the file's). */
function grantsBefore(tx: WriteTxn, pid: string): Map<string, GrantRecord> {
  const out = new Map<string, GrantRecord>();
  for (const { key, value } of tx.db.grants.getRange(rangeOf.project(pid))) {
    out.set(`${userOfGrantKey(key as Key)}\u0000${uriOfGrantKey(key as Key)}`, value as GrantRecord);
  }
  return out;
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

/**
 * One grant line: its permissions and roles join the entry (a replaced entry's first line starts it empty) with the
 * line's window. A GRANT for what the entry gains now; a replaced entry's changes are told once, by settleReplaced.
 */
function applyGrantLine(
  tx: WriteTxn,
  pid: string,
  l: GrantLine,
  permIds: ReadonlyMap<string, string>,
  roleIds: ReadonlyMap<string, string>,
  before: ReadonlyMap<string, GrantRecord> | undefined,
  touched: Set<string>,
  fresh: FreshEntries,
): void {
  const key = keyOf.grant(pid, l.user_id, l.resource_uri);
  const entry = before === undefined ? undefined : `${l.user_id}\u0000${l.resource_uri}`;
  const replaced = entry !== undefined && before!.has(entry);
  // the entry as this commit left it so far: a replaced entry not yet rewritten counts as empty
  const cur = (replaced && !touched.has(entry!)) || (!replaced && fresh.isNew(l.user_id, l.resource_uri)) ? undefined : (tx.db.grants.get(key) as GrantRecord | undefined);
  if (replaced) touched.add(entry!);
  const window: EntryWindow = {};
  if (l.starts_at !== undefined) window.starts_at = l.starts_at;
  if (l.expires_at !== undefined) window.expires_at = l.expires_at;
  const windows = new Map<string, EntryWindow>();
  const lineP = l.permissions.map((n) => permIds.get(n)!);
  const lineR = l.roles.map((n) => roleIds.get(n)!);
  const p = cur ? [...cur.p] : [];
  const r = cur ? [...cur.r] : [];
  for (const id of lineP) if (!p.includes(id)) p.push(id);
  for (const id of lineR) if (!r.includes(id)) r.push(id);
  for (const id of [...lineP, ...lineR]) windows.set(id, window); // named again: the line's window replaces the entry's, as a grant call would
  let seq = cur?.seq ?? (replaced ? before!.get(entry!)!.seq : undefined);
  if (seq === undefined) {
    seq = tx.nextSeq();
    tx.db.grantOrder.putSync(keyOf.grantOrder(pid, l.user_id, seq), l.resource_uri);
    tx.db.grantSubjects.putSync(keyOf.grantSubject(pid, l.resource_uri, l.user_id), null);
  }
  const plain = window.starts_at === undefined && window.expires_at === undefined && (cur === undefined || !hasWindows(cur));
  const rec = plain ? { seq, p, r } : withEntryWindows({ seq, p, r }, windows, cur);
  tx.db.grants.putSync(key, rec);
  if (l.expires_at !== undefined) {
    // the sweep's index (an entry's earlier end left behind is dropped by the sweep, which finds it changed)
    const ends = Date.parse(l.expires_at);
    for (const id of unique([...lineP, ...lineR])) tx.db.grantExpiry.putSync(keyOf.grantExpiry(ends, pid, l.user_id, l.resource_uri, id), null);
  }
  if (replaced) return;
  if (cur === undefined) {
    // a new entry (the bulk of an import into an empty project): everything on the line is gained
    emitGrantChange(tx, pid, 'GRANT', l.user_id, l.resource_uri, p, r, (id) => entryWindow(rec, id), plain ? 0 : 1);
    return;
  }
  const changed = (id: string) => !(cur.p.includes(id) || cur.r.includes(id)) || windowKey(entryWindow(cur, id)) !== windowKey(entryWindow(rec, id));
  emitGrantChange(tx, pid, 'GRANT', l.user_id, l.resource_uri, unique(lineP).filter(changed), unique(lineR).filter(changed), (id) => entryWindow(rec, id), plain ? 0 : 1);
}

const unique = (ids: readonly string[]) => [...new Set(ids)];

/**
 * Tells, without a read, that a grant line's entry cannot exist yet: the project held no entry (or, replacing, none
 * but those in `before`) and the line's (principal, URI) comes after every earlier line's — as in an export, sorted by
 * principal and URI. Any other line is looked up. Saves one LMDB read per line of the common bulk load.
 */
class FreshEntries {
  private readonly empty: boolean;
  private lastUser = '';
  private lastUri = '';
  private sorted = true;

  constructor(tx: WriteTxn, pid: string, before: ReadonlyMap<string, GrantRecord> | undefined) {
    let held = false;
    if (before === undefined) for (const _ of tx.db.grants.getKeys({ ...rangeOf.project(pid), limit: 1 })) held = true;
    this.empty = !held; // replace: the entries held before are in `before`, told apart by the caller
  }

  isNew(userId: string, uri: string): boolean {
    const after = userId > this.lastUser || (userId === this.lastUser && uri > this.lastUri);
    if (!after) this.sorted = false; // once out of order, earlier lines may repeat: look every later one up
    this.lastUser = userId;
    this.lastUri = uri;
    return this.empty && this.sorted && after;
  }
}

/**
 * Replace: entries the file rewrote get a GRANT for what they gained and a REVOKE for what they lost; entries it did
 * not name go, with a REVOKE. Ids whose PERMISSION_DELETED / ROLE_DELETED already says so are left out.
 */
function settleReplaced(tx: WriteTxn, pid: string, before: ReadonlyMap<string, GrantRecord>, touched: ReadonlySet<string>, dropped: ReadonlySet<string>): void {
  const kept = (ids: readonly string[]) => ids.filter((id) => !dropped.has(id));
  for (const [entry, old] of before) {
    const sep = entry.indexOf('\u0000');
    const userId = entry.slice(0, sep);
    const uri = entry.slice(sep + 1);
    if (!touched.has(entry)) {
      tx.db.grants.removeSync(keyOf.grant(pid, userId, uri));
      tx.db.grantOrder.removeSync(keyOf.grantOrder(pid, userId, old.seq));
      tx.db.grantSubjects.removeSync(keyOf.grantSubject(pid, uri, userId));
      emitGrantChange(tx, pid, 'REVOKE', userId, uri, kept(old.p), kept(old.r), () => ({}));
      continue;
    }
    const rec = tx.db.grants.get(keyOf.grant(pid, userId, uri)) as GrantRecord;
    const gained = (id: string, held: readonly string[]) => !held.includes(id) || windowKey(entryWindow(old, id)) !== windowKey(entryWindow(rec, id));
    emitGrantChange(tx, pid, 'GRANT', userId, uri, rec.p.filter((id) => gained(id, old.p)), rec.r.filter((id) => gained(id, old.r)), (id) => entryWindow(rec, id));
    emitGrantChange(tx, pid, 'REVOKE', userId, uri, kept(old.p.filter((id) => !rec.p.includes(id))), kept(old.r.filter((id) => !rec.r.includes(id))), () => ({}));
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
  windowed = 1,
): void {
  if (p.length === 0 && r.length === 0) return;
  if (windowed === 0) {
    // the common case, no windows anywhere: one event, no grouping
    tx.emit(pid, { type, user_id: userId, resource_uri: uri, permissions: p as string[], roles: r as string[] });
    return;
  }
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
