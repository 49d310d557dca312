// The gRPC transport: both services on @grpc/grpc-js from the package's protos, decoded like REST bodies (defaults emitted).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../api/grpc/proto.js';
import { deadlineExceeded, fromErrorBody, PermioError, statusForCode, unreachable } from './errors.js';
import { retryAfterMs } from './rest.js';
import { exportRecord, numberedRecords } from './records.js';
import { watchMessage } from './watch.js';
import { rpcSpec, type Answer, type Message, type RecordSource, type Transport } from './transport.js';
import { PROTO_FILES, PROTO_PACKAGE, RPCS } from './wire.js';

const REVISION_KEY = 'permio-revision';
const ERROR_KEY = 'permio-error'; // the server's REST error body, as JSON (src/api/grpc/status.ts)

/** Decoded like a REST body: defaults emitted (`false`, `[]`, `""`, `0`), unset `optional` fields absent. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1, // export pages and big answers: the server bounds what it sends
  'grpc.max_send_message_length': -1,
};

type Callback = (err: grpc.ServiceError | null, response: Message) => void;
type UnaryMethod = (request: Message, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;

const firstString = (metadata: grpc.Metadata | undefined, key: string) => {
  const value = metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
};

/** A gRPC error → PermioError: the server's error body when it sent one, else the code (no answer at all → unreachable). */
function errorOf(err: grpc.ServiceError, target: string, timeoutMs?: number): PermioError {
  const code = grpc.status[err.code] ?? 'UNKNOWN';
  const raw = firstString(err.metadata, ERROR_KEY);
  if (raw !== undefined) {
    const error = fromErrorBody(JSON.parse(raw), statusForCode(code));
    if (error !== undefined) {
      // keep the server's message whole: the trailer's copy may have lost its details to the size cap, never its message
      const e = new PermioError(error.status, err.details || error.message, error.details, { code });
      e.retryAfterMs = retryAfterMs(firstString(err.metadata, 'retry-after'));
      return e;
    }
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED && timeoutMs !== undefined) return deadlineExceeded(timeoutMs);
  if (err.code === grpc.status.UNAVAILABLE) return unreachable(target, new Error(err.details));
  return new PermioError(statusForCode(code), err.details || code, [], { code });
}

export class GrpcTransport implements Transport {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    private readonly address: string,
    private readonly authorization: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS));
    const pkg = PROTO_PACKAGE.split('.').reduce<any>((ns, part) => ns[part], loaded);
    for (const service of new Set(Object.values(RPCS).map((r) => r.service))) {
      const Client = pkg[service] as grpc.ServiceClientConstructor;
      this.clients.set(service, new Client(address, credentials, CHANNEL_OPTIONS));
    }
  }

  unary(rpc: string, request: Message, timeoutMs: number): Promise<Answer> {
    const method = this.method(rpc) as UnaryMethod;
    return new Promise((resolve, reject) => {
      let initial: grpc.Metadata | undefined;
      let trailingRevision: string | undefined;
      const call = method(request, this.metadata(), { deadline: Date.now() + timeoutMs }, (err, body) => {
        if (err !== null) return reject(errorOf(err, this.address, timeoutMs));
        resolve({ body, revision: firstString(initial, REVISION_KEY) ?? trailingRevision });
      });
      call.on('metadata', (m: grpc.Metadata) => (initial = m));
      call.on('status', (s: grpc.StatusObject) => (trailingRevision = firstString(s.metadata, REVISION_KEY)));
    });
  }

  async *serverStream(rpc: string, request: Message, signal: AbortSignal): AsyncIterable<Message> {
    const method = this.method(rpc) as (r: Message, m: grpc.Metadata) => grpc.ClientReadableStream<Message>;
    const call = method(request, this.metadata());
    const abort = () => call.cancel();
    signal.addEventListener('abort', abort, { once: true });
    try {
      const normalize = rpc === 'ExportProject' ? exportRecord : rpc === 'Watch' ? watchMessage : (m: Message) => m;
      for await (const message of call) yield normalize(message as Message);
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.CANCELLED && signal.aborted) return;
      throw errorOf(err as grpc.ServiceError, this.address);
    } finally {
      signal.removeEventListener('abort', abort);
      call.cancel(); // no-op once the stream ended; stops it when the reader broke out early
    }
  }

  clientStream(rpc: string, request: Message, source: RecordSource): Promise<Answer> {
    const method = this.method(rpc) as (m: grpc.Metadata, cb: Callback) => grpc.ClientWritableStream<Message>;
    return new Promise((resolve, reject) => {
      let initial: grpc.Metadata | undefined;
      let trailingRevision: string | undefined;
      const call = method(this.metadata(), (err, body) => {
        if (err !== null) return reject(errorOf(err, this.address));
        resolve({ body, revision: firstString(initial, REVISION_KEY) ?? trailingRevision });
      });
      call.on('metadata', (m: grpc.Metadata) => (initial = m));
      call.on('status', (s: grpc.StatusObject) => (trailingRevision = firstString(s.metadata, REVISION_KEY)));
      void (async () => {
        let first: Message | undefined = request; // the request's own fields travel with the first message
        for await (const { record, line } of numberedRecords(source)) {
          const message = first === undefined ? { record, line } : { ...first, record, line };
          first = undefined;
          if (!call.write(message)) await new Promise((r) => call.once('drain', r));
        }
        if (first !== undefined) call.write(first);
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(err);
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }

  private method(rpc: string): (...args: any[]) => any {
    const client = this.clients.get(rpcSpec(rpc).service) as unknown as Record<string, (...args: any[]) => any>;
    return client[rpc]!.bind(client);
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', this.authorization);
    return metadata;
  }
}
