// PermioError, the HTTP-status → gRPC-code table and the named error factories.
import { status as GrpcStatus } from '@grpc/grpc-js';

/** One error type for both transports: `status` is the HTTP status, `details` an optional array. */
export class PermioError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown[],
    /** Extra response headers / gRPC metadata (rate-limit state on a 429). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'PermioError';
  }
}

/** `{"error":{"code","message","details"}}` (SPEC §5): the REST error body, also what gRPC carries in its trailer and
 * what the call log records. */
export function errorBody(e: Pick<PermioError, 'status' | 'message' | 'details'>): string {
  const error: Record<string, unknown> = { code: e.status, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  return JSON.stringify({ error });
}

/** HTTP status → gRPC status code (SPEC §5). */
export const GRPC_CODE_BY_STATUS: Readonly<Record<number, GrpcStatus>> = Object.freeze({
  400: GrpcStatus.INVALID_ARGUMENT,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.NOT_FOUND,
  405: GrpcStatus.UNIMPLEMENTED,
  409: GrpcStatus.ALREADY_EXISTS,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  429: GrpcStatus.RESOURCE_EXHAUSTED,
  431: GrpcStatus.RESOURCE_EXHAUSTED, // REST only: a request head over its limit
  500: GrpcStatus.INTERNAL,
  503: GrpcStatus.UNAVAILABLE,
});

/** HTTP status → the gRPC status code sent for it (SPEC §5); a status outside the table is INTERNAL. */
export function grpcCodeFor(status: number): GrpcStatus {
  return GRPC_CODE_BY_STATUS[status] ?? GrpcStatus.INTERNAL;
}

/** A plain, postMessage-safe error (classes do not survive structured clone). */
export interface WireError {
  ok: false;
  status: number;
  message: string;
  details?: unknown[];
}

/** Turns a worker's plain error reply back into a PermioError. */
export function fromWire(e: WireError): PermioError {
  return new PermioError(e.status, e.message, e.details);
}

/**
 * Any thrown value → a PermioError; anything else becomes a generic 500. It does not log: the transport that
 * renders the error logs the cause of a 500 (it is never sent).
 */
export function toPermioError(err: unknown): PermioError {
  if (err instanceof PermioError) return err;
  return Errors.internal();
}

export const Errors = {
  badRequest: (message: string, details?: unknown[]) => new PermioError(400, message, details),
  missingField: (field: string) =>
    new PermioError(400, `Invalid request: Missing required field '${field}'`, [
      { field, description: 'This field is required' },
    ]),
  invalidField: (field: string, description: string) =>
    new PermioError(400, `Invalid request: Invalid field '${field}': ${description}`, [{ field, description }]),
  badJson: () => new PermioError(400, 'Invalid request: body is not valid JSON'),
  /** SPEC §13: refused before parsing. */
  jsonTooDeep: (limit: number) =>
    new PermioError(400, `Invalid request: JSON nested more than ${limit} levels deep`, [{ max_depth: limit }]),
  jsonTooManyItems: (limit: number) =>
    new PermioError(400, `Invalid request: the body holds more than ${limit} JSON members and elements`, [{ max_items: limit }]),
  /** SPEC §13: a lone surrogate (JSON `\ud800`), or bytes that are not UTF-8 (gRPC, query strings). */
  notWellFormed: (where: string) => new PermioError(400, `Invalid request: ${where} is not well-formed Unicode`),
  unauthenticated: (why = 'Missing or invalid API key') => new PermioError(401, `Unauthenticated: ${why}`),
  forbidden: (why: string) => new PermioError(403, `Permission denied: ${why}`),
  notFound: (what: string, id: string) =>
    new PermioError(404, `Not found: ${what} '${id}' does not exist`, [{ resource: what, id }]),
  /** The token is a secret: never echoed. */
  unknownInvitation: () => new PermioError(404, 'Not found: no such invitation (unknown, used or withdrawn token)', [{ resource: 'invitation' }]),
  routeNotFound: (path: string) => new PermioError(404, `Not found: no route for '${path}'`),
  methodNotAllowed: (method: string, path: string, allowed: readonly string[]) =>
    new PermioError(405, `Method not allowed: ${method} ${path}`, [{ allowed_methods: allowed }]),
  conflict: (what: string, name: string) =>
    new PermioError(409, `Already exists: ${what} '${name}'`, [{ resource: what, name }]),
  /** REST (SPEC §13): the request line (path and query) over its limit. */
  headTooLarge: (bytes: number, limit: number) =>
    new PermioError(431, `Request header fields too large: the request line is ${bytes} bytes, over ${limit}`, [
      { field: 'request_line', limit_bytes: limit },
    ]),
  payloadTooLarge: (limit: number) =>
    new PermioError(413, `Payload too large: the body exceeds ${limit} bytes`, [{ limit_bytes: limit }]),
  unknownPermissions: (ids: readonly string[]) =>
    new PermioError(400, `Invalid request: unknown permissions: ${ids.join(', ')}`, [{ unknown_permissions: ids }]),
  unknownRoles: (ids: readonly string[]) =>
    new PermioError(400, `Invalid request: unknown roles: ${ids.join(', ')}`, [{ unknown_roles: ids }]),
  tooManyPairs: (count: number, limit: number) =>
    new PermioError(400, `Invalid request: ${count} resource × permission pairs exceeds the limit of ${limit}`, [
      { limit, count },
    ]),
  /** ExplainCheck (SPEC §8): at most `limit` pairs are explained. */
  tooManyExplainPairs: (count: number, limit: number) =>
    new PermioError(400, `Invalid request: ${count} resource × permission pairs exceeds the limit of ${limit} pairs ExplainCheck explains (${limit.toLocaleString('en-US')})`, [
      { limit, count },
    ]),
  rateLimited: (retryAfterSeconds: number, headers: Record<string, string>) =>
    new PermioError(429, `Rate limit exceeded. Please retry after ${retryAfterSeconds} seconds.`, undefined, {
      ...headers,
      'retry-after': String(retryAfterSeconds),
    }),
  unavailable: (why: string) => new PermioError(503, `Unavailable: ${why}`),
  /** Cluster mode (SPEC §7): this node has not applied the asked revision in time; both are tokens. */
  revisionNotApplied: (wanted: string, applied: string) =>
    new PermioError(503, `Unavailable: this node has not applied revision ${wanted} yet`, [
      { revision_wanted: wanted, revision_applied: applied },
    ]),
  /** Watch (SPEC §7): `after_revision` is older than what the change log keeps; details give both tokens. */
  revisionNotRetained: (after: string, oldest: string) =>
    new PermioError(400, `Invalid request: revision no longer retained: ${after} is older than the change log keeps`, [
      { field: 'after_revision', description: 'revision no longer retained', replayable_after: oldest },
    ]),
  /** Watch (SPEC §7): the watcher left more than `limit` bytes unread, so it was cut off (429-shaped). */
  slowConsumer: (limit: number) =>
    new PermioError(429, `Slow consumer: the watcher left more than ${limit} bytes unread and was disconnected`, [
      { limit_bytes: limit },
    ]),
  internal: () => new PermioError(500, 'Internal error'),
};
