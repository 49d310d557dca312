// Reads a request body with a byte limit (its operation's, 413 before parsing) and parses it as JSON exactly once.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, PermioError } from '../../errors.js';
import { requireObject, type Input } from '../../service/validate.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Past the limit, this much more is read and dropped before answering 413, so a client that writes its
 * whole body before reading sees the answer instead of a reset; beyond it the connection is cut short.
 */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * Collects the body (chunks are copied: uWS reuses their memory). Calls `done` once, with the bytes or a 413.
 * An oversized body (by Content-Length or as it streams) is drained, not stored, and then refused.
 */
export function readBody(
  res: HttpResponse,
  limit: number,
  declaredLength: number,
  done: (err: PermioError | null, body: Buffer) => void,
): void {
  let oversized = declaredLength > limit;
  let buffer = declaredLength > 0 && !oversized ? Buffer.allocUnsafe(declaredLength) : EMPTY;
  let length = 0;
  let received = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    received += chunk.byteLength;
    if (!oversized && length + chunk.byteLength > limit) {
      oversized = true;
      buffer = EMPTY;
    }
    if (oversized) {
      if (isLast || received > limit + MAX_DISCARD_BYTES) {
        finished = true;
        done(Errors.payloadTooLarge(limit), EMPTY);
      }
      return;
    }
    const bytes = new Uint8Array(chunk);
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

/**
 * Reads and drops a body we refuse before parsing it (401, 404, 405, 429), then calls `done`: answering
 * only once the client has finished sending keeps it from seeing a reset instead of the error.
 */
export function drainBody(res: HttpResponse, done: () => void): void {
  readBody(res, 0, 0, () => done());
}

/** UTF-8 + JSON.parse once; an empty body is `{}`. Anything but a JSON object → 400. */
export function parseJsonObject(body: Buffer): Input {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw Errors.badJson();
  }
  return requireObject(value);
}
