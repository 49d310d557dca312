// The one service layer both transports call: authenticate, rate-limit, then run an operation by RPC name.
import { Errors } from '../errors.js';
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
