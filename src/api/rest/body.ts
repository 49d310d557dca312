// Reads a request body with a byte limit (413 before parsing) and parses it as JSON exactly once.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, PermioError } from '../../errors.js';
import { requireObject, type Input } from '../../service/validate.js';

export const MAX_CHECK_BODY_BYTES = 16 * 1024 * 1024; // SPEC §5: /v1/check
export const MAX_BODY_BYTES = 1024 * 1024; // SPEC §5: every other route

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Collects the body (chunks are copied: uWS reuses their memory). Calls `done` with the bytes or a 413 error.
 * `declaredLength` (Content-Length) lets an oversized body be refused before it is read.
 */
export function readBody(
  res: HttpResponse,
  limit: number,
  declaredLength: number,
  done: (err: PermioError | null, body: Buffer) => void,
): void {
  if (declaredLength > limit) {
    done(Errors.payloadTooLarge(limit), Buffer.alloc(0));
    return;
  }
  let buffer = declaredLength > 0 ? Buffer.allocUnsafe(declaredLength) : Buffer.alloc(0);
  let length = 0;
  let failed = false;
  res.onData((chunk, isLast) => {
    if (failed) return;
    const bytes = new Uint8Array(chunk);
    if (length + bytes.length > limit) {
      failed = true;
      done(Errors.payloadTooLarge(limit), Buffer.alloc(0));
      return;
    }
    if (length + bytes.length > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * buffer.length, length + bytes.length)));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    buffer.set(bytes, length);
    length += bytes.length;
    if (isLast) done(null, buffer.subarray(0, length));
  });
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
