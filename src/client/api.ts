// The client's public surface: constructor options and every member, typed from the generated wire types (src/client/wire.ts).
import type { ConsistencyMode } from './consistency.js';
import type { PageIterable } from './pages.js';
import type { RpcItems, Rpcs } from './wire.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shape of an RPC the protos do not have yet
type Loose = Record<string, any>;
type Known<R extends string> = R extends keyof Rpcs ? Rpcs[R] : { request: Loose; response: Loose };

/** The request object of RPC `R` (snake_case, as on the wire); loose for RPCs this build's protos do not have yet. */
export type RequestOf<R extends string> = Known<R>['request'];
/** The response object of RPC `R` (the REST body; over gRPC decoded to the same shape). */
export type ResponseOf<R extends string> = Known<R>['response'];
/** The item type of list-style RPC `R`. */
export type ItemOf<R extends string> = R extends keyof RpcItems ? RpcItems[R] : unknown;

/** A list call's result: `for await` over every item of every page, or `.page({page_size, page_token})` for one page. */
export type ListOf<R extends string> = PageIterable<ItemOf<R>, ResponseOf<R>>;

/** One record of the export format (SPEC §9): a `header`, `permission`, `role` or `grant` line. */
export type ExportRecord = ResponseOf<'ExportProject'>;
/** One Watch message (SPEC §7): `{revision, committed_at, events}`. */
export type WatchMessage = ResponseOf<'Watch'>;

/** What `projects.import` reads: records (objects), or raw NDJSON text/bytes in chunks (a file stream). */
export type ImportSource =
  | Iterable<Partial<ExportRecord> | Loose>
  | AsyncIterable<Partial<ExportRecord> | Loose>
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

/** Where and how `projects.import` loads: `project_name` and `organisation_id` default from the constructor; `mode` is `merge` (default) or `replace`. */
export interface ImportRequest {
  project_name?: string;
  organisation_id?: string;
  mode?: 'merge' | 'replace';
}

export interface PermioOptions {
  /** The REST base URL, e.g. `http://localhost:8080`. */
  url: string;
  /** The API key (`perms_api_…`): operator, organisation or project key. */
  apiKey: string;
  /** The `project_name` of requests that leave it out (default `default`). */
  project?: string;
  /** The `organisation_id` of requests that leave it out. Without it, calls whose route names an organisation use the key's own one. */
  organisationId?: string;
  /** `rest` (default) or `grpc`: the same program behaves identically over either. */
  transport?: 'rest' | 'grpc';
  /** The gRPC `host:port` (default: the URL's host, port 50051). */
  grpcAddress?: string;
  /** Per-attempt timeout of unary calls in ms (default 30,000): past it the call throws `DEADLINE_EXCEEDED` (504), not retried. */
  timeoutMs?: number;
  /** Retries of 429 and 503 answers, with backoff honouring `Retry-After` (default 2: at most 3 attempts). */
  retries?: number;
  /**
   * `session` (default): reads that evaluate grants (check, explain, lookups, grant lists) reflect at least this
   * client's own acknowledged writes; `full`: they reflect every write (`fully_consistent`); `minimize_latency`: no
   * constraint (the node answers from what it has applied).
   */
  consistency?: ConsistencyMode;
}

/** Options of {@link Permio.allowed}: the rest of the Check request. */
export interface AllowedOptions {
  project_name?: string;
  organisation_id?: string;
  consistency?: { at_least_revision?: string; fully_consistent?: boolean };
}

export interface OrganisationsApi {
  /** Creates an organisation (operator key) with its first user and a `default` project. `POST /v1/organisations`. */
  create(request: RequestOf<'CreateOrganisation'>): Promise<ResponseOf<'CreateOrganisation'>>;
  /** Reads an organisation (`organisation_id` defaults to the client's). `GET /v1/organisations/{id}`. */
  get(request?: RequestOf<'GetOrganisation'>): Promise<ResponseOf<'GetOrganisation'>>;
  /** The organisations the key may see. `GET /v1/organisations`. */
  list(request?: RequestOf<'ListOrganisations'>): ListOf<'ListOrganisations'>;
  /** Changes `name`, `plan` or `rate_limit_per_minute` (operator key). `PATCH /v1/organisations/{id}`. */
  update(request: RequestOf<'UpdateOrganisation'>): Promise<ResponseOf<'UpdateOrganisation'>>;
}

export interface ProjectsApi {
  /** Creates a project (`name`). `POST /v1/organisations/{id}/projects`. */
  create(request: RequestOf<'CreateProject'>): Promise<ResponseOf<'CreateProject'>>;
  /** The organisation's projects, in creation order. */
  list(request?: RequestOf<'ListProjects'>): ListOf<'ListProjects'>;
  /** Deletes a project with everything in it; `project_name` is required here (never defaulted). */
  delete(request: RequestOf<'DeleteProject'>): Promise<ResponseOf<'DeleteProject'>>;
  /** Streams one consistent snapshot of the project as §9 records: a `header`, then permissions, roles and grants. */
  export(request?: RequestOf<'ExportProject'>): AsyncIterable<ExportRecord>;
  /** Loads §9 records (or raw NDJSON) into the project, all or nothing; resolves to `{imported: {permissions, roles, grants}}`. */
  import(request: ImportRequest, records: ImportSource): Promise<ResponseOf<'ImportProject'>>;
}

export interface ApiKeysApi {
  /** Creates a key: an organisation key, or a project key when `project_name` is set (never defaulted here). The answer is the only time `key` appears. */
  create(request: RequestOf<'CreateApiKey'>): Promise<ResponseOf<'CreateApiKey'>>;
  /** The organisation's keys, without secrets. */
  list(request?: RequestOf<'ListApiKeys'>): ListOf<'ListApiKeys'>;
  /** Invalidates a key (`apikey_id`); it stays listed with `invalidated: true`. */
  invalidate(request: RequestOf<'InvalidateApiKey'>): Promise<ResponseOf<'InvalidateApiKey'>>;
}

export interface UsersApi {
  /** Adds a user (`user_id`, `email`) to the organisation. */
  add(request: RequestOf<'AddUser'>): Promise<ResponseOf<'AddUser'>>;
  /** The organisation's users, in the order they were added. */
  list(request?: RequestOf<'ListUsers'>): ListOf<'ListUsers'>;
  /** Removes a user (`user_id`) from the organisation. */
  remove(request: RequestOf<'RemoveUser'>): Promise<ResponseOf<'RemoveUser'>>;
}

export interface InvitationsApi {
  /** Invites an `email`; the answer's `token` is accepted with {@link InvitationsApi.accept}. */
  create(request: RequestOf<'CreateInvitation'>): Promise<ResponseOf<'CreateInvitation'>>;
  /** Accepts an invitation (`token`, `user_id`): the user joins the organisation. */
  accept(request: RequestOf<'AcceptInvitation'>): Promise<ResponseOf<'AcceptInvitation'>>;
}

export interface PermissionsApi {
  /** Creates a permission (`name`, `description`); names are unique in the project. */
  create(request: RequestOf<'CreatePermission'>): Promise<ResponseOf<'CreatePermission'>>;
  /** Reads a permission by `permission_id`. */
  get(request: RequestOf<'GetPermission'>): Promise<ResponseOf<'GetPermission'>>;
  /** Renames or re-describes a permission (`permission_id`); absent fields keep their value. */
  update(request: RequestOf<'UpdatePermission'>): Promise<ResponseOf<'UpdatePermission'>>;
  /** The project's permissions, in creation order. */
  list(request?: RequestOf<'ListPermissions'>): ListOf<'ListPermissions'>;
  /** Deletes a permission (`permission_id`) and removes it from every role and grant. */
  delete(request: RequestOf<'DeletePermission'>): Promise<ResponseOf<'DeletePermission'>>;
}

export interface RolesApi {
  /** Creates a role (`name`, `description`, `permissions` as permission ids). */
  create(request: RequestOf<'CreateRole'>): Promise<ResponseOf<'CreateRole'>>;
  /** Reads a role by `role_id`, with its full permission objects. */
  get(request: RequestOf<'GetRole'>): Promise<ResponseOf<'GetRole'>>;
  /** Changes a role (`role_id`); a present `permissions` replaces the set. */
  update(request: RequestOf<'UpdateRole'>): Promise<ResponseOf<'UpdateRole'>>;
  /** The project's roles, in creation order. */
  list(request?: RequestOf<'ListRoles'>): ListOf<'ListRoles'>;
  /** Deletes a role (`role_id`) and every grant of it. */
  delete(request: RequestOf<'DeleteRole'>): Promise<ResponseOf<'DeleteRole'>>;
}

export interface GrantsApi {
  /** Grants `permissions` and `roles` (ids or names) to `user_id` on `resource_uri` and below, optionally within `starts_at`/`expires_at`. */
  grant(request: RequestOf<'Grant'>): Promise<ResponseOf<'Grant'>>;
  /** Revokes `permissions` and `roles` granted to `user_id` on exactly `resource_uri`. */
  revoke(request: RequestOf<'Revoke'>): Promise<ResponseOf<'Revoke'>>;
  /** A principal's grants (`user_id`, optional `resource_uri`), one entry per exact URI. */
  list(request: RequestOf<'ListGrants'>): ListOf<'ListGrants'>;
}

export interface LogsApi {
  /** The organisation's API call log, newest first, filtered by `start_time`, `end_time`, `status`, `key_id`, `route`. */
  list(request?: RequestOf<'ListApiLogs'>): ListOf<'ListApiLogs'>;
}
