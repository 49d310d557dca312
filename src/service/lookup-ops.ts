// PermissionsService ExplainCheck, LookupResources, LookupSubjects (SPEC §8): validate, wait for the consistency
// asked, then answer from the engine over the store's snapshot at the time of evaluation (windows judged at `now`).
import { now } from '../clock.js';
import { explainCheck } from '../engine/explain.js';
import type { GrantEntries, GrantView, RoleInfo } from '../engine/grant-view.js';
import { indexAfter, lookupResources as lookupResourcesIn, lookupSubjects as lookupSubjectsIn } from '../engine/lookup.js';
import { Errors } from '../errors.js';
import { normalizeResourceUri } from '../resource-uri.js';
import type { StoreReader } from '../store/read.js';
import type { Caller } from './caller.js';
import { answerAt, requireConsistency } from './consistency.js';
import type { ServiceContext } from './context.js';
import { encodeToken, pageRequest } from './pagination.js';
import { projectFields, projectInScope } from './scope.js';
import { checkPrincipal, checkResourceUri, optionalString, PERMISSION_NAME, requiredString, stringArray, type Input } from './validate.js';

export const MAX_EXPLAIN_PAIRS = 1_000; // SPEC §8
const SEP = '\u0001'; // never in a principal id or a URI

/** The engine's view of one project's grants, over the reader's current snapshot; roles read once per request. */
class StoreGrantView implements GrantView {
  private readonly roles = new Map<string, RoleInfo | undefined>();
  private readonly records = new Map<string, GrantEntries | undefined>();
  /** A record read had a windowed entry: the answer depends on the clock (not cacheable). */
  timed = false;

  constructor(
    private readonly reader: StoreReader,
    private readonly projectId: string,
  ) {}

  permissionId(name: string): string | undefined {
    // a name no permission can have is simply unknown (and never becomes an oversized LMDB key)
    return PERMISSION_NAME.test(name) ? this.reader.permissionIdByName(this.projectId, name) : undefined;
  }

  role(id: string): RoleInfo | undefined {
    if (!this.roles.has(id)) this.roles.set(id, this.reader.role(this.projectId, id));
    return this.roles.get(id);
  }

  grant(principal: string, uri: string): GrantEntries | undefined {
    // an explanation's resources share ancestors: each record is read once per request
    const key = principal + SEP + uri;
    if (this.records.has(key)) return this.records.get(key);
    const g = this.reader.grant(this.projectId, principal, uri);
    if (g?.w !== undefined) this.timed = true;
    this.records.set(key, g);
    return g;
  }

  *grantsUnder(principal: string, prefix: string): Iterable<readonly [string, GrantEntries]> {
    for (const entry of this.reader.principalGrantsUnder(this.projectId, principal, prefix)) {
      if (entry[1].w !== undefined) this.timed = true;
      yield entry;
    }
  }

  subjectsOn(uri: string): Iterable<string> {
    return this.reader.subjectsOn(this.projectId, uri);
  }
}

/** The permission name a lookup asks about: a string (an unknown name answers an empty list). */
const permissionName = (input: Input) => requiredString(input, 'permission');

export async function explain(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const principal = checkPrincipal('principal_id', requiredString(input, 'principal_id'));
  const uris = stringArray(input, 'resource_uris', { nonEmpty: true });
  const permissions = stringArray(input, 'permissions', { nonEmpty: true });
  const pairs = uris.length * permissions.length;
  if (pairs > MAX_EXPLAIN_PAIRS) throw Errors.tooManyExplainPairs(pairs, MAX_EXPLAIN_PAIRS);
  for (let i = 0; i < uris.length; i++) checkResourceUri('resource_uris', uris[i]!);
  const wait = requireConsistency(ctx, input);
  const p = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  const revision = ctx.feed.applied; // the reader's snapshot holds every change dispatched so far
  return answerAt(ctx, explainCheck(new StoreGrantView(ctx.reader, p.id), principal, uris, permissions, now()), revision);
}

export async function lookupResources(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const principal = checkPrincipal('principal_id', requiredString(input, 'principal_id'));
  const permission = permissionName(input);
  const prefixRaw = optionalString(input, 'resource_prefix');
  const prefix = prefixRaw ? normalizeResourceUri(checkResourceUri('resource_prefix', prefixRaw)) : '/';
  const req = pageRequest('lookup_resources', input);
  const wait = requireConsistency(ctx, input);
  const p = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  const revision = ctx.feed.applied;
  const key = ctx.lookupCache.resourcesKey(p.id, principal, permission, prefix);
  const all = answerSet(ctx, p.id, key, (view) => lookupResourcesIn(view, principal, permission, prefix, now()));
  const page = pageOf('lookup_resources', all, req);
  return answerAt(ctx, { resource_uris: page.items, next_page_token: page.next_page_token, total_items: page.total_items }, revision);
}

export async function lookupSubjects(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const uri = normalizeResourceUri(checkResourceUri('resource_uri', requiredString(input, 'resource_uri')));
  const permission = permissionName(input);
  const req = pageRequest('lookup_subjects', input);
  const wait = requireConsistency(ctx, input);
  const p = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  const revision = ctx.feed.applied;
  const key = ctx.lookupCache.subjectsKey(p.id, uri, permission);
  const all = answerSet(ctx, p.id, key, (view) => lookupSubjectsIn(view, uri, permission, now()));
  const page = pageOf('lookup_subjects', all, req);
  return answerAt(ctx, { principal_ids: page.items, next_page_token: page.next_page_token, total_items: page.total_items }, revision);
}

/** A lookup's whole answer set: from the lookup cache, or computed over the store (and cached unless it read a window). */
function answerSet(ctx: ServiceContext, projectId: string, key: string, compute: (view: GrantView) => readonly string[]): readonly string[] {
  const cached = ctx.lookupCache.get(key);
  if (cached !== undefined) return cached;
  const view = new StoreGrantView(ctx.reader, projectId);
  const all = compute(view);
  if (!view.timed) ctx.lookupCache.set(key, all);
  return all;
}

/** The page after the cursor (the last item of the previous page, compared by byte order: never skips nor repeats). */
function pageOf(kind: string, all: readonly string[], req: { size: number; after: string | number | undefined }) {
  if (typeof req.after === 'number') throw Errors.invalidField('page_token', 'unknown page token');
  const start = indexAfter(all, req.after);
  const items = all.slice(start, start + req.size);
  const more = start + req.size < all.length;
  return { items, next_page_token: more ? encodeToken(kind, items[items.length - 1]!) : '', total_items: all.length };
}
