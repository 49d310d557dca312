// PermissionsService operations on grants: grant, revoke, list (the check is in check.ts).
import { Errors } from '../errors.js';
import { normalizeResourceUri } from '../resource-uri.js';
import type { Caller } from './caller.js';
import { answerAt, requireRevisionParam } from './consistency.js';
import type { ServiceContext } from './context.js';
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

  let order = ctx.reader.grantOrder(p.id, userId);
  if (uri !== undefined) order = order.filter(([, u]) => u === uri);
  // Records are read for the page only: the order index alone gives positions and the total.
  const page = paginate('grants', order, req, ([seq]) => seq, ([, u]) => {
    const g = ctx.reader.grant(p.id, userId, u)!;
    return { user_id: userId, resource_uri: u, permissions: g.p, roles: g.r };
  });
  return answerAt(ctx, { grants: page.items, next_page_token: page.next_page_token, total_items: page.total_items }, revision);
}
