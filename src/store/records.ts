// The records stored in LMDB (msgpackr-encoded by lmdb-js); API JSON is built from these in service/.
import type { Plan } from '../config.js';

export interface OrgRecord {
  id: string;
  name: string;
  plan: Plan;
  /** 0 = unlimited (enterprise without a custom limit). */
  rate_limit_per_minute: number;
  created_at: string;
  updated_at: string;
}

export interface UserRecord {
  id: string;
  email: string;
  /** Insertion sequence: lists are in the order users were added. */
  seq: number;
}

export interface ProjectRecord {
  /** Internal `prj_…` id, never reused: a deleted-then-recreated name is a new, empty project. */
  id: string;
  organisation_id: string;
  name: string;
  created_at: string;
  seq: number;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  organisation_id: string;
  /** '' for an organisation key. */
  project_name: string;
  /** Internal id of the project for a project key ('' otherwise). */
  project_id: string;
  created_at: string;
  invalidated: boolean;
  /** sha256 of the secret, hex. The secret itself is never stored. */
  hash: string;
}

export interface PermissionRecord {
  id: string;
  name: string;
  description: string;
}

export interface RoleRecord {
  id: string;
  name: string;
  description: string;
  /** Permission ids, in the order given. */
  permissions: string[];
}

export interface GrantRecord {
  /** Creation sequence of this (user, uri) entry: lists are in creation order. */
  seq: number;
  /** Permission ids. */
  p: string[];
  /** Role ids. */
  r: string[];
  /** SPEC §8 windows of the entries that have one, by permission or role id (absent: every entry is permanent). */
  w?: Record<string, EntryWindow>;
}

/** When one grant entry is active: `s ≤ now < e`, each bound RFC 3339 UTC, absent = unbounded. */
export interface EntryWindow {
  s?: string;
  e?: string;
}

/** An import being staged (SPEC §9): its project, and when a command last touched it (stale ones are purged). */
export interface ImportJobRecord {
  project_id: string;
  touched: number;
}

/** Longest request or response body a call-log entry keeps, in characters. */
const MAX_LOGGED_BODY_CHARS = 8192;

/** A body as a call-log entry keeps it: cut to {@link MAX_LOGGED_BODY_CHARS}, marked when cut. */
export function loggedBody(text: string): string {
  return text.length > MAX_LOGGED_BODY_CHARS ? `${text.slice(0, MAX_LOGGED_BODY_CHARS)}…[truncated]` : text;
}

/** One external API call, recorded asynchronously (secrets redacted, bodies truncated). */
export interface ApiLogRecord {
  id: string;
  time: string;
  organisation_id: string;
  /** The calling key's id (`apikey_…`, or `operator`). */
  actor: string;
  transport: 'rest' | 'grpc';
  /** The RPC name, e.g. `Check`. */
  rpc: string;
  /** `POST /v1/check` for REST, `/permio.v1.PermissionsService/Check` for gRPC. */
  route: string;
  status: number;
  latency_ms: number;
  /** Request and response bodies as JSON text. */
  request: string;
  response: string;
}

export interface InvitationRecord {
  id: string;
  organisation_id: string;
  email: string;
  expires_at: string;
}
