// PermissionsService operations on grants (grant, revoke, list) and the batch check.
import { Errors } from '../errors.js';
import { observeCheck, observeCheckCache } from '../metrics.js';
import { URI_SEPARATOR } from '../engine/check.js';
import { normalizeResourceUri, validateResourceUri } from '../engine/uri.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { paginate, pageRequest } from './pagination.js';
import { projectFields, projectInScope } from './scope.js';
import { checkPrincipal, optionalString, referenceArray, requiredString, stringArray, type Input } from './validate.js';

export const MAX_CHECK_PAIRS = 10_000; // SPEC §4

function resourceUri(field: string, uri: string): string {
  const why = validateResourceUri(uri);
  if (why !== null) throw Errors.invalidField(field, `invalid resource URI '${uri}': ${why}`);
  return normalizeResourceUri(uri);
}

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
  const p = projectInScope(ctx, caller, fields);

  let order = ctx.reader.grantOrder(p.id, userId);
  if (uri !== undefined) order = order.filter(([, u]) => u === uri);
  // Records are read for the page only: the order index alone gives positions and the total.
  const page = paginate('grants', order, req, ([seq]) => seq, ([, u]) => {
    const g = ctx.reader.grant(p.id, userId, u)!;
    return { user_id: userId, resource_uri: u, permissions: g.p, roles: g.r };
  });
  return { grants: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

/** Validates a check request; resolves to the response body as JSON text, built by the owning worker. */
export async function checkJson(ctx: ServiceContext, caller: Caller, input: Input): Promise<string> {
  const fields = projectFields(caller, input);
  const principal = checkPrincipal('principal_id', requiredString(input, 'principal_id'));
  const uris = stringArray(input, 'resource_uris', { nonEmpty: true });
  const permissions = stringArray(input, 'permissions', { nonEmpty: true });
  const pairs = uris.length * permissions.length;
  if (pairs > MAX_CHECK_PAIRS) throw Errors.tooManyPairs(pairs, MAX_CHECK_PAIRS);
  for (let i = 0; i < uris.length; i++) {
    const why = validateResourceUri(uris[i]!);
    if (why !== null) throw Errors.invalidField('resource_uris', `invalid resource URI '${uris[i]}': ${why}`);
  }
  const p = projectInScope(ctx, caller, fields);
  observeCheck(pairs);
  const joined = uris.length === 1 ? uris[0]! : uris.join(URI_SEPARATOR);
  const key = ctx.checkCache.keyOf(p.id, principal, joined, permissions);
  const cached = key === undefined ? undefined : ctx.checkCache.get(key);
  observeCheckCache(key === undefined ? 'uncached' : cached === undefined ? 'miss' : 'hit');
  if (cached !== undefined) return cached; // no thread hop: answered in this request's microtasks
  const answer = await ctx.pool.check(p.id, principal, joined, permissions);
  if (key !== undefined) ctx.checkCache.set(key, answer); // keyed at the version it was asked at: never stale
  return answer;
}

export async function check(ctx: ServiceContext, caller: Caller, input: Input): Promise<unknown> {
  return JSON.parse(await checkJson(ctx, caller, input));
}
