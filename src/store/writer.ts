// Applies write commands inside LMDB transactions: referential rules, cascades, ids, and the change feed.
import crypto from 'node:crypto';
import type { Database } from 'lmdb';
import { Errors, PermioError, type WireError } from '../errors.js';
import { log } from '../log.js';
import type { WriteCommand, ProjectRef } from './commands.js';
import type { Delta, ProjectChange } from './change-feed.js';
import type { Store } from './env.js';
import { prefixRange, SEQ_KEY, type Key } from './keys.js';
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

export type WriteResult = { ok: true; value: unknown; change?: ProjectChange } | WireError;

/** The project every new organisation starts with (SPEC §3). */
export const DEFAULT_PROJECT = 'default';

const SEQ_DIGITS = 10; // base36: 3.6e15 ids before the width grows
const ID_RANDOM_BYTES = 4;
const LOG_AGE_SCAN = 1000; // expired call-log entries removed per batch and organisation, at most

/** Owns the read-write side of the store; used only by the writer thread. */
export class StoreWriter {
  private seq: number;
  private readonly db: Store['dbs'];
  /** Call-log entries per organisation, counted once and then kept up to date (retention by size). */
  private readonly logCounts = new Map<string, number>();

  constructor(private readonly store: Store) {
    this.db = store.dbs;
    this.seq = (this.db.meta.get(SEQ_KEY) as number | undefined) ?? 0;
  }

  /**
   * Applies `cmds` in order in one transaction (group commit) and returns one result each.
   * A command that fails validation writes nothing; an unexpected exception aborts the batch,
   * which is then retried one command per transaction so only the faulty command fails.
   */
  applyBatch(cmds: readonly WriteCommand[]): WriteResult[] {
    try {
      return this.store.root.transactionSync(() => this.applyAll(cmds));
    } catch {
      return cmds.map((cmd) => {
        try {
          return this.store.root.transactionSync(() => this.applyAll([cmd]))[0]!;
        } catch (err) {
          log.error('writer: command failed', { op: cmd.op, error: String((err as Error)?.stack ?? err) });
          return { ok: false as const, status: 500, message: 'Internal error' };
        }
      });
    }
  }

  private applyAll(cmds: readonly WriteCommand[]): WriteResult[] {
    const startSeq = this.seq;
    const results: WriteResult[] = [];
    for (const cmd of cmds) {
      try {
        results.push(this.apply(cmd));
      } catch (err) {
        if (!(err instanceof PermioError)) {
          this.seq = startSeq;
          throw err;
        }
        results.push({ ok: false, status: err.status, message: err.message, details: err.details });
      }
    }
    if (this.seq !== startSeq) this.db.meta.putSync(SEQ_KEY, this.seq);
    return results;
  }

  private apply(cmd: WriteCommand): WriteResult {
    switch (cmd.op) {
      case 'createOrganisation': return this.createOrganisation(cmd);
      case 'updateOrganisation': return this.updateOrganisation(cmd);
      case 'addUser': return this.addUser(cmd);
      case 'removeUser': return this.removeUser(cmd);
      case 'createInvitation': return this.createInvitation(cmd);
      case 'acceptInvitation': return this.acceptInvitation(cmd);
      case 'appendLogs': return this.appendLogs(cmd);
      case 'createProject': return ok(this.createProject(cmd.organisation_id, cmd.name));
      case 'deleteProject': return this.deleteProject(cmd);
      case 'createApiKey': return this.createApiKey(cmd);
      case 'invalidateApiKey': return this.invalidateApiKey(cmd);
      case 'createPermission': return this.createPermission(cmd);
      case 'updatePermission': return this.updatePermission(cmd);
      case 'deletePermission': return this.deletePermission(cmd);
      case 'createRole': return this.createRole(cmd);
      case 'updateRole': return this.updateRole(cmd);
      case 'deleteRole': return this.deleteRole(cmd);
      case 'grant': return this.grantOrRevoke(cmd, true);
      case 'revoke': return this.grantOrRevoke(cmd, false);
    }
  }

  // ── ids and time ──────────────────────────────────────────────────────────

  private nextSeq(): number {
    return ++this.seq;
  }

  /** `perm_0000000k3x9f1c2a`: sequence first, so ids sort in creation order; random tail, so they are not guessable. */
  private newId(prefix: string): string {
    const seq = this.nextSeq().toString(36).padStart(SEQ_DIGITS, '0');
    return `${prefix}_${seq}${crypto.randomBytes(ID_RANDOM_BYTES).toString('hex')}`;
  }

  // ── organisations, users, invitations ─────────────────────────────────────

  private requireOrg(id: string): OrgRecord {
    const org = this.db.orgs.get([id]) as OrgRecord | undefined;
    if (!org) throw Errors.notFound('organisation', id);
    return org;
  }

  private createOrganisation(cmd: Extract<WriteCommand, { op: 'createOrganisation' }>): WriteResult {
    const now = timestamp();
    const org: OrgRecord = {
      id: this.newId('org'),
      name: cmd.name,
      plan: cmd.plan,
      rate_limit_per_minute: cmd.rate_limit_per_minute,
      created_at: now,
      updated_at: now,
    };
    this.db.orgs.putSync([org.id], org);
    this.putUser(org.id, cmd.user_id, '');
    this.createProject(org.id, DEFAULT_PROJECT);
    return ok(org);
  }

  private updateOrganisation(cmd: Extract<WriteCommand, { op: 'updateOrganisation' }>): WriteResult {
    const org = { ...this.requireOrg(cmd.organisation_id) };
    if (cmd.name !== undefined) org.name = cmd.name;
    if (cmd.plan !== undefined) org.plan = cmd.plan;
    if (cmd.rate_limit_per_minute !== undefined) org.rate_limit_per_minute = cmd.rate_limit_per_minute;
    org.updated_at = timestamp();
    this.db.orgs.putSync([org.id], org);
    return ok(org);
  }

  private putUser(orgId: string, userId: string, email: string): UserRecord {
    const user: UserRecord = { id: userId, email, seq: this.nextSeq() };
    this.db.users.putSync([orgId, userId], user);
    return user;
  }

  private addUser(cmd: Extract<WriteCommand, { op: 'addUser' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    if (this.db.users.get([cmd.organisation_id, cmd.user_id])) throw Errors.conflict('user', cmd.user_id);
    return ok(this.putUser(cmd.organisation_id, cmd.user_id, cmd.email));
  }

  private removeUser(cmd: Extract<WriteCommand, { op: 'removeUser' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    if (!this.db.users.get([cmd.organisation_id, cmd.user_id])) throw Errors.notFound('user', cmd.user_id);
    this.db.users.removeSync([cmd.organisation_id, cmd.user_id]);
    return ok({});
  }

  private createInvitation(cmd: Extract<WriteCommand, { op: 'createInvitation' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    const inv: InvitationRecord = {
      id: this.newId('inv'),
      organisation_id: cmd.organisation_id,
      email: cmd.email,
      token: cmd.token,
      expires_at: new Date(Date.now() + cmd.ttl_ms).toISOString(),
    };
    this.db.invitations.putSync([cmd.token], inv);
    return ok(inv);
  }

  private acceptInvitation(cmd: Extract<WriteCommand, { op: 'acceptInvitation' }>): WriteResult {
    const inv = this.db.invitations.get([cmd.token]) as InvitationRecord | undefined;
    if (!inv || !this.db.orgs.get([inv.organisation_id])) throw Errors.notFound('invitation', cmd.token);
    if (Date.parse(inv.expires_at) <= Date.now()) {
      this.db.invitations.removeSync([cmd.token]);
      throw Errors.badRequest('Invalid request: the invitation has expired', [{ expires_at: inv.expires_at }]);
    }
    if (this.db.users.get([inv.organisation_id, cmd.user_id])) throw Errors.conflict('user', cmd.user_id);
    this.putUser(inv.organisation_id, cmd.user_id, inv.email);
    this.db.invitations.removeSync([cmd.token]);
    return ok({ organisation_id: inv.organisation_id });
  }

  // ── API call log ──────────────────────────────────────────────────────────

  /** Appends a batch of call records, then applies retention to the organisations it touched. */
  private appendLogs(cmd: Extract<WriteCommand, { op: 'appendLogs' }>): WriteResult {
    const orgs = new Set<string>();
    for (const entry of cmd.entries) {
      const seq = this.nextSeq();
      if (this.logCounts.has(entry.organisation_id)) this.logCounts.set(entry.organisation_id, this.logCounts.get(entry.organisation_id)! + 1);
      this.db.apiLogs.putSync([entry.organisation_id, seq], { id: `log_${seq.toString(36).padStart(SEQ_DIGITS, '0')}`, ...entry });
      orgs.add(entry.organisation_id);
    }
    const cutoff = new Date(Date.now() - cmd.max_age_ms).toISOString();
    for (const orgId of orgs) {
      // getKeysCount marks the options it is given as count-only: the scans below get their own range object
      const count = this.logCounts.get(orgId) ?? this.db.apiLogs.getKeysCount(prefixRange([orgId]));
      const range = prefixRange([orgId]);
      const over = Math.max(count - cmd.max_per_org, 0);
      // collect first (no writes under a live cursor): the oldest entries over the cap by key alone (no record
      // decoded), then those past the age, oldest first, decoded until the first young one (usually the first)
      const doomed = over > 0 ? ([...this.db.apiLogs.getKeys({ ...range, limit: over })] as Key[]) : [];
      for (const { key, value } of this.db.apiLogs.getRange({ ...range, offset: over, limit: LOG_AGE_SCAN })) {
        if ((value as ApiLogRecord).time >= cutoff) break; // oldest first: the rest is younger
        doomed.push(key as Key);
      }
      for (const key of doomed) this.db.apiLogs.removeSync(key);
      this.logCounts.set(orgId, count - doomed.length);
    }
    return ok({});
  }

  // ── projects and keys ─────────────────────────────────────────────────────

  private createProject(orgId: string, name: string): ProjectRecord {
    this.requireOrg(orgId);
    if (this.db.projects.get([orgId, name])) throw Errors.conflict('project', name);
    const seq = this.nextSeq();
    const project: ProjectRecord = {
      id: `prj_${seq.toString(36).padStart(SEQ_DIGITS, '0')}`,
      organisation_id: orgId,
      name,
      created_at: timestamp(),
      seq,
    };
    this.db.projects.putSync([orgId, name], project);
    return project;
  }

  private deleteProject(cmd: Extract<WriteCommand, { op: 'deleteProject' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    const project = this.db.projects.get([cmd.organisation_id, cmd.name]) as ProjectRecord | undefined;
    if (!project) throw Errors.notFound('project', cmd.name);
    for (const db of [this.db.permissions, this.db.permNames, this.db.roles, this.db.roleNames, this.db.grants, this.db.grantOrder]) {
      removeRange(db, [project.id]);
    }
    for (const { key, value } of [...this.db.apikeys.getRange(prefixRange([cmd.organisation_id]))]) {
      const rec = value as ApiKeyRecord;
      if (rec.project_id === project.id && !rec.invalidated) this.db.apikeys.putSync(key, { ...rec, invalidated: true });
    }
    this.db.projects.removeSync([cmd.organisation_id, cmd.name]);
    return ok({}, project.id, [['drop']]);
  }

  private createApiKey(cmd: Extract<WriteCommand, { op: 'createApiKey' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    let projectId = '';
    if (cmd.project_name !== '') {
      const project = this.db.projects.get([cmd.organisation_id, cmd.project_name]) as ProjectRecord | undefined;
      if (!project) throw Errors.notFound('project', cmd.project_name);
      projectId = project.id;
    }
    const rec: ApiKeyRecord = {
      id: this.newId('apikey'),
      name: cmd.name,
      organisation_id: cmd.organisation_id,
      project_name: cmd.project_name,
      project_id: projectId,
      created_at: timestamp(),
      invalidated: false,
      hash: cmd.hash,
    };
    this.db.apikeys.putSync([rec.organisation_id, rec.id], rec);
    this.db.keyHashes.putSync([rec.hash], [rec.organisation_id, rec.id]);
    return ok(rec);
  }

  private invalidateApiKey(cmd: Extract<WriteCommand, { op: 'invalidateApiKey' }>): WriteResult {
    this.requireOrg(cmd.organisation_id);
    const rec = this.db.apikeys.get([cmd.organisation_id, cmd.apikey_id]) as ApiKeyRecord | undefined;
    if (!rec) throw Errors.notFound('api key', cmd.apikey_id);
    if (!rec.invalidated) this.db.apikeys.putSync([rec.organisation_id, rec.id], { ...rec, invalidated: true });
    return ok({});
  }

  // ── permissions and roles ─────────────────────────────────────────────────

  /** Re-checks, inside the transaction, that the project the caller resolved still exists. */
  private requireProject(ref: ProjectRef): string {
    const project = this.db.projects.get([ref.organisation_id, ref.project_name]) as ProjectRecord | undefined;
    if (!project || project.id !== ref.project_id) throw Errors.notFound('project', ref.project_name);
    return project.id;
  }

  private createPermission(cmd: Extract<WriteCommand, { op: 'createPermission' }>): WriteResult {
    const pid = this.requireProject(cmd);
    if (this.db.permNames.get([pid, cmd.name])) throw Errors.conflict('permission', cmd.name);
    const rec: PermissionRecord = { id: this.newId('perm'), name: cmd.name, description: cmd.description };
    this.db.permissions.putSync([pid, rec.id], rec);
    this.db.permNames.putSync([pid, rec.name], rec.id);
    return ok(rec, pid, [['perm', rec.id, rec.name]]);
  }

  private requirePermission(pid: string, id: string): PermissionRecord {
    const rec = this.db.permissions.get([pid, id]) as PermissionRecord | undefined;
    if (!rec) throw Errors.notFound('permission', id);
    return rec;
  }

  private updatePermission(cmd: Extract<WriteCommand, { op: 'updatePermission' }>): WriteResult {
    const pid = this.requireProject(cmd);
    const rec = { ...this.requirePermission(pid, cmd.permission_id) };
    if (cmd.name !== undefined && cmd.name !== rec.name) {
      if (this.db.permNames.get([pid, cmd.name])) throw Errors.conflict('permission', cmd.name);
      this.db.permNames.removeSync([pid, rec.name]);
      this.db.permNames.putSync([pid, cmd.name], rec.id);
      rec.name = cmd.name;
    }
    if (cmd.description !== undefined) rec.description = cmd.description;
    this.db.permissions.putSync([pid, rec.id], rec);
    return ok(rec, pid, [['perm', rec.id, rec.name]]);
  }

  private deletePermission(cmd: Extract<WriteCommand, { op: 'deletePermission' }>): WriteResult {
    const pid = this.requireProject(cmd);
    const rec = this.requirePermission(pid, cmd.permission_id);
    for (const { key, value } of [...this.db.roles.getRange(prefixRange([pid]))]) {
      const role = value as RoleRecord;
      if (role.permissions.includes(rec.id)) {
        this.db.roles.putSync(key, { ...role, permissions: role.permissions.filter((p) => p !== rec.id) });
      }
    }
    this.rewriteGrants(pid, (g) => (g.p.includes(rec.id) ? { ...g, p: g.p.filter((p) => p !== rec.id) } : g));
    this.db.permissions.removeSync([pid, rec.id]);
    this.db.permNames.removeSync([pid, rec.name]);
    return ok({}, pid, [['delperm', rec.id]]);
  }

  /** Unknown permission ids → 400 naming them; duplicates dropped, order kept. */
  private requirePermissionIds(pid: string, ids: readonly string[]): string[] {
    const unique = [...new Set(ids)];
    const unknown = unique.filter((id) => !this.db.permissions.get([pid, id]));
    if (unknown.length) throw Errors.unknownPermissions(unknown);
    return unique;
  }

  private createRole(cmd: Extract<WriteCommand, { op: 'createRole' }>): WriteResult {
    const pid = this.requireProject(cmd);
    const permissions = this.requirePermissionIds(pid, cmd.permissions);
    if (this.db.roleNames.get([pid, cmd.name])) throw Errors.conflict('role', cmd.name);
    const rec: RoleRecord = { id: this.newId('role'), name: cmd.name, description: cmd.description, permissions };
    this.db.roles.putSync([pid, rec.id], rec);
    this.db.roleNames.putSync([pid, rec.name], rec.id);
    return ok(rec, pid, [['role', rec.id, permissions]]);
  }

  private updateRole(cmd: Extract<WriteCommand, { op: 'updateRole' }>): WriteResult {
    const pid = this.requireProject(cmd);
    const permissions = cmd.permissions && this.requirePermissionIds(pid, cmd.permissions);
    const found = this.db.roles.get([pid, cmd.role_id]) as RoleRecord | undefined;
    if (!found) throw Errors.notFound('role', cmd.role_id);
    const rec = { ...found };
    if (cmd.name !== undefined && cmd.name !== rec.name) {
      if (this.db.roleNames.get([pid, cmd.name])) throw Errors.conflict('role', cmd.name);
      this.db.roleNames.removeSync([pid, rec.name]);
      this.db.roleNames.putSync([pid, cmd.name], rec.id);
      rec.name = cmd.name;
    }
    if (cmd.description !== undefined) rec.description = cmd.description;
    if (permissions) rec.permissions = permissions;
    this.db.roles.putSync([pid, rec.id], rec);
    return ok(rec, pid, [['role', rec.id, rec.permissions]]);
  }

  private deleteRole(cmd: Extract<WriteCommand, { op: 'deleteRole' }>): WriteResult {
    const pid = this.requireProject(cmd);
    const rec = this.db.roles.get([pid, cmd.role_id]) as RoleRecord | undefined;
    if (!rec) throw Errors.notFound('role', cmd.role_id);
    this.rewriteGrants(pid, (g) => (g.r.includes(rec.id) ? { ...g, r: g.r.filter((r) => r !== rec.id) } : g));
    this.db.roles.removeSync([pid, rec.id]);
    this.db.roleNames.removeSync([pid, rec.name]);
    return ok({}, pid, [['delrole', rec.id]]);
  }

  // ── grants ────────────────────────────────────────────────────────────────

  /** Resolves id-or-name references; returns ids and the references that matched nothing. */
  private resolve(pid: string, refs: readonly string[], byId: Database, byName: Database): [string[], string[]] {
    const ids: string[] = [];
    const unknown: string[] = [];
    for (const ref of refs) {
      const id = byId.doesExist([pid, ref]) ? ref : (byName.get([pid, ref]) as string | undefined); // no record decode
      if (id === undefined) unknown.push(ref);
      else if (!ids.includes(id)) ids.push(id);
    }
    return [ids, unknown];
  }

  private grantOrRevoke(cmd: Extract<WriteCommand, { op: 'grant' | 'revoke' }>, isGrant: boolean): WriteResult {
    const pid = this.requireProject(cmd);
    const [permIds, unknownPerms] = this.resolve(pid, cmd.permissions, this.db.permissions, this.db.permNames);
    const [roleIds, unknownRoles] = this.resolve(pid, cmd.roles, this.db.roles, this.db.roleNames);
    if (unknownPerms.length && unknownRoles.length) {
      throw Errors.badRequest(
        `Invalid request: unknown permissions: ${unknownPerms.join(', ')}; unknown roles: ${unknownRoles.join(', ')}`,
        [{ unknown_permissions: unknownPerms }, { unknown_roles: unknownRoles }],
      );
    }
    if (unknownPerms.length) throw Errors.unknownPermissions(unknownPerms);
    if (unknownRoles.length) throw Errors.unknownRoles(unknownRoles);

    const key: Key = [pid, cmd.user_id, cmd.resource_uri];
    const existing = this.db.grants.get(key) as GrantRecord | undefined;
    if (isGrant) {
      const rec: GrantRecord = existing
        ? { seq: existing.seq, p: union(existing.p, permIds), r: union(existing.r, roleIds) }
        : { seq: this.nextSeq(), p: permIds, r: roleIds };
      if (!existing) this.db.grantOrder.putSync([pid, cmd.user_id, rec.seq], cmd.resource_uri);
      this.db.grants.putSync(key, rec);
    } else if (existing) {
      this.putOrDropGrant(key, { seq: existing.seq, p: minus(existing.p, permIds), r: minus(existing.r, roleIds) });
    }
    const delta: Delta = [isGrant ? 'grant' : 'revoke', cmd.user_id, cmd.resource_uri, permIds, roleIds];
    return ok({}, pid, [delta]);
  }

  /** Stores a grant entry, or removes it (and its order entry) once it holds nothing. */
  private putOrDropGrant(key: Key, rec: GrantRecord): void {
    if (rec.p.length || rec.r.length) {
      this.db.grants.putSync(key, rec);
    } else {
      this.db.grants.removeSync(key);
      this.db.grantOrder.removeSync([key[0]!, key[1]!, rec.seq]);
    }
  }

  /** Applies `edit` to every grant entry of a project (cascades of permission/role deletes). */
  private rewriteGrants(pid: string, edit: (g: GrantRecord) => GrantRecord): void {
    const entries = [...this.db.grants.getRange(prefixRange([pid]))]; // collect first: no writes under a live cursor
    for (const { key, value } of entries) {
      const next = edit(value as GrantRecord);
      if (next !== value) this.putOrDropGrant(key as Key, next);
    }
  }
}

function ok(value: unknown, projectId?: string, deltas?: Delta[]): WriteResult {
  return projectId ? { ok: true, value, change: { projectId, deltas: deltas! } } : { ok: true, value };
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const out = a.slice();
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

function minus(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => !b.includes(x));
}

function removeRange(db: Database, prefix: Key): void {
  const keys = [...db.getKeys(prefixRange(prefix))]; // collect first: no writes under a live cursor
  for (const key of keys) db.removeSync(key);
}
