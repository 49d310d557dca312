// The one service layer both transports call: authenticate, rate-limit, then run an operation by RPC name.
import { Errors, PermioError } from '../errors.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import type { RateHeaders, RateLimiter } from './rate-limit.js';
import type { Input } from './validate.js';
import * as orgs from './organisation-ops.js';
import * as perms from './permission-ops.js';
import * as grants from './grant-ops.js';
import { check } from './check.js';
import { listApiLogs } from './log-ops.js';
import type { CallLog, CallRecord } from './call-log.js';

/** Resolves to the response body (JSON text for pre-encoded operations, e.g. Check) or an `Answer` with headers. */
type Operation = (ctx: ServiceContext, caller: Caller, input: Input) => Promise<unknown>;

/**
 * A write. In cluster mode a 404 may only mean that this node had not yet applied a write acknowledged elsewhere
 * (an organisation or project just created on another node): it then catches up with the log and, if that brought
 * anything new, runs the write once more — so a write sees every write acknowledged before it on any node, and the
 * common case pays nothing. (Whatever reaches the log is decided again by every node at its position in the log.)
 */
function write(op: Operation): Operation {
  return async (ctx, caller, input) => {
    const seen = ctx.feed.applied;
    try {
      return await op(ctx, caller, input);
    } catch (err) {
      if (!(err instanceof PermioError && err.status === 404) || !(await ctx.logWaits.advancedPast(seen))) throw err;
      return op(ctx, caller, input);
    }
  };
}

/** RPC name → operation (names as in SPEC §6 and the protos; how each is served is in `api/operations.ts`). */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreatePermission: write(perms.createPermission),
  GetPermission: perms.getPermission,
  UpdatePermission: write(perms.updatePermission),
  ListPermissions: perms.listPermissions,
  DeletePermission: write(perms.deletePermission),
  CreateRole: write(perms.createRole),
  GetRole: perms.getRole,
  UpdateRole: write(perms.updateRole),
  ListRoles: perms.listRoles,
  DeleteRole: write(perms.deleteRole),
  Grant: write(grants.grant),
  Revoke: write(grants.revoke),
  ListGrants: grants.listGrants,
  Check: check,
  CreateOrganisation: write(orgs.createOrganisation),
  GetOrganisation: orgs.getOrganisation,
  ListOrganisations: orgs.listOrganisations,
  UpdateOrganisation: write(orgs.updateOrganisation),
  CreateProject: write(orgs.createProject),
  ListProjects: orgs.listProjects,
  DeleteProject: write(orgs.deleteProject),
  CreateApiKey: write(orgs.createApiKey),
  ListApiKeys: orgs.listApiKeys,
  InvalidateApiKey: write(orgs.invalidateApiKey),
  AddUser: write(orgs.addUser),
  ListUsers: orgs.listUsers,
  RemoveUser: write(orgs.removeUser),
  CreateInvitation: write(orgs.createInvitation),
  AcceptInvitation: write(orgs.acceptInvitation),
  ListApiLogs: listApiLogs,
};

export class PermioService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly limiter: RateLimiter,
    private readonly callLog: CallLog,
  ) {}

  /** Records an answered call in the API call log (asynchronously, in batches; checks sampled). */
  recordCall(call: CallRecord): void {
    this.callLog.record(call);
  }

  /** `Bearer <key>` → caller; 401 otherwise. */
  authenticate(authorization: string | undefined): Caller {
    return this.ctx.auth.authenticate(authorization);
  }

  /** Takes one request from the caller's budget: rate-limit headers to send, or a 429 error. */
  admit(caller: Caller): RateHeaders | undefined {
    return this.limiter.admit(caller);
  }

  /** Runs one RPC; resolves to the response body (see {@link Operation}), rejects with PermioError. */
  invoke(rpc: string, caller: Caller, input: Input): Promise<unknown> {
    const op = OPERATIONS[rpc];
    if (op === undefined) return Promise.reject(Errors.routeNotFound(rpc));
    return op(this.ctx, caller, input);
  }
}
