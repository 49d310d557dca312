// The one service layer both transports call: authenticate, rate-limit, then run an operation by RPC name.
import { KEY_PREFIX } from '../admin-key.js';
import { Errors, PermioError } from '../errors.js';
import type { Caller } from './caller.js';
import type { ServiceContext, WriteCall } from './context.js';
import type { RateHeaders, RateLimiter } from './rate-limit.js';
import type { Input } from './validate.js';
import * as orgs from './organisation-ops.js';
import * as perms from './permission-ops.js';
import * as grants from './grant-ops.js';
import { check } from './check.js';
import * as lookups from './lookup-ops.js';
import { listApiLogs } from './log-ops.js';
import type { CallLog, CallRecord, CallScope } from './call-log.js';
import { watch } from './watch.js';
import { exportProject, type ProjectExport } from './export-ops.js';
import { importProject, type ImportSession } from './import-ops.js';
import type { Subscription, WatchHub, WatchSink } from './watch-hub.js';

/** Resolves to the response body (JSON text for pre-encoded operations, e.g. Check) or an `Answer` with headers. */
type Operation = (ctx: ServiceContext, caller: Caller, input: Input) => Promise<unknown>;

/** RPC name → operation (names as in SPEC §6 and the protos; how each is served is in `api/operations.ts`). */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreatePermission: perms.createPermission,
  GetPermission: perms.getPermission,
  UpdatePermission: perms.updatePermission,
  ListPermissions: perms.listPermissions,
  DeletePermission: perms.deletePermission,
  CreateRole: perms.createRole,
  GetRole: perms.getRole,
  UpdateRole: perms.updateRole,
  ListRoles: perms.listRoles,
  DeleteRole: perms.deleteRole,
  Grant: grants.grant,
  Revoke: grants.revoke,
  ListGrants: grants.listGrants,
  Check: check,
  ExplainCheck: lookups.explain,
  LookupResources: lookups.lookupResources,
  LookupSubjects: lookups.lookupSubjects,
  CreateOrganisation: orgs.createOrganisation,
  GetOrganisation: orgs.getOrganisation,
  ListOrganisations: orgs.listOrganisations,
  UpdateOrganisation: orgs.updateOrganisation,
  CreateProject: orgs.createProject,
  ListProjects: orgs.listProjects,
  DeleteProject: orgs.deleteProject,
  CreateApiKey: orgs.createApiKey,
  ListApiKeys: orgs.listApiKeys,
  InvalidateApiKey: orgs.invalidateApiKey,
  AddUser: orgs.addUser,
  ListUsers: orgs.listUsers,
  RemoveUser: orgs.removeUser,
  CreateInvitation: orgs.createInvitation,
  AcceptInvitation: orgs.acceptInvitation,
  ListApiLogs: listApiLogs,
};

export class PermioService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly limiter: RateLimiter,
    private readonly callLog: CallLog,
    private readonly watchHub: WatchHub,
  ) {}

  /** Records an answered call in the API call log (asynchronously, in batches; checks sampled). */
  recordCall(call: CallRecord): void {
    this.callLog.record(call);
  }

  /** `Bearer <key>` → caller; 401 otherwise. */
  authenticate(authorization: string | undefined): Caller {
    return this.ctx.auth.authenticate(authorization);
  }

  /**
   * Cluster mode: a 401 for a key this node does not hold may only mean it was created on another node a moment ago:
   * the verdict is given again once this node has caught up with the log (still 401 if it is unknown then).
   */
  authenticateLate(authorization: string | undefined, err: unknown): Promise<Caller> | undefined {
    if (!this.ctx.config.cluster || !(err instanceof PermioError) || err.status !== 401) return undefined;
    if (!authorization?.startsWith(`Bearer ${KEY_PREFIX}`)) return undefined; // not a key this server makes: refused at once
    return this.ctx.logWaits
      .current()
      .catch(() => undefined) // the log unreachable: the key is judged on what this node holds
      .then(() => this.ctx.auth.authenticate(authorization));
  }

  /** Takes one request from the caller's budget: rate-limit headers to send, or a 429 error. */
  admit(caller: Caller): RateHeaders | undefined {
    return this.limiter.admit(caller);
  }

  /**
   * Runs one RPC; resolves to the response body (see {@link Operation}), rejects with PermioError. With `scope`, a
   * write the call makes commits the call's log entry with it and marks the scope `logged`.
   */
  invoke(rpc: string, caller: Caller, input: Input, scope?: CallScope): Promise<unknown> {
    const op = OPERATIONS[rpc];
    if (op === undefined) return Promise.reject(Errors.routeNotFound(rpc));
    const ctx = scope === undefined ? this.ctx : this.ctx.forCall(this.writeCall(scope, rpc, caller, input));
    return this.ctx.config.cluster ? this.invokeInCluster(ctx, op, caller, input) : op(ctx, caller, input);
  }

  private writeCall(scope: CallScope, rpc: string, caller: Caller, input: Input): WriteCall {
    return {
      stub: () => this.callLog.stubOf(scope, rpc, caller, input),
      committed: () => (scope.logged = true),
    };
  }

  /** Opens a Watch subscription (SPEC §7) writing to `sink`; rejects with PermioError as `invoke` does. */
  watch(caller: Caller, input: Input, sink: WatchSink): Promise<Subscription> {
    const op = (ctx: ServiceContext, c: Caller, i: Input) => watch(ctx, this.watchHub, c, i, sink);
    return this.ctx.config.cluster ? this.invokeInCluster(this.ctx, op, caller, input) : op(this.ctx, caller, input);
  }

  /** Opens an export of a project (SPEC §9): its header and a read snapshot the transport pulls records from. */
  exportProject(caller: Caller, input: Input): Promise<ProjectExport> {
    return this.ctx.config.cluster ? this.invokeInCluster(this.ctx, exportProject, caller, input) : exportProject(this.ctx, caller, input);
  }

  /** Opens an import into a project (SPEC §9): a session the transport feeds the body's lines to. */
  importProject(caller: Caller, input: Input): Promise<ImportSession> {
    return this.ctx.config.cluster ? this.invokeInCluster(this.ctx, importProject, caller, input) : importProject(this.ctx, caller, input);
  }

  /** PERMIO_IMPORT_MAX_MB in bytes: the largest import body (REST) or stream (gRPC). */
  get importMaxBytes(): number {
    return this.ctx.config.importMaxBytes;
  }

  /**
   * Cluster mode: a 404 may only mean that this node had not yet applied a write acknowledged elsewhere (an
   * organisation, project or permission just created on another node). The node then catches up with the log and,
   * if that brought anything new, runs the call once more: a "not found" is never older than the call, and the
   * common case pays nothing. (Whatever a write puts in the log is judged again by every node at its position.)
   */
  private async invokeInCluster<T>(
    ctx: ServiceContext,
    op: (ctx: ServiceContext, caller: Caller, input: Input) => Promise<T>,
    caller: Caller,
    input: Input,
  ): Promise<T> {
    const seen = ctx.feed.applied;
    try {
      return await op(ctx, caller, input);
    } catch (err) {
      if (!(err instanceof PermioError && err.status === 404) || !(await ctx.logWaits.advancedPast(seen))) throw err;
      return op(ctx, caller, input);
    }
  }
}
