// Errors → gRPC status (SPEC §5), the only place it is built: the mapped code, the same message, and the REST error
// body (rendered by rest/reply.ts) in trailing metadata.
import { Metadata, type ServerErrorResponse } from '@grpc/grpc-js';
import { grpcCodeFor, toPermioError } from '../../errors.js';
import { errorBody } from '../rest/reply.js';

/**
 * Trailing-metadata key of every error answer. Its value is the REST error body,
 * `{"error":{"code":<HTTP status>,"message":"…","details":[…]}}`, as JSON with every non-ASCII character
 * escaped (`\u2013`), since plain metadata values must be printable ASCII; `JSON.parse` restores it exactly.
 */
export const ERROR_METADATA_KEY = 'permio-error';

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;

/** JSON text with everything outside printable ASCII escaped, so it is a legal metadata value. */
function asciiJson(json: string): string {
  return json.replace(NOT_PRINTABLE_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Trailers travel as HTTP/2 headers: past the peer's header-list limit a grpc-js client is left hanging (a Grant
 * naming 5,000 unknown permissions did), and C-core clients refuse metadata above 8 KiB by default. So the status
 * message is cut at {@link MAX_STATUS_MESSAGE_CHARS} and the trailer loses its `details` past
 * {@link MAX_ERROR_TRAILER_CHARS}, keeping all trailers well under 8 KiB; REST still sends them whole.
 */
export const MAX_STATUS_MESSAGE_CHARS = 1024;
/** See {@link MAX_STATUS_MESSAGE_CHARS}. */
export const MAX_ERROR_TRAILER_CHARS = 4096;

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The {@link ERROR_METADATA_KEY} value: the REST error body, without `details` if they would not fit. */
function errorTrailer(status: number, message: string, details: unknown[] | undefined): string {
  const full = asciiJson(errorBody({ status, message, details }));
  return full.length <= MAX_ERROR_TRAILER_CHARS ? full : asciiJson(errorBody({ status, message, details: undefined }));
}

/**
 * Any thrown value → the error a grpc-js unary callback expects. A PermioError keeps its message, gets the code
 * of `grpcCodeFor(status)`, the {@link ERROR_METADATA_KEY} trailer and its extra headers (`retry-after`,
 * `x-ratelimit-*`) as trailers too; anything else becomes INTERNAL "Internal error".
 */
export function toServiceError(err: unknown): ServerErrorResponse {
  const e = toPermioError(err);
  const message = truncate(e.message, MAX_STATUS_MESSAGE_CHARS);
  const metadata = new Metadata();
  metadata.set(ERROR_METADATA_KEY, errorTrailer(e.status, message, e.details));
  for (const [key, value] of Object.entries(e.headers ?? {})) metadata.set(key.toLowerCase(), value);
  return Object.assign(new Error(message), { code: grpcCodeFor(e.status), details: message, metadata });
}
