// One API client per transport with the REST client's interface (method, path?query, JSON body): over REST the request
// is sent as is; over gRPC it is transcoded the way the server maps REST to RPCs (the operation table's routes; path
// parameters over body fields over the query) and sent to the real gRPC port. Results share one shape, so a case is
// written once and run over both transports (hono's common.case.test.ts pattern).
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/api/grpc/proto.js';
import { OPERATIONS, type Operation } from '../../src/api/operations.js';
import { Router } from '../../src/api/rest/router.js';
import { grpcClient, type GrpcClient } from './grpc-client.js';
import { client, type HttpResult } from './http.js';

export type Transport = 'rest' | 'grpc';
export const TRANSPORTS: readonly Transport[] = ['rest', 'grpc'];

export interface ApiResult<T = any> extends HttpResult<T> {
  transport: Transport;
  /** Over gRPC: the status code and message as received (the body is the `permio-error` trailer's error body). */
  grpc?: { code: grpc.status; message: string };
  /**
   * Why this request cannot travel over this transport (a JSON type its proto field cannot hold, a raw body, a route
   * only REST has); nothing was sent and `status` is 0. `expectError` accepts it; `ok` refuses it.
   */
  inexpressible?: string;
}

export interface ApiClient {
  readonly transport: Transport;
  call<T = any>(method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<ApiResult<T>>;
  get<T = any>(path: string): Promise<ApiResult<T>>;
  post<T = any>(path: string, body?: unknown): Promise<ApiResult<T>>;
  patch<T = any>(path: string, body?: unknown): Promise<ApiResult<T>>;
  del<T = any>(path: string, body?: unknown): Promise<ApiResult<T>>;
}

/** What a test server offers: its two addresses. */
export interface Endpoints {
  httpUrl: string;
  grpcAddress: string;
}

const router = new Router(OPERATIONS);
const open: GrpcClient[] = [];

/** A client of `server` over `transport`, authenticating with `key` (none: no credentials). */
export function apiClient(server: Endpoints, transport: Transport, key?: string): ApiClient {
  const call = transport === 'rest' ? restCall(server.httpUrl, key) : grpcCall(server.grpcAddress, key);
  return {
    transport,
    call,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    patch: (path, body) => call('PATCH', path, body ?? {}),
    del: (path, body) => call('DELETE', path, body),
  };
}

/** Closes every gRPC channel opened by {@link apiClient} (call it in `afterAll`). */
export function closeApiClients(): void {
  for (const c of open.splice(0)) c.close();
}

function restCall(baseUrl: string, key: string | undefined): ApiClient['call'] {
  const http = client(baseUrl, key);
  return async (method, path, body, extraHeaders) => ({ ...(await http.call(method, path, body, extraHeaders)), transport: 'rest' });
}

function grpcCall(address: string, key: string | undefined): ApiClient['call'] {
  let rpcClient: GrpcClient | undefined;
  return async (method, path, body, extraHeaders) => {
    const request = transcode(method, path, body);
    if (typeof request === 'string') return { status: 0, body: undefined, headers: new Headers(), transport: 'grpc', inexpressible: request };
    if (rpcClient === undefined) open.push((rpcClient = grpcClient(address, key)));
    const res = await rpcClient.call(request.rpc, request.message, { metadata: extraHeaders });
    const headers = new Headers();
    for (const md of [res.metadata, res.trailers]) {
      for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') headers.set(k, v);
    }
    const status = res.code === grpc.status.OK ? 200 : ((res.body?.error?.code as number | undefined) ?? -1);
    return { status, body: res.body, headers, transport: 'grpc', grpc: { code: res.code, message: res.message } };
  };
}

type FieldType = 'string' | 'int' | 'bool' | 'message';

interface RequestField {
  type: FieldType;
  repeated: boolean;
  /** proto3 `optional`: present even at its default value. */
  optional: boolean;
}

const fieldsByRpc = new Map<string, Map<string, RequestField>>();

/** The request message's fields, from the protos. */
function requestFields(op: Operation): Map<string, RequestField> {
  let fields = fieldsByRpc.get(op.rpc);
  if (fields === undefined) {
    const type = serviceDefinition(op.service)[op.rpc]!.requestType.type as {
      field: { name: string; type: string; label: string }[];
      oneofDecl?: { name: string }[];
    };
    const optional = new Set((type.oneofDecl ?? []).map((o) => o.name.replace(/^_/, ''))); // `optional x` → oneof `_x`
    fields = new Map(
      type.field.map((f) => {
        const t: FieldType = f.type === 'TYPE_STRING' ? 'string' : f.type === 'TYPE_BOOL' ? 'bool' : f.type === 'TYPE_MESSAGE' ? 'message' : 'int';
        return [f.name, { type: t, repeated: f.label === 'LABEL_REPEATED', optional: optional.has(f.name) }];
      }),
    );
    fieldsByRpc.set(op.rpc, fields);
  }
  return fields;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A JSON value as the proto field holds it, or a reason it cannot. Query values arrive as text. */
function fieldValue(name: string, field: RequestField, value: unknown, fromQuery: boolean): unknown {
  if (field.repeated) {
    if (!Array.isArray(value)) return new Inexpressible(`${name}: not an array`);
    const items = value.map((v) => fieldValue(name, { ...field, repeated: false }, v, false));
    return items.find((v) => v instanceof Inexpressible) ?? items;
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return new Inexpressible(`${name}: not a string`);
      return LONE_SURROGATE.test(value) ? new Inexpressible(`${name}: not valid UTF-16 (gRPC strings are UTF-8)`) : value;
    case 'int': {
      const n = fromQuery && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return new Inexpressible(`${name}: not an integer`);
      return n === 0 && !field.optional ? new Inexpressible(`${name}: 0 is proto3's default, which gRPC reads as absent`) : n;
    }
    case 'bool': {
      const b = fromQuery && (value === 'true' || value === 'false') ? value === 'true' : value;
      if (typeof b !== 'boolean') return new Inexpressible(`${name}: not a boolean`);
      return b === false && !field.optional ? new Inexpressible(`${name}: false is proto3's default, which gRPC reads as absent`) : b;
    }
    case 'message':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : new Inexpressible(`${name}: not an object`);
  }
}

/** `a=1&a=2` → `{a:'1'}`: the first value wins, as in the REST front end. */
function firstValues(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of query) if (!(k in out)) out[k] = v;
  return out;
}

class Inexpressible {
  constructor(readonly why: string) {}
}

/**
 * The gRPC request a REST request stands for, or why there is none. Like the server: path parameters win over body
 * fields, body over query; fields the message lacks are dropped (the server ignores them); JSON `null` is absent. A
 * PATCH body names what it changes, so the request's `update_mask` lists the body's fields (as grpc-gateway does).
 */
function transcode(method: string, path: string, body: unknown): { rpc: string; message: Record<string, unknown> } | string {
  const [pathname, query = ''] = path.split('?', 2) as [string, string?];
  let match;
  try {
    match = router.match(method, pathname);
  } catch (e) {
    return `no RPC for ${method} ${pathname}: ${(e as Error).message}`;
  }
  const op = match.spec;
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) return 'the body is not a JSON object';
  const fields = requestFields(op);
  const message: Record<string, unknown> = {};
  const sources: [Record<string, unknown>, boolean][] = [
    [firstValues(new URLSearchParams(query)), true],
    [op.body === '*' ? ((body ?? {}) as Record<string, unknown>) : {}, false],
    [match.params, true],
  ];
  for (const [values, fromQuery] of sources) {
    for (const [name, value] of Object.entries(values)) {
      const field = fields.get(name);
      if (field === undefined || value === null || value === undefined) continue;
      const v = fieldValue(name, field, value, fromQuery);
      if (v instanceof Inexpressible) return v.why;
      message[name] = v;
    }
  }
  if (method === 'PATCH' && fields.has('update_mask') && message.update_mask === undefined) {
    message.update_mask = { paths: Object.keys((body ?? {}) as object).filter((k) => fields.has(k)) };
  }
  return { rpc: op.rpc, message };
}
