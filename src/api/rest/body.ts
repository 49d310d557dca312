// Reads a request body with a byte limit (its operation's, 413 before parsing) and parses it as JSON exactly once.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, PermioError } from '../../errors.js';
import { requireObject, type Input } from '../../service/validate.js';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../request-bounds.js';
import { JsonGuard, type GuardVerdict } from './json-guard.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Past the limit, this much more is read and dropped before answering 413, so a client that writes its
 * whole body before reading sees the answer instead of a reset; beyond it the connection is cut short.
 */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * Collects the body (chunks are copied: uWS reuses their memory). Calls `done` once, with the bytes or an error.
 * An oversized body (by Content-Length or as it streams) is drained, not stored, and then refused (413); so is one
 * the `guard` refuses as it arrives (400: too deep, too many items, a lone surrogate — SPEC §13).
 */
export function readBody(
  res: HttpResponse,
  limit: number,
  declaredLength: number,
  done: (err: PermioError | null, body: Buffer) => void,
  guard?: JsonGuard,
): void {
  let refused: PermioError | undefined = declaredLength > limit ? Errors.payloadTooLarge(limit) : undefined;
  let buffer = declaredLength > 0 && refused === undefined ? Buffer.allocUnsafe(declaredLength) : EMPTY;
  let length = 0;
  let received = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    received += chunk.byteLength;
    if (refused === undefined && length + chunk.byteLength > limit) refused = Errors.payloadTooLarge(limit);
    const bytes = Buffer.from(chunk); // a view, not a copy; Buffer#indexOf is memchr (the guard jumps through strings with it)
    if (refused === undefined && guard !== undefined) refused = guardError(guard.feed(bytes));
    if (refused !== undefined) {
      buffer = EMPTY;
      if (isLast || received > limit + MAX_DISCARD_BYTES) {
        finished = true;
        done(refused, EMPTY);
      }
      return;
    }
    if (length + bytes.length > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * buffer.length, length + bytes.length)));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    buffer.set(bytes, length);
    length += bytes.length;
    if (isLast) {
      finished = true;
      done(null, buffer.subarray(0, length));
    }
  });
}

function guardError(verdict: GuardVerdict): PermioError | undefined {
  if (verdict === null) return undefined;
  if (verdict === 'too-deep') return Errors.jsonTooDeep(MAX_REQUEST_DEPTH);
  if (verdict === 'too-many-items') return Errors.jsonTooManyItems(MAX_REQUEST_ITEMS);
  return Errors.notWellFormed('a string (a lone surrogate escape)');
}

/**
 * Reads and drops a body we refuse before parsing it (401, 404, 405, 429), then calls `done`: answering
 * only once the client has finished sending keeps it from seeing a reset instead of the error.
 */
export function drainBody(res: HttpResponse, done: () => void): void {
  readBody(res, 0, 0, () => done());
}

/**
 * UTF-8 + JSON.parse once; an empty body is `{}`. Anything but a JSON object → 400. The SPEC §13 bounds are checked
 * first, unless `scanned` says a {@link JsonGuard} already saw these bytes as they arrived (readBody's `guard`).
 */
export function parseJsonObject(body: Uint8Array, scanned = false): Input {
  if (body.length === 0) return {};
  if (!scanned) {
    const refused = guardError(new JsonGuard().feed(body));
    if (refused !== undefined) throw refused;
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw Errors.badJson();
  }
  return requireObject(value);
}
