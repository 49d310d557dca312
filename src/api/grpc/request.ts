// gRPC request → service input: the operation's size limit, proto3 defaults and proto-loader artefacts removed, UpdateRole's mask applied.
import type { Deserialize, MethodDefinition } from '@grpc/proto-loader';

/** What the bounded deserializer yields instead of a message larger than its limit; the handler answers 413. */
export const OVERSIZED: object = Object.freeze({});

/** What the deserializer yields for bytes that are not a valid message; the handler answers 400 (grpc-js would say INTERNAL). */
export const UNDECODABLE: object = Object.freeze({});

/** Wraps a request deserializer: messages above `limit` bytes are never decoded, undecodable ones are flagged. */
export function boundedDeserializer<T>(
  deserialize: Deserialize<T>,
  limit: number,
): Deserialize<T | typeof OVERSIZED | typeof UNDECODABLE> {
  return (bytes) => {
    if (bytes.length > limit) return OVERSIZED;
    try {
      return deserialize(bytes);
    } catch {
      return UNDECODABLE;
    }
  };
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
