// gRPC request → service input: the operation's size limit, proto3 defaults and proto-loader artefacts removed, UpdateRole's mask applied.
import type { Deserialize, MethodDefinition } from '@grpc/proto-loader';
import { Errors, type PermioError } from '../../errors.js';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../request-bounds.js';
import type { WireVerdict } from './wire-guard.js';

/**
 * What the bounded deserializer yields instead of a message it refuses; the handler throws `error` once the caller
 * is authenticated (SPEC §5 order): grpc-js would answer a throwing deserializer with INTERNAL.
 */
export class RefusedRequest {
  constructor(readonly error: PermioError) {}
}

/**
 * Wraps a request deserializer: messages above `limit` bytes are never decoded (413), nor those `guard` refuses
 * (400, SPEC §13); undecodable ones are a 400 too.
 */
export function boundedDeserializer<T>(
  deserialize: Deserialize<T>,
  limit: number,
  guard: (bytes: Uint8Array) => WireVerdict,
  rpc: string,
): Deserialize<T | RefusedRequest> {
  return (bytes) => {
    if (bytes.length > limit) return new RefusedRequest(Errors.payloadTooLarge(limit));
    const verdict = guard(bytes);
    if (verdict !== null) return new RefusedRequest(wireError(verdict));
    try {
      return deserialize(bytes);
    } catch {
      return new RefusedRequest(Errors.badRequest(`Invalid request: the message does not decode as ${rpc}Request`));
    }
  };
}

function wireError(verdict: Exclude<WireVerdict, null>): PermioError {
  if (verdict === 'not-utf8') return Errors.notWellFormed('a string field (its bytes are not UTF-8)');
  if (verdict === 'too-many-fields') return Errors.jsonTooManyItems(MAX_REQUEST_ITEMS);
  if (verdict === 'too-deep') return Errors.jsonTooDeep(MAX_REQUEST_DEPTH);
  return Errors.badRequest('Invalid request: groups are not part of proto3 messages');
}

/** The names of the request message's oneofs: proto-loader (`oneofs: true`) adds them as virtual fields, e.g. `_name: 'name'`. */
export function virtualFields(method: MethodDefinition<object, object>): readonly string[] {
  const type = method.requestType.type as { oneofDecl?: { name: string }[] };
  return (type.oneofDecl ?? []).map((o) => o.name);
}

/** proto3 defaults: on the wire an unset scalar and one set to its default are the same thing (protobufjs sends them, others don't). */
const isScalarDefault = (v: unknown) => v === '' || v === 0 || v === false;

/**
 * The decoded request → the JSON-shaped input of `service.invoke`, so the service sees what the REST body would say:
 * - virtual oneof fields are dropped, after telling which `optional` fields were set (those are kept, even if empty);
 * - other scalars at their default (`''`, `0`, `false`) count as absent, whichever client encoded them;
 * - UpdateRole: `update_mask` is consumed, and an empty `permissions` list is dropped (= unchanged) unless the mask
 *   names `permissions` (= clear the set).
 */
export function toServiceInput(rpc: string, request: object, virtual: readonly string[]): Record<string, unknown> {
  const input: Record<string, unknown> = { ...request };
  const explicit = new Set(virtual.map((name) => input[name]));
  for (const name of virtual) delete input[name];
  for (const [field, value] of Object.entries(input)) {
    if (isScalarDefault(value) && !explicit.has(field)) delete input[field];
  }
  if (rpc === 'UpdateRole') {
    const paths = (input.update_mask as { paths?: string[] } | undefined)?.paths ?? [];
    delete input.update_mask;
    const permissions = input.permissions as string[] | undefined;
    if (permissions?.length === 0 && !paths.includes('permissions')) delete input.permissions;
  }
  return input;
}
