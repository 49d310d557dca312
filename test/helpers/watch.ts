// Watch streams of a test server over either transport, with one interface: the messages as they arrive, how the
// stream ended (WebSocket close code or gRPC status, with the error body), and pause/resume to play a slow reader.
// REST uses the package's own WebSocket client (src/client/websocket.ts); gRPC a grpc-js client of the same protos.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES, PROTO_PACKAGE } from '../../src/api/grpc/proto.js';
import { ERROR_METADATA_KEY } from '../../src/api/grpc/status.js';
import { openWebSocket } from '../../src/client/websocket.js';
import { watchMessage } from '../../src/client/watch.js';
import type { Endpoints, Transport } from './api.js';

/** How a stream ended: REST the close code (1000, 1008, 1011, 1013, 1006), gRPC the status code; the error body if one came. */
export interface WatchEnd {
  code: number;
  error?: { error: { code: number; message: string; details?: unknown[] } };
}

export interface WatchStream {
  readonly transport: Transport;
  /** Every message received so far (errors not included), in order. */
  readonly messages: any[];
  /** The next message not returned by `next` before; rejects if the stream ends first or after `timeoutMs`. */
  next(timeoutMs?: number): Promise<any>;
  /** Messages until (and including) the first for which `stop` holds. */
  until(stop: (m: any) => boolean, timeoutMs?: number): Promise<any[]>;
  /** Resolves once the stream ended. */
  readonly ended: Promise<WatchEnd>;
  /** Stops reading from the network (the server's unsent backlog grows), and starts again. */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface WatchOptions {
  /** The key, sent as the upgrade's `Authorization` header (REST) or metadata (gRPC); undefined: none. */
  key?: string;
  /** REST: the raw first message instead of the request as JSON (the request is ignored then). */
  firstMessage?: string | Buffer;
}

const DEFAULT_TIMEOUT_MS = 10_000;

class Stream implements WatchStream {
  readonly messages: any[] = [];
  private read = 0;
  private wake: (() => void) | undefined;
  private end: WatchEnd | undefined;
  readonly ended: Promise<WatchEnd>;
  settle!: (end: WatchEnd) => void;

  constructor(
    readonly transport: Transport,
    private readonly controls: { pause(): void; resume(): void; close(): void },
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
    void this.ended.then((end) => {
      this.end = end;
      this.wake?.();
    });
  }

  push(message: any): void {
    this.messages.push(message);
    this.wake?.();
  }

  async next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.messages.length) {
      if (this.end !== undefined) throw new Error(`stream ended (${JSON.stringify(this.end)}) after ${this.messages.length} messages`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms (got ${this.messages.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.messages[this.read++];
  }

  async until(stop: (m: any) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<any[]> {
    const out = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      out.push(m);
      if (stop(m)) return out;
    }
  }

  pause(): void {
    this.controls.pause();
  }

  resume(): void {
    this.controls.resume();
  }

  close(): void {
    this.controls.close();
  }
}

/** Opens a Watch on `server` over `transport` with `request` (the §7 request body). */
export async function openWatch(server: Endpoints, transport: Transport, request: object, opts: WatchOptions = {}): Promise<WatchStream> {
  return transport === 'rest' ? openRest(server, request, opts) : openGrpc(server, request, opts);
}

async function openRest(server: Endpoints, request: object, opts: WatchOptions): Promise<WatchStream> {
  const ws = await openWebSocket(new URL(`${server.httpUrl}/v1/watch`), opts.key === undefined ? {} : { authorization: `Bearer ${opts.key}` });
  let paused: Promise<void> | undefined;
  let unpause: (() => void) | undefined;
  const socket = (ws as unknown as { socket: import('node:net').Socket }).socket; // the client's own queue would take it all
  const stream = new Stream('rest', {
    pause: () => {
      paused ??= new Promise((resolve) => (unpause = resolve));
      socket.pause();
    },
    resume: () => {
      unpause?.();
      paused = undefined;
      socket.resume();
    },
    close: () => ws.close(),
  });
  const first = opts.firstMessage ?? JSON.stringify(request);
  if (typeof first === 'string') ws.send(first);
  else (ws as unknown as { write(op: number, b: Buffer): void }).write(0x2, first); // a binary frame
  let error: WatchEnd['error'];
  void (async () => {
    for await (const text of ws) {
      while (paused !== undefined) await paused;
      const message = JSON.parse(text);
      if (message.error !== undefined) error = message;
      else stream.push(message);
    }
    const close = await ws.closed;
    stream.settle({ code: close.code, ...(error === undefined ? {} : { error }) });
  })();
  return stream;
}

let definition: protoLoader.PackageDefinition | undefined;

async function openGrpc(server: Endpoints, request: object, opts: WatchOptions): Promise<WatchStream> {
  definition ??= protoLoader.loadSync([...PROTO_FILES], { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, oneofs: false, includeDirs: [PROTO_DIR] });
  const pkg = PROTO_PACKAGE.split('.').reduce<any>((ns, part) => ns[part], grpc.loadPackageDefinition(definition));
  // a connection of its own: a paused stream holds HTTP/2's connection window, which would stall the others
  const client = new pkg.PermissionsService(server.grpcAddress, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as grpc.Client & Record<string, any>;
  const metadata = new grpc.Metadata();
  if (opts.key !== undefined) metadata.set('authorization', `Bearer ${opts.key}`);
  const call = client.Watch(request, metadata) as grpc.ClientReadableStream<any>;
  const stream = new Stream('grpc', { pause: () => call.pause(), resume: () => call.resume(), close: () => call.cancel() });
  call.on('data', (m) => stream.push(watchMessage(m)));
  call.on('error', () => {}); // the status says it
  call.on('status', (s: grpc.StatusObject) => {
    const raw = s.metadata.get(ERROR_METADATA_KEY)[0];
    stream.settle({ code: s.code, ...(raw === undefined ? {} : { error: JSON.parse(String(raw)) }) });
    client.close();
  });
  return stream;
}
