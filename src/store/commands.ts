// The write commands the writer applies. Inputs are validated (shapes, formats) before a command is made, and the
// caller draws its time and randomness (`now`, `nonce`), so applying a command is a pure function of store + command:
// cluster mode replays the same commands on every node. Secrets never enter a command, only their hashes.
import crypto from 'node:crypto';
import type { Plan } from '../config.js';
import type { ApiLogRecord } from './records.js';

/** What a command asks for, before it is stamped. */
export type CommandBody =
  | { op: 'createOrganisation'; name: string; user_id: string; plan: Plan; rate_limit_per_minute: number }
  | { op: 'updateOrganisation'; organisation_id: string; name?: string; plan?: Plan; rate_limit_per_minute?: number }
  | { op: 'addUser'; organisation_id: string; user_id: string; email: string }
  | { op: 'removeUser'; organisation_id: string; user_id: string }
  | { op: 'createInvitation'; organisation_id: string; email: string; token_hash: string; ttl_ms: number }
  | { op: 'acceptInvitation'; token_hash: string; user_id: string }
  | { op: 'appendLogs'; entries: Omit<ApiLogRecord, 'id'>[]; max_age_ms: number; max_per_org: number }
  | { op: 'createProject'; organisation_id: string; name: string }
  | { op: 'deleteProject'; organisation_id: string; name: string }
  | { op: 'createApiKey'; organisation_id: string; project_name: string; name: string; hash: string }
  | { op: 'invalidateApiKey'; organisation_id: string; apikey_id: string }
  | ({ op: 'createPermission'; name: string; description: string } & ProjectRef)
  | ({ op: 'updatePermission'; permission_id: string; name?: string; description?: string } & ProjectRef)
  | ({ op: 'deletePermission'; permission_id: string } & ProjectRef)
  | ({ op: 'createRole'; name: string; description: string; permissions: string[] } & ProjectRef)
  | ({ op: 'updateRole'; role_id: string; name?: string; description?: string; permissions?: string[] } & ProjectRef)
  | ({ op: 'deleteRole'; role_id: string } & ProjectRef)
  | ({ op: 'grant' } & GrantFields & ProjectRef)
  | ({ op: 'revoke' } & GrantFields & ProjectRef)
  /** Removes the project's entries whose window ended by the command's time (the expiry sweep, SPEC §8). */
  | { op: 'expireGrants'; project_id: string }
  | ({ op: 'importStage'; import_id: string; chunk: number; lines: ImportLine[] } & ProjectRef)
  | ({ op: 'importCommit'; import_id: string; mode: ImportMode } & ProjectRef)
  | { op: 'importDiscard'; import_id: string; limit: number };

/** SPEC §9: `merge` adds the file to the project, `replace` makes the project exactly the file. */
export type ImportMode = 'merge' | 'replace';

/** One validated line of an import file, with its physical line number; names, not ids (resolved at commit). */
export type ImportLine =
  | { line: number; type: 'permission'; name: string; description?: string }
  | { line: number; type: 'role'; name: string; description?: string; permissions: string[] }
  | ({ line: number; type: 'grant' } & GrantFields);

/** A grant or revoke: permission and role references (ids or names) on one principal and URI. */
export interface GrantFields {
  user_id: string;
  resource_uri: string;
  permissions: string[];
  roles: string[];
  /** Grant only: the window of every entry of the request (RFC 3339 UTC), SPEC §8. */
  starts_at?: string;
  expires_at?: string;
}

/** Drawn by the caller, never by the writer. */
export interface Stamp {
  /** Milliseconds since the epoch: every time the command records or compares with. */
  now: number;
  /** A random unsigned 32-bit integer: the id tails of what the command creates. */
  nonce: number;
}

/**
 * The call a write answers, as its call-log entry records it (secrets already redacted): the writer completes it with
 * the outcome (status, response) and commits it in the write's own transaction, so no acknowledged write is missing
 * from the log, and in cluster mode every node commits the same entry.
 */
export interface CallStub {
  /** The caller's organisation; absent for the operator: then the one the write names or creates. */
  organisation_id?: string;
  actor: string;
  transport: 'rest' | 'grpc';
  rpc: string;
  route: string;
  /** Until the write was handed to the writer (its commit is not known yet when the entry is made). */
  latency_ms: number;
  /** JSON text. */
  request: string;
  /** Retention, as `appendLogs` takes it. */
  max_age_ms: number;
  max_per_org: number;
}

/** A command with the call-log entry of the call it answers (REST and gRPC calls; none for internal writes). */
export type LoggedCommand = CommandBody & { call?: CallStub };

export type WriteCommand = LoggedCommand & Stamp;

export type Op = WriteCommand['op'];

/** The command of one op, e.g. `CommandOf<'grant'>`. */
export type CommandOf<K extends Op> = Extract<WriteCommand, { op: K }>;

/** A project as resolved by the caller; the writer re-checks it inside the transaction. */
export interface ProjectRef {
  organisation_id: string;
  project_name: string;
  project_id: string;
}

const NONCE_BYTES = 4;
const NONCE_POOL_BYTES = 4096; // nonces drawn per refill: one randomFillSync call per 1,024 writes, not one per write

const noncePool = Buffer.alloc(NONCE_POOL_BYTES);
let nonceOffset = NONCE_POOL_BYTES;

/** A fresh 32-bit nonce from the CSPRNG (each pool byte is used once). */
function nextNonce(): number {
  if (nonceOffset === NONCE_POOL_BYTES) {
    crypto.randomFillSync(noncePool);
    nonceOffset = 0;
  }
  const nonce = noncePool.readUInt32BE(nonceOffset);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/** `body` with the caller's time and a fresh nonce. */
export function stampCommand(body: LoggedCommand, now = Date.now()): WriteCommand {
  return { ...body, now, nonce: nextNonce() };
}
