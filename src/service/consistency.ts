// Consistency of grant-evaluating reads (SPEC §7): what a read asks for (`consistency` in its body, `at_least_revision`
// as ListGrants' parameter), making sure the answer reflects it, and the revision an answer carries.
import { Errors } from '../errors.js';
import { Answer } from './answer.js';
import type { ServiceContext } from './context.js';
import { notIssued } from './revision-token.js';
import type { Input } from './validate.js';

/** Absent, as proto3 reads it: an empty token is no token (like an empty `page_token`). */
const isAbsent = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Reads the body's `consistency` — `{at_least_revision: token}` or `{fully_consistent: true}` — (400 when malformed)
 * and returns what to wait for before evaluating, or undefined when the node already reflects it (always on a
 * single node). Call with the other field checks, before scope checks.
 */
export function requireConsistency(ctx: ServiceContext, input: Input): Promise<void> | undefined {
  const c = input.consistency;
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c)) throw Errors.invalidField('consistency', 'must be an object');
  const { at_least_revision: token, fully_consistent: full } = c as Record<string, unknown>;
  if (full !== undefined && full !== null && typeof full !== 'boolean') throw Errors.invalidField('consistency.fully_consistent', 'must be a boolean');
  if (!isAbsent(token)) {
    if (full === true) throw Errors.invalidField('consistency', 'give either at_least_revision or fully_consistent, not both');
    return reach(ctx, 'consistency.at_least_revision', ctx.tokens.decode('consistency.at_least_revision', token));
  }
  // Single node: every acknowledged write is applied already. Cluster mode: everything the log holds now.
  return full === true && ctx.config.cluster ? ctx.logWaits.current() : undefined;
}

/** Reads the `at_least_revision` parameter (ListGrants); the same contract as {@link requireConsistency}. */
export function requireRevisionParam(ctx: ServiceContext, input: Input): Promise<void> | undefined {
  const token = input.at_least_revision;
  if (isAbsent(token)) return undefined;
  return reach(ctx, 'at_least_revision', ctx.tokens.decode('at_least_revision', token));
}

/**
 * Resolves once this node has applied `revision`; undefined when it already has. Single node: every revision this
 * server issued is applied before it is issued, so one ahead of `feed.applied` was never issued (400). Cluster mode:
 * another node may have issued it; waits up to PERMIO_CONSISTENCY_WAIT_MS, then 503 (SPEC §7, §12).
 */
export function reach(ctx: ServiceContext, field: string, revision: number): Promise<void> | undefined {
  if (revision <= ctx.feed.applied) return undefined;
  if (ctx.config.cluster) return ctx.logWaits.applied(revision);
  throw notIssued(field);
}

/** `body` with the `permio-revision` of the revision it reflects (default: every change dispatched so far). */
export function answerAt<B>(ctx: ServiceContext, body: B, revision = ctx.feed.applied): Answer<B> {
  return new Answer(body, ctx.tokens.headers(revision));
}
