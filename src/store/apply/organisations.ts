// Applies organisation, user and invitation commands.
import { Errors } from '../../errors.js';
import type { CommandOf as Cmd } from '../commands.js';
import { hashSecret, keyOf, type Key } from '../keys.js';
import type { InvitationRecord, OrgRecord, UserRecord } from '../records.js';
import { requireOrg } from './lookups.js';
import { createProjectRecord } from './projects.js';
import type { Dbs, WriteTxn } from './write-txn.js';

/** The project every new organisation starts with (SPEC §3). */
export const DEFAULT_PROJECT = 'default';

export function createOrganisation(tx: WriteTxn, cmd: Cmd<'createOrganisation'>): OrgRecord {
  const now = tx.timestamp();
  const org: OrgRecord = {
    id: tx.newId('org'),
    name: cmd.name,
    plan: cmd.plan,
    rate_limit_per_minute: cmd.rate_limit_per_minute,
    created_at: now,
    updated_at: now,
  };
  tx.db.orgs.putSync(keyOf.org(org.id), org);
  putUser(tx, org.id, cmd.user_id, '');
  createProjectRecord(tx, org.id, DEFAULT_PROJECT);
  return org;
}

export function updateOrganisation(tx: WriteTxn, cmd: Cmd<'updateOrganisation'>): OrgRecord {
  const org = { ...requireOrg(tx, cmd.organisation_id) };
  if (cmd.name !== undefined) org.name = cmd.name;
  if (cmd.plan !== undefined) org.plan = cmd.plan;
  if (cmd.rate_limit_per_minute !== undefined) org.rate_limit_per_minute = cmd.rate_limit_per_minute;
  org.updated_at = tx.timestamp();
  tx.db.orgs.putSync(keyOf.org(org.id), org);
  tx.markOrganisationUpdated(org.id);
  return org;
}

function putUser(tx: WriteTxn, orgId: string, userId: string, email: string): UserRecord {
  const user: UserRecord = { id: userId, email, seq: tx.nextSeq() };
  tx.db.users.putSync(keyOf.user(orgId, userId), user);
  return user;
}

export function addUser(tx: WriteTxn, cmd: Cmd<'addUser'>): UserRecord {
  requireOrg(tx, cmd.organisation_id);
  if (tx.db.users.get(keyOf.user(cmd.organisation_id, cmd.user_id))) throw Errors.conflict('user', cmd.user_id);
  return putUser(tx, cmd.organisation_id, cmd.user_id, cmd.email);
}

export function removeUser(tx: WriteTxn, cmd: Cmd<'removeUser'>): object {
  requireOrg(tx, cmd.organisation_id);
  const key = keyOf.user(cmd.organisation_id, cmd.user_id);
  if (!tx.db.users.get(key)) throw Errors.notFound('user', cmd.user_id);
  tx.db.users.removeSync(key);
  return {};
}

export function createInvitation(tx: WriteTxn, cmd: Cmd<'createInvitation'>): InvitationRecord {
  requireOrg(tx, cmd.organisation_id);
  const inv: InvitationRecord = {
    id: tx.newId('inv'),
    organisation_id: cmd.organisation_id,
    email: cmd.email,
    expires_at: new Date(tx.now + cmd.ttl_ms).toISOString(),
  };
  tx.db.invitations.putSync(keyOf.invitation(cmd.token_hash), inv);
  return inv;
}

export function acceptInvitation(tx: WriteTxn, cmd: Cmd<'acceptInvitation'>): { organisation_id: string } {
  const key = keyOf.invitation(cmd.token_hash);
  const inv = tx.db.invitations.get(key) as InvitationRecord | undefined;
  if (!inv || !tx.db.orgs.get(keyOf.org(inv.organisation_id))) throw Errors.unknownInvitation();
  if (Date.parse(inv.expires_at) <= tx.now) {
    tx.db.invitations.removeSync(key);
    throw Errors.badRequest('Invalid request: the invitation has expired', [{ expires_at: inv.expires_at }]);
  }
  if (tx.db.users.get(keyOf.user(inv.organisation_id, cmd.user_id))) throw Errors.conflict('user', cmd.user_id);
  putUser(tx, inv.organisation_id, cmd.user_id, inv.email);
  tx.db.invitations.removeSync(key);
  return { organisation_id: inv.organisation_id };
}

/**
 * Stores made before tokens were hashed kept invitations under their clear token (and the token in the record):
 * re-keys them by hash. Runs in the writer's first transaction; a no-op once done.
 */
export function hashStoredInvitationTokens(db: Dbs): void {
  const stale: [Key, InvitationRecord & { token: string }][] = [];
  for (const { key, value } of db.invitations.getRange()) if ('token' in value) stale.push([key as Key, value]);
  for (const [key, { token, ...inv }] of stale) {
    db.invitations.removeSync(key);
    db.invitations.putSync(keyOf.invitation(hashSecret(token)), inv);
  }
}
