// Errors → gRPC status (SPEC §5): the mapped code, the same message, and the REST error body in trailing metadata.
import { Metadata, type ServerErrorResponse } from '@grpc/grpc-js';
import { grpcCodeFor, toPermioError } from '../../errors.js';

/**
 * Trailing-metadata key of every error answer. Its value is the REST error body,
 * `{"error":{"code":<HTTP status>,"message":"…","details":[…]}}`, as JSON with every non-ASCII character
 * escaped (`\u2013`), since plain metadata values must be printable ASCII; `JSON.parse` restores it exactly.
 */
export const ERROR_METADATA_KEY = 'permio-error';

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;

/** `JSON.stringify` that escapes everything outside printable ASCII, so the result is a legal metadata value. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_PRINTABLE_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Any thrown value → the error a grpc-js unary callback expects. A PermioError keeps its message, gets the code
 * of `grpcCodeFor(status)`, the {@link ERROR_METADATA_KEY} trailer and its extra headers (`retry-after`,
 * `x-ratelimit-*`) as trailers too; anything else becomes INTERNAL "Internal error".
 */
export function toServiceError(err: unknown): ServerErrorResponse {
  const e = toPermioError(err);
  const metadata = new Metadata();
  const body = { code: e.status, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) };
  metadata.set(ERROR_METADATA_KEY, asciiJson({ error: body }));
  for (const [key, value] of Object.entries(e.headers ?? {})) metadata.set(key.toLowerCase(), value);
  return Object.assign(new Error(e.message), { code: grpcCodeFor(e.status), details: e.message, metadata });
}
