// A gRPC test client built from the same protos: call any RPC by name; errors come back as the REST error body.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES, PROTO_PACKAGE, protoRoutes, SERVICE_NAMES } from '../../src/api/grpc/proto.js';
import { ERROR_METADATA_KEY } from '../../src/api/grpc/status.js';

/** Decoded like a REST body: defaults emitted (`false`, `[]`, `""`, `0`), unset `optional` fields absent. */
const CLIENT_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

export interface GrpcResult<T = any> {
  /** The gRPC status code; `grpc.status.OK` (0) on success. */
  code: grpc.status;
  /** The status message ('' on success). */
  message: string;
  /** The response on success; on error the REST error body parsed from the `permio-error` trailer (null if absent). */
  body: T;
  /** Initial metadata on success, trailing metadata on error. */
  metadata: grpc.Metadata;
  /** Trailing metadata (on success too). */
  trailers: grpc.Metadata;
}

export interface CallOptions {
  /** Overrides the client's key; `null` sends no `authorization` metadata. */
  key?: string | null;
  /** Raw `authorization` value instead of `Bearer <key>`. */
  authorization?: string;
  deadlineMs?: number;
  /** Extra metadata. */
  metadata?: Record<string, string>;
}

/** A client of both Permio services at `address`, authenticating with `key` (`Bearer <key>`); plain HTTP/2 unless `credentials` say TLS. */
export function grpcClient(address: string, key?: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
  const definition = protoLoader.loadSync([...PROTO_FILES], CLIENT_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition);
  const options = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const clients = new Map<string, grpc.Client>();
  for (const name of SERVICE_NAMES) {
    const Ctor = PROTO_PACKAGE.split('.').reduce<any>((ns, part) => ns[part], loaded)[name] as grpc.ServiceClientConstructor;
    clients.set(name, new Ctor(address, credentials, options));
  }
  const serviceOf = new Map(protoRoutes().map((r) => [r.rpc, r.service]));

  function call<T = any>(rpc: string, request: object = {}, opts: CallOptions = {}): Promise<GrpcResult<T>> {
    const client = clients.get(serviceOf.get(rpc) ?? '') as any;
    if (client === undefined) throw new Error(`unknown RPC ${rpc}`);
    const metadata = new grpc.Metadata();
    const k = opts.key === undefined ? key : opts.key;
    if (opts.authorization !== undefined) metadata.set('authorization', opts.authorization);
    else if (k !== undefined && k !== null) metadata.set('authorization', `Bearer ${k}`);
    for (const [name, value] of Object.entries(opts.metadata ?? {})) metadata.set(name, value);
    const callOptions = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
    const failed = (err: grpc.ServiceError): Omit<GrpcResult<T>, 'trailers'> => {
      const raw = err.metadata?.get(ERROR_METADATA_KEY)[0];
      return { code: err.code, message: err.details, body: raw === undefined ? null : JSON.parse(String(raw)), metadata: err.metadata };
    };
    return new Promise((resolve) => {
      let initial = new grpc.Metadata();
      let result: Omit<GrpcResult<T>, 'trailers'>;
      if (client[rpc].responseStream) {
        // a server stream (Watch): its first message is the answer (then it is cancelled), or its error status
        const s = client[rpc](request, metadata, callOptions) as grpc.ClientReadableStream<T>;
        s.on('metadata', (m: grpc.Metadata) => (initial = m));
        s.once('data', (body: T) => {
          resolve({ code: grpc.status.OK, message: '', body, metadata: initial, trailers: new grpc.Metadata() });
          s.cancel();
        });
        s.on('error', (err: grpc.ServiceError) => resolve({ ...failed(err), trailers: err.metadata }));
        s.on('status', (st: grpc.StatusObject) => st.code === grpc.status.OK && resolve({ code: st.code, message: '', body: null as T, metadata: initial, trailers: st.metadata }));
        return;
      }
      const answered = (err: grpc.ServiceError | null, response: T) => {
        result = err === null ? { code: grpc.status.OK, message: '', body: response, metadata: initial } : failed(err);
      };
      // a client stream (ImportProject): the request is its one message
      const c = client[rpc].requestStream ? client[rpc](metadata, callOptions, answered) : client[rpc](request, metadata, callOptions, answered);
      if (client[rpc].requestStream) {
        c.write(request);
        c.end();
      }
      c.on('metadata', (m: grpc.Metadata) => (initial = m));
      c.on('status', (s: grpc.StatusObject) => resolve({ ...result, trailers: s.metadata })); // emitted after the callback
    });
  }

  return {
    call,
    close: () => clients.forEach((c) => c.close()),
  };
}

export type GrpcClient = ReturnType<typeof grpcClient>;
