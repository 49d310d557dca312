// Calling an RPC by name over either transport: REST transcoded by the operation table, or gRPC; one result shape.
import { ROUTES } from '../../src/api/operations.js';
import type { Client, HttpResult } from './http.js';
import type { GrpcClient } from './grpc-client.js';

/** The REST request of `rpc` with `input`, transcoded by the route table: path parameters, then a JSON body or a query. */
export function restCall(api: Client, rpc: string, input: Record<string, unknown>): Promise<HttpResult> {
  const route = ROUTES.find((r) => r.rpc === rpc)!;
  const rest = { ...input };
  const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = String(rest[name]);
    delete rest[name];
    return encodeURIComponent(value);
  });
  if (route.body === '*') return api.call(route.method, path, rest);
  const query = new URLSearchParams(Object.entries(rest).map(([k, v]) => [k, String(v)])).toString();
  return api.call(route.method, query ? `${path}?${query}` : path);
}

export type TransportName = 'rest' | 'grpc';

/** One answer, whichever transport: the HTTP status (gRPC: the status of its error body), the body, `permio-revision`. */
export interface RpcAnswer {
  status: number;
  body: any;
  /** `Permio-Revision` (REST header; gRPC initial or trailing metadata), or null. */
  revision: string | null;
}

/** `call(rpc, input)` over the named transport. */
export function rpcCaller(transport: TransportName, rest: Client, grpc?: GrpcClient) {
  return async (rpc: string, input: Record<string, unknown> = {}): Promise<RpcAnswer> => {
    if (transport === 'rest') {
      const r = await restCall(rest, rpc, input);
      return { status: r.status, body: r.body, revision: r.headers.get('permio-revision') };
    }
    const g = (await grpc!.call(rpc, input)) as Awaited<ReturnType<GrpcClient['call']>> & { trailers?: { get(k: string): unknown[] } };
    const revision = (g.metadata.get('permio-revision')[0] ?? g.trailers?.get('permio-revision')[0] ?? null) as string | null;
    return { status: g.code === 0 ? 200 : (g.body?.error?.code ?? 500), body: g.body, revision };
  };
}
