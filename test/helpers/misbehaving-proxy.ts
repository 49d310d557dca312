// Proxies in front of the real server that misbehave on cue: answer errors, hang, or add headers — over REST and gRPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition, SERVICE_NAMES } from '../../src/api/grpc/proto.js';

/** One request as the proxy saw it: the RPC (gRPC) or `METHOD /path?query` (REST), and the decoded body. */
export interface SeenRequest {
  readonly route: string;
  readonly body: any;
}

/**
 * What to do with a request: forward it (optionally adding response headers / metadata), answer it directly, or
 * never answer. `status` is the HTTP status; over gRPC the proxy sends the mapped code with the server's error trailer.
 */
export type Action =
  | { forward: true; headers?: Record<string, string> }
  | { status: number; body: unknown; headers?: Record<string, string> }
  | { hang: true };

export type Rule = (request: SeenRequest, index: number) => Action;

export interface Proxy {
  /** REST: the base URL; gRPC: `host:port`. */
  readonly address: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

const CODE_BY_STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

/** An HTTP proxy to `target` (a base URL) applying `rule` to each request. */
export async function restProxy(target: string, rule: Rule): Promise<Proxy> {
  const seen: SeenRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: SeenRequest = { route: `${req.method} ${req.url}`, body: text === '' ? undefined : JSON.parse(text) };
    seen.push(request);
    const action = rule(request, seen.length - 1);
    if ('hang' in action) return void hanging.add(res);
    if ('status' in action) {
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
      return void res.end(JSON.stringify(action.body));
    }
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type']) if (req.headers[name]) headers[name] = String(req.headers[name]);
    const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: text === '' ? undefined : text });
    const out: Record<string, string> = { ...action.headers };
    answer.headers.forEach((value, name) => {
      if (name === 'content-type' || name.startsWith('permio-') || name === 'retry-after') out[name] ??= value;
    });
    res.writeHead(answer.status, out);
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const identity = (b: Buffer) => b;

/** A gRPC proxy to `target` (`host:port`) applying `rule` to each unary call; requests are decoded only to be seen. */
export async function grpcProxy(target: string, rule: Rule): Promise<Proxy> {
  const seen: SeenRequest[] = [];
  const upstream = new grpc.Client(target, grpc.credentials.createInsecure());
  const server = new grpc.Server();
  for (const name of SERVICE_NAMES) {
    const definition = serviceDefinition(name);
    const raw: grpc.ServiceDefinition = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [rpc, method] of Object.entries(definition)) {
      raw[rpc] = { ...method, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
      handlers[rpc] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const request: SeenRequest = { route: rpc, body: method.requestDeserialize(call.request) };
        seen.push(request);
        const action = rule(request, seen.length - 1);
        if ('hang' in action) return;
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(action.headers ?? {})) metadata.set(k, v);
        if ('status' in action) {
          if (action.status === 200) {
            call.sendMetadata(metadata);
            return callback(null, method.responseSerialize(action.body) as Buffer);
          }
          metadata.set('permio-error', JSON.stringify(action.body));
          const code = CODE_BY_STATUS[action.status] ?? grpc.status.INTERNAL;
          return callback({ code, details: (action.body as any)?.error?.message ?? '', metadata } as grpc.ServiceError);
        }
        let received: grpc.Metadata | undefined;
        const forwarded = upstream.makeUnaryRequest(method.path, identity, identity, call.request, call.metadata, (err, response) => {
          received?.merge(metadata);
          if (received) call.sendMetadata(received);
          else call.sendMetadata(metadata);
          callback(err, response);
        });
        forwarded.on('metadata', (m) => (received = m));
      };
    }
    server.addService(raw, handlers);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: async () => {
      server.forceShutdown();
      upstream.close();
    },
  };
}
