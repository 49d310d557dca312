// PermissionsService.Check (SPEC §4, §7): validate, answer from the check cache or the project's worker, as JSON text
// with the revision the answer reflects.
import { now } from '../clock.js';
import { Errors } from '../errors.js';
import { observeCheck, observeCheckCache } from '../metrics.js';
import { URI_SEPARATOR } from '../worker/check-protocol.js';
import type { Answer } from './answer.js';
import type { Caller } from './caller.js';
import { answerAt, requireConsistency } from './consistency.js';
import type { ServiceContext } from './context.js';
import { projectFields, projectInScope } from './scope.js';
import { checkPrincipal, checkResourceUri, requiredString, stringArray, type Input } from './validate.js';

export const MAX_CHECK_PAIRS = 10_000; // SPEC §4

/** Validates a check request; resolves to the response body as JSON text, built by the owning worker, and its revision. */
export async function check(ctx: ServiceContext, caller: Caller, input: Input): Promise<Answer<string>> {
  const fields = projectFields(caller, input);
  const principal = checkPrincipal('principal_id', requiredString(input, 'principal_id'));
  const uris = stringArray(input, 'resource_uris', { nonEmpty: true });
  const permissions = stringArray(input, 'permissions', { nonEmpty: true });
  const pairs = uris.length * permissions.length;
  if (pairs > MAX_CHECK_PAIRS) throw Errors.tooManyPairs(pairs, MAX_CHECK_PAIRS);
  for (let i = 0; i < uris.length; i++) checkResourceUri('resource_uris', uris[i]!);
  const wait = input.consistency === undefined ? undefined : requireConsistency(ctx, input);
  const p = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  observeCheck(pairs);
  const revision = ctx.feed.applied; // carried, not looked up: every change up to it is queued ahead of this check
  const joined = uris.length === 1 ? uris[0]! : uris.join(URI_SEPARATOR);
  const key = ctx.checkCache.keyOf(p.id, principal, joined, permissions);
  const cached = key === undefined ? undefined : ctx.checkCache.get(key);
  observeCheckCache(key === undefined ? 'uncached' : cached === undefined ? 'miss' : 'hit');
  // no thread hop: answered in this request's microtasks; the entry is current, so it is the answer at `revision`
  if (cached !== undefined) return answerAt(ctx, cached, revision);
  const answer = await ctx.pool.check(p.id, principal, joined, permissions, now());
  // a principal holding a time-bounded grant is answered by its worker every time: the clock alone may flip it
  if (typeof answer !== 'string') return answerAt(ctx, answer[0], revision);
  if (key !== undefined) ctx.checkCache.set(key, answer); // keyed at the version it was asked at: never stale
  return answerAt(ctx, answer, revision);
}
