// The Watch operation (SPEC §7): validates a subscription request, resolves its project in the caller's scope and
// opens the subscription on the hub. Both transports call it once per stream (REST: the WebSocket's first message).
import { Errors } from '../errors.js';
import { normalizeResourceUri } from '../resource-uri.js';
import type { Caller } from './caller.js';
import { reach } from './consistency.js';
import type { ServiceContext } from './context.js';
import { projectFields, projectInScope } from './scope.js';
import { checkPrincipal, checkResourceUri, optionalString, type Input } from './validate.js';
import type { Subscription, WatchFilter, WatchHub, WatchSink } from './watch-hub.js';

/**
 * `{organisation_id?, project_name, after_revision?, user_id?, resource_prefix?}` → a subscription writing to `sink`.
 * Rejects with 400 (bad field, malformed or never-issued token, a revision no longer retained), 403, 404; cluster
 * mode: a token ahead of this node is waited for (then 503).
 */
export async function watch(ctx: ServiceContext, hub: WatchHub, caller: Caller, input: Input, sink: WatchSink): Promise<Subscription> {
  const fields = projectFields(caller, input);
  const token = optionalString(input, 'after_revision') || undefined;
  const after = token === undefined ? undefined : ctx.tokens.decode('after_revision', token);
  const userId = optionalString(input, 'user_id') || undefined;
  if (userId !== undefined) checkPrincipal('user_id', userId);
  const prefixRaw = optionalString(input, 'resource_prefix') || undefined;
  const filter: WatchFilter = {
    ...(userId === undefined ? {} : { userId }),
    ...(prefixRaw === undefined ? {} : { prefix: normalizeResourceUri(checkResourceUri('resource_prefix', prefixRaw)) }),
  };
  const wait = after === undefined ? undefined : reach(ctx, 'after_revision', after);
  const project = projectInScope(ctx, caller, fields);
  if (wait !== undefined) await wait;
  if (after !== undefined) {
    const oldest = ctx.changeLog.replayableAfter();
    if (after < oldest) throw Errors.revisionNotRetained(token!, ctx.tokens.encode(oldest));
  }
  return hub.subscribe(project.id, filter, sink, after);
}
