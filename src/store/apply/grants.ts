// Applies grant, revoke and the expiry sweep: references resolved by id or name, one record per (user, URI) with the
// windows of its time-bounded entries, the subject and expiry indexes kept with it, events for what changed.
import type { Database, RootDatabase } from 'lmdb';
import { Errors } from '../../errors.js';
import type { CommandOf as Cmd } from '../commands.js';
import { keyOf, META, partsOfExpiryKey, rangeOf, uriOfGrantKey, userOfGrantKey, type Key } from '../keys.js';
import { boundsOf, recordWindow } from '../grant-windows.js';
import type { EntryWindow, GrantRecord } from '../records.js';
import { requireProject } from './lookups.js';
import type { Dbs, WriteTxn } from './write-txn.js';

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

const sameWindow = (a: EntryWindow | undefined, b: EntryWindow | undefined) => a?.s === b?.s && a?.e === b?.e;

/**
 * Adds the entries, or replaces the window of those held (SPEC §8: no times = permanent); a GRANT event lists the
 * entries added or whose window changed, with the window (none: no event, nothing written).
 */
export function grant(tx: WriteTxn, cmd: Cmd<'grant'>): object {
  const pid = requireProject(tx, cmd);
  const [permIds, roleIds] = resolveRefs(tx, pid, cmd);
  const key = keyOf.grant(pid, cmd.user_id, cmd.resource_uri);
  const existing = tx.db.grants.get(key) as GrantRecord | undefined;
  const window = recordWindow(cmd); // the window the command gives each of its entries (undefined: permanent)
  const changed = (held: readonly string[] | undefined) => (id: string) => !held?.includes(id) || !sameWindow(existing?.w?.[id], window);
  const addedPerms = permIds.filter(changed(existing?.p));
  const addedRoles = roleIds.filter(changed(existing?.r));
  if (addedPerms.length === 0 && addedRoles.length === 0) return {};
  const rec: GrantRecord = existing
    ? { seq: existing.seq, p: [...existing.p, ...addedPerms.filter((id) => !existing.p.includes(id))], r: [...existing.r, ...addedRoles.filter((id) => !existing.r.includes(id))] }
    : { seq: tx.nextSeq(), p: permIds, r: roleIds };
  const windows: Record<string, EntryWindow> = { ...existing?.w };
  for (const id of [...addedPerms, ...addedRoles]) {
    const before = windows[id];
    if (before?.e !== undefined) tx.db.grantExpiry.removeSync(keyOf.grantExpiry(Date.parse(before.e), pid, cmd.user_id, cmd.resource_uri, id));
    if (window === undefined) delete windows[id];
    else windows[id] = window;
    if (window?.e !== undefined) tx.db.grantExpiry.putSync(keyOf.grantExpiry(Date.parse(window.e), pid, cmd.user_id, cmd.resource_uri, id), null);
  }
  if (Object.keys(windows).length > 0) rec.w = windows;
  if (!existing) {
    tx.db.grantOrder.putSync(keyOf.grantOrder(pid, cmd.user_id, rec.seq), cmd.resource_uri);
    tx.db.grantSubjects.putSync(keyOf.grantSubject(pid, cmd.resource_uri, cmd.user_id), null);
  }
  tx.db.grants.putSync(key, rec);
  tx.emit(pid, {
    type: 'GRANT',
    user_id: cmd.user_id,
    resource_uri: cmd.resource_uri,
    permissions: addedPerms,
    roles: addedRoles,
    ...boundsOf(window),
  });
  return {};
}

/** Removes the entries whatever their window; a REVOKE event lists those that were held (none: no event, nothing written). */
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
  putOrDropGrant(tx, pid, cmd.user_id, cmd.resource_uri, { ...existing, p, r });
  tx.emit(pid, { type: 'REVOKE', user_id: cmd.user_id, resource_uri: cmd.resource_uri, permissions: removedPerms, roles: removedRoles });
  return {};
}

/** Most ended entries one sweep removes: a bounded transaction; the sweeper comes back for the rest. */
const EXPIRE_BATCH = 1000;

/**
 * Removes the project's entries whose window ended by the command's time, one GRANT_EXPIRED per (principal, URI,
 * window): applied through the writer (and in cluster mode the log) like any write, so every node removes the same.
 * Index keys of entries already gone (revoked, re-granted, cascaded away) are dropped without an event.
 */
export function expireGrants(tx: WriteTxn, cmd: Cmd<'expireGrants'>): object {
  const due = [...tx.db.grantExpiry.getKeys({ ...rangeOf.expiredBy(tx.now), limit: EXPIRE_BATCH })] as Key[];
  const ended = new Map<string, { userId: string; uri: string; ids: string[] }>();
  for (const k of due) {
    const { expiresMs, projectId, userId, uri, id } = partsOfExpiryKey(k);
    if (projectId !== cmd.project_id) continue;
    tx.db.grantExpiry.removeSync(k);
    const g = tx.db.grants.get(keyOf.grant(projectId, userId, uri)) as GrantRecord | undefined;
    const w = g?.w?.[id];
    if (w?.e === undefined || Date.parse(w.e) !== expiresMs) continue;
    const group = `${userId}\u0000${uri}\u0000${w.s ?? ''}\u0000${w.e}`;
    const entry = ended.get(group) ?? { userId, uri, ids: [] };
    entry.ids.push(id);
    ended.set(group, entry);
  }
  for (const { userId, uri, ids } of ended.values()) {
    const g = tx.db.grants.get(keyOf.grant(cmd.project_id, userId, uri)) as GrantRecord;
    const w = g.w![ids[0]!]!;
    const permissions = g.p.filter((id) => ids.includes(id));
    const roles = g.r.filter((id) => ids.includes(id));
    putOrDropGrant(tx, cmd.project_id, userId, uri, { ...g, p: g.p.filter((id) => !ids.includes(id)), r: g.r.filter((id) => !ids.includes(id)) });
    tx.emit(cmd.project_id, {
      type: 'GRANT_EXPIRED',
      user_id: userId,
      resource_uri: uri,
      permissions,
      roles,
      ...boundsOf(w),
      expires_at: w.e!,
    });
  }
  return {};
}

/**
 * Stores a grant entry (windows of entries no longer held dropped), or removes it with its order and subject index
 * entries once it holds nothing. Expiry index keys left behind are dropped by the sweep.
 */
function putOrDropGrant(tx: WriteTxn, projectId: string, userId: string, uri: string, rec: GrantRecord): void {
  const key = keyOf.grant(projectId, userId, uri);
  if (rec.p.length || rec.r.length) {
    if (rec.w !== undefined) {
      const w: Record<string, EntryWindow> = {};
      for (const id of [...rec.p, ...rec.r]) if (rec.w[id] !== undefined) w[id] = rec.w[id];
      rec = { seq: rec.seq, p: rec.p, r: rec.r, ...(Object.keys(w).length > 0 ? { w } : {}) };
    }
    tx.db.grants.putSync(key, rec);
  } else {
    tx.db.grants.removeSync(key);
    tx.db.grantOrder.removeSync(keyOf.grantOrder(projectId, userId, rec.seq));
    tx.db.grantSubjects.removeSync(keyOf.grantSubject(projectId, uri, userId));
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

const GRANT_INDEXES_VERSION = 1; // meta `grantIndexes`: bump to rebuild grantSubjects and grantExpiry on open
const BACKFILL_BATCH = 10_000;

/** Builds grantSubjects (and grantExpiry) for a store older than them: once, when the writer opens it. */
export function ensureGrantIndexes(root: RootDatabase, db: Dbs, batchSize = BACKFILL_BATCH): void {
  if (db.meta.get(META.grantIndexes) === GRANT_INDEXES_VERSION) return;
  let start: Key | undefined;
  for (;;) {
    const batch = [...db.grants.getRange({ ...(start && { start, offset: 1 }), limit: batchSize })]; // after the last one
    root.transactionSync(() => {
      for (const { key, value } of batch) {
        const [projectId, userId, uri] = key as [string, string, string];
        db.grantSubjects.putSync(keyOf.grantSubject(projectId, uri, userId), null);
        const w = (value as GrantRecord).w;
        for (const id in w) if (w[id]!.e !== undefined) db.grantExpiry.putSync(keyOf.grantExpiry(Date.parse(w[id]!.e!), projectId, userId, uri, id), null);
      }
    });
    if (batch.length < batchSize) break;
    start = batch[batch.length - 1]!.key as Key;
  }
  db.meta.putSync(META.grantIndexes, GRANT_INDEXES_VERSION);
}
