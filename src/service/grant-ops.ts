// PermissionsService operations on grants: grant, revoke, list (the check is in check.ts).
import { now } from '../clock.js';
import { Errors } from '../errors.js';
import { boundsOf } from '../store/grant-windows.js';
import type { GrantRecord } from '../store/records.js';
import { normalizeResourceUri } from '../resource-uri.js';
import type { Caller } from './caller.js';
import { answerAt, requireRevisionParam } from './consistency.js';
import type { ServiceContext } from './context.js';
import { grantWindow } from './time-window.js';
import { paginate, pageRequest } from './pagination.js';
import { projectFields, projectInScope } from './scope.js';
import { checkPrincipal, checkResourceUri, optionalString, referenceArray, requiredString, type Input } from './validate.js';

/** A valid resource URI in its stored form (no trailing '/'). */
const resourceUri = (field: string, uri: string) => normalizeResourceUri(checkResourceUri(field, uri));

async function grantOrRevoke(ctx: ServiceContext, caller: Caller, input: Input, op: 'grant' | 'revoke') {
  const fields = projectFields(caller, input);
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const uri = resourceUri('resource_uri', requiredString(input, 'resource_uri'));
  const permissions = referenceArray(input, 'permissions');
  const roles = referenceArray(input, 'roles');
  if (permissions.length === 0 && roles.length === 0) {
    throw Errors.badRequest("Invalid request: 'permissions' and 'roles' are both empty", [
      { field: 'permissions', description: 'at least one permission or role is required' },
    ]);
  }
  const window = op === 'grant' ? grantWindow(input, now()) : {};
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({
    op,
    organisation_id: p.organisation_id,
    project_name: p.name,
    project_id: p.id,
    user_id: userId,
    resource_uri: uri,
    permissions,
    roles,
    ...window,
  });
}

export const grant = (ctx: ServiceContext, caller: Caller, input: Input) => grantOrRevoke(ctx, caller, input, 'grant');
export const revoke = (ctx: ServiceContext, caller: Caller, input: Input) => grantOrRevoke(ctx, caller, input, 'revoke');

export async function listGrants(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const uriRaw = optionalString(input, 'resource_uri');
  const uri = uriRaw ? resourceUri('resource_uri', uriRaw) : undefined;
  const req = pageRequest('grants', input);
  const wait = requireRevisionParam(ctx, input);
  const p = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  const revision = ctx.feed.applied; // the reader's snapshot holds every change dispatched so far

  const at = now();
  let order = ctx.reader.grantOrder(p.id, userId);
  if (uri !== undefined) order = order.filter(([, u]) => u === uri);
  // entries whose window ended are gone within a second (the sweep); until then they are left out here
  const ended = ctx.reader.endedEntries(p.id, userId, at);
  if (ended !== undefined) order = order.filter(([, u]) => !ended.has(u) || activeView(ctx.reader.grant(p.id, userId, u)!, at).live);
  // Records are read for the page only: the order index alone gives positions and the total.
  const page = paginate('grants', order, req, ([seq]) => seq, ([, u]) => {
    const { permissions, roles, windows } = activeView(ctx.reader.grant(p.id, userId, u)!, at);
    return { user_id: userId, resource_uri: u, permissions, roles, windows };
  });
  return answerAt(ctx, { grants: page.items, next_page_token: page.next_page_token, total_items: page.total_items }, revision);
}

/** A ListGrants window (SPEC §8): which entry, and its bounds. */
type WindowView = ({ permission_id: string } | { role_id: string }) & { starts_at?: string; expires_at?: string };

/** The entries of a grant record whose window has not ended at `at` (pending ones included), with their windows. */
function activeView(g: GrantRecord, at: number): { permissions: string[]; roles: string[]; windows: WindowView[]; live: boolean } {
  const w = g.w;
  if (w === undefined) return { permissions: g.p, roles: g.r, windows: [], live: true };
  const notEnded = (id: string) => w[id]?.e === undefined || Date.parse(w[id]!.e!) > at;
  const permissions = g.p.filter(notEnded);
  const roles = g.r.filter(notEnded);
  const windows: WindowView[] = [
    ...permissions.filter((id) => w[id] !== undefined).map((id) => ({ permission_id: id, ...boundsOf(w[id]) })),
    ...roles.filter((id) => w[id] !== undefined).map((id) => ({ role_id: id, ...boundsOf(w[id]) })),
  ];
  return { permissions, roles, windows, live: permissions.length + roles.length > 0 };
}
