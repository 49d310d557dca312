// Shared gRPC e2e assertions: the status code of SPEC §5 and the REST error body carried in the `permio-error` trailer.
import { expect } from 'vitest';
import { GRPC_CODE_BY_STATUS } from '../../src/errors.js';
import type { GrpcResult } from './grpc-client.js';

const STACK_TRACE = /\n\s+at |node:internal|\/src\/[\w/-]+\.[jt]s|\.[jt]s:\d+:\d+/;

/** A result printed into assertion messages (truncated). */
export function showGrpc(res: GrpcResult): string {
  const text = JSON.stringify(res.body) ?? 'undefined';
  return `code ${res.code} ${res.message} ${text.length > 600 ? text.slice(0, 600) + '…' : text}`;
}

/** Asserts OK and returns the response. */
export function grpcOk<T = any>(res: GrpcResult<T>): T {
  expect(res.code, showGrpc(res)).toBe(0);
  return res.body;
}

/**
 * Asserts the gRPC code mapped from HTTP `status`, the same message in the status and in the trailer, the trailer body
 * `{"error":{"code":status,"message":"…","details":[…]?}}` and no stack trace. `mentions`: strings the message or
 * details must contain (field names, ids).
 */
export function expectGrpcError(res: GrpcResult, status: number, mentions: readonly string[] = []): void {
  expect(res.code, showGrpc(res)).toBe(GRPC_CODE_BY_STATUS[status]);
  expect(res.body, showGrpc(res)).not.toBeNull();
  expect(Object.keys(res.body), showGrpc(res)).toEqual(['error']);
  const e = res.body.error;
  expect(Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'details'), showGrpc(res)).toEqual([]);
  expect(e.code, showGrpc(res)).toBe(status);
  expect(e.message, showGrpc(res)).toBe(res.message);
  expect(e.message.length, showGrpc(res)).toBeGreaterThan(0);
  if ('details' in e) expect(Array.isArray(e.details), showGrpc(res)).toBe(true);
  expect(JSON.stringify(res.body), showGrpc(res)).not.toMatch(STACK_TRACE);
  const text = `${e.message} ${JSON.stringify(e.details ?? [])}`;
  for (const m of mentions) expect(text, `error should mention ${JSON.stringify(m)}: ${showGrpc(res)}`).toContain(m);
}
