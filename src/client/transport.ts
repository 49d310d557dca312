// The one interface both transports implement: unary calls, server streams (export, watch) and client streams (import).
import { PermioError } from './errors.js';
import { RPCS, type RpcSpec } from './wire.js';

/** A JSON-shaped message: the wire's snake_case object. */
export type Message = Record<string, unknown>;

/** Import input: records (objects), or raw NDJSON text/bytes in chunks. */
export type RecordSource = Iterable<unknown> | AsyncIterable<unknown>;

/** A successful answer: the response body and the `Permio-Revision` it carried, if any. */
export interface Answer {
  readonly body: Message;
  readonly revision: string | undefined;
}

export interface Transport {
  /** One unary call; rejects with PermioError (`retryAfterMs` set when the server said when to retry). */
  unary(rpc: string, request: Message, timeoutMs: number): Promise<Answer>;
  /** A server stream (ExportProject, Watch): its messages in order; ends when the server ends it, throws PermioError. */
  serverStream(rpc: string, request: Message, signal: AbortSignal): AsyncIterable<Message>;
  /** A client stream (ImportProject): sends `request`'s fields and the source's records (objects or raw NDJSON chunks); resolves once answered. */
  clientStream(rpc: string, request: Message, source: RecordSource): Promise<Answer>;
  /** Releases connections. */
  close(): void;
}

/** `/v1/permissions/{permission_id}` → `['permission_id']`. */
export function pathParams(template: string): string[] {
  return Array.from(template.matchAll(/\{(\w+)\}/g), (m) => m[1]!);
}

/** The spec of `rpc`, or a 501 when this build's protos do not have it. */
export function rpcSpec(rpc: string): RpcSpec {
  const spec = (RPCS as Record<string, RpcSpec>)[rpc];
  if (spec === undefined) throw new PermioError(501, `Not implemented: this client's protos have no RPC ${rpc}`, [], { code: 'UNIMPLEMENTED' });
  return spec;
}
