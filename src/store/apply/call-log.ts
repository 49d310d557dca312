// Writes API call-log entries: a batch of them (reads, `appendLogs`), or the entry of a write, committed in the write's
// own transaction with its outcome; and, once per transaction, the retention of the organisations touched (size, age).
import { errorBody, type PermioError } from '../../errors.js';
import type { CommandOf as Cmd, WriteCommand } from '../commands.js';
import { putLogFacets, removeLogFacets } from '../call-log-facets.js';
import { keyOf, rangeOf, seqOfLogKey, type Key } from '../keys.js';
import { loggedBody, type ApiLogRecord, type OrgRecord, type PermissionRecord, type UserRecord } from '../records.js';
import { apiKeyView, invitationView, organisationView, permissionView, projectView, roleView, userView } from '../views.js';
import { seqDigits, type WriteTxn } from './write-txn.js';

const LOG_AGE_SCAN = 1000; // expired call-log entries removed per batch and organisation, at most
const REDACTED = '[REDACTED]'; // the secret a create answer carries (drawn by the node that took the call, never in a command)

export function appendLogs(tx: WriteTxn, cmd: Cmd<'appendLogs'>): object {
  for (const entry of cmd.entries) putEntry(tx, entry, cmd.max_age_ms, cmd.max_per_org);
  return {};
}

/**
 * Applies the retention of every organisation whose log grew in this transaction, once each (a group commit of 1,000
 * writes of one organisation scans its oldest entries once, not 1,000 times): called last, before the commit.
 */
export function trimCallLogs(tx: WriteTxn): void {
  for (const [orgId, { maxAgeMs, maxPerOrg }] of tx.logRetention) applyRetention(tx, orgId, maxAgeMs, maxPerOrg);
  tx.logRetention.clear();
}

/**
 * Commits the call-log entry of `cmd` (when it carries one) with its outcome: 200 and the answer's body, or the error
 * it was refused with. Called inside the command's transaction, after its handler; the answer is rendered from what
 * the transaction holds, so every node of a cluster writes the same entry.
 */
export function logCall(tx: WriteTxn, cmd: WriteCommand, outcome: { value: unknown } | { error: PermioError }): void {
  const call = cmd.call;
  if (call === undefined) return;
  const value = 'value' in outcome ? outcome.value : undefined;
  const orgId = call.organisation_id ?? organisationOf(tx, cmd, value);
  if (orgId === undefined) return; // an operator's write on no organisation it could name (a refused create)
  const response = 'value' in outcome ? answerJson(tx, cmd, value) : errorBody(outcome.error);
  const entry = {
    time: new Date(cmd.now).toISOString(),
    organisation_id: orgId,
    actor: call.actor,
    transport: call.transport,
    rpc: call.rpc,
    route: call.route,
    status: 'value' in outcome ? 200 : outcome.error.status,
    latency_ms: call.latency_ms,
    request: call.request,
    response: loggedBody(response),
  };
  putEntry(tx, entry, call.max_age_ms, call.max_per_org);
}

function putEntry(tx: WriteTxn, entry: Omit<ApiLogRecord, 'id'>, maxAgeMs: number, maxPerOrg: number): void {
  const seq = tx.nextSeq();
  const orgId = entry.organisation_id;
  const count = tx.counts.get(orgId); // entries per organisation, counted once and then kept up to date
  if (count !== undefined) tx.counts.set(orgId, count + 1);
  tx.db.apiLogs.putSync(keyOf.apiLog(orgId, seq), { id: `log_${seqDigits(seq)}`, ...entry });
  putLogFacets(tx.db, seq, entry);
  tx.logRetention.set(orgId, { maxAgeMs, maxPerOrg });
}

/** Removes the organisation's entries over its cap, oldest first, then those older than the age (as of `tx.now`). */
function applyRetention(tx: WriteTxn, orgId: string, maxAgeMs: number, maxPerOrg: number): void {
  const { apiLogs } = tx.db;
  const cutoff = new Date(tx.now - maxAgeMs).toISOString();
  // getKeysCount marks the options it is given as count-only: the scans below get their own range object
  const count = tx.counts.get(orgId) ?? apiLogs.getKeysCount(rangeOf.organisation(orgId));
  const range = rangeOf.organisation(orgId);
  const over = Math.max(count - maxPerOrg, 0);
  // collect first (no writes under a live cursor): the oldest entries over the cap by key alone (no record
  // decoded), then those past the age, oldest first, decoded until the first young one (usually the first)
  const doomed = over > 0 ? ([...apiLogs.getKeys({ ...range, limit: over })] as Key[]) : [];
  for (const { key, value } of apiLogs.getRange({ ...range, offset: over, limit: LOG_AGE_SCAN })) {
    if ((value as ApiLogRecord).time >= cutoff) break; // oldest first: the rest is younger
    doomed.push(key as Key);
  }
  for (const key of doomed) {
    apiLogs.removeSync(key);
    removeLogFacets(tx.db, orgId, seqOfLogKey(key));
  }
  tx.counts.set(orgId, count - doomed.length);
}

/** The organisation an operator's write acted on: the one it names, created or joined. */
function organisationOf(tx: WriteTxn, cmd: WriteCommand, value: unknown): string | undefined {
  if ('organisation_id' in cmd) return cmd.organisation_id;
  if (cmd.op === 'createOrganisation') return (value as OrgRecord | undefined)?.id;
  if (cmd.op === 'acceptInvitation') {
    const inv = tx.db.invitations.get(keyOf.invitation(cmd.token_hash)) as { organisation_id: string } | undefined;
    return (value as { organisation_id?: string } | undefined)?.organisation_id ?? inv?.organisation_id;
  }
  return undefined;
}

/** The answer as JSON text; should a record not fit its view, its value as stored (the write itself stands). */
function answerJson(tx: WriteTxn, cmd: WriteCommand, value: unknown): string {
  try {
    return JSON.stringify(answerOf(tx, cmd, value)) ?? '{}';
  } catch {
    return JSON.stringify(value ?? {});
  }
}

/** The body the service answers a write with (service/*-ops.ts), secrets redacted: rendered from the same views. */
function answerOf(tx: WriteTxn, cmd: WriteCommand, value: unknown): unknown {
  const orgBody = (orgId: string) => {
    const org = tx.db.orgs.get(keyOf.org(orgId)) as OrgRecord;
    const users = [...tx.db.users.getRange(rangeOf.organisation(orgId))].map((e) => e.value as UserRecord).sort((a, b) => a.seq - b.seq);
    return { organisation: organisationView(org, users) };
  };
  switch (cmd.op) {
    case 'createOrganisation':
    case 'updateOrganisation':
      return orgBody((value as OrgRecord).id);
    case 'acceptInvitation':
      return orgBody((value as { organisation_id: string }).organisation_id);
    case 'addUser':
      return { user: userView(value as UserRecord) };
    case 'createInvitation':
      return { invitation: invitationView(value as Parameters<typeof invitationView>[0], REDACTED) };
    case 'createProject':
      return { project: projectView(value as Parameters<typeof projectView>[0]) };
    case 'createApiKey':
      return { api_key: apiKeyView(value as Parameters<typeof apiKeyView>[0], REDACTED) };
    case 'createPermission':
    case 'updatePermission':
      return permissionView(value as PermissionRecord, cmd.organisation_id, cmd.project_name);
    case 'createRole':
    case 'updateRole':
      return roleView(value as Parameters<typeof roleView>[0], cmd.organisation_id, cmd.project_name, (id) =>
        tx.db.permissions.get(keyOf.permission(cmd.project_id, id)) as PermissionRecord | undefined,
      );
    default:
      return value;
  }
}
