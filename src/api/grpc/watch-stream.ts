// Watch over gRPC (SPEC §7): the server stream of `PermissionsService.Watch`. Authenticated from metadata, rate-limited
// and decoded like a unary call; each message is encoded to protobuf once for every stream that gets it; an error
// ends the stream with its mapped status, PROJECT_DELETED with OK.
import type { Metadata, ServerWritableStream, UntypedHandleCall } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import type { Caller } from '../../service/caller.js';
import type { WatchMessage, WatchSink } from '../../service/watch-hub.js';
import type { Operation } from '../operations.js';
import { errorBody } from '../rest/reply.js';
import type { ServiceLike } from '../service-port.js';
import { recorder } from './call-record.js';
import { RefusedRequest, toServiceInput, virtualFields } from './request.js';
import type { InternalErrorLog } from './handlers.js';
import { toServiceError } from './status.js';

type AnyMethod = MethodDefinition<object, object>;

/** The hub's view of one call: bytes written but not yet taken by HTTP/2 (flow control) count as its backlog. */
class StreamSink implements WatchSink {
  private unsent = 0;
  ended = false;

  constructor(
    private readonly call: ServerWritableStream<object, unknown>,
    private readonly encode: (body: object) => Buffer,
    private readonly onDrained: () => void,
  ) {}

  backlog(): number {
    return this.unsent;
  }

  send(messages: readonly WatchMessage[]): void {
    if (this.ended) return;
    for (const m of messages) {
      const bytes = (m.wire ??= this.encode(m.body));
      this.unsent += bytes.length;
      this.call.write(bytes, () => {
        this.unsent -= bytes.length;
        if (this.unsent === 0) this.onDrained();
      });
    }
  }

  fail(err: PermioError): void {
    if (this.ended) return;
    this.ended = true;
    this.call.emit('error', toServiceError(err)); // grpc-js: ends the stream with this status after what is queued
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.call.end();
  }
}

/** How a call is authenticated: the unary calls' own functions (handlers.ts). */
export interface CallAuth {
  /** The `authorization` metadata value (undefined when absent or repeated). */
  authorization(metadata: Metadata): string | undefined;
  /** The caller, or (cluster mode, a key this node may not hold yet) its second verdict. */
  authenticate(authorization: string | undefined): Caller | Promise<Caller>;
}

/** The grpc-js handler of Watch. */
export function watchHandler(operation: Operation, method: AnyMethod, service: ServiceLike, auth: CallAuth, logInternal: InternalErrorLog): UntypedHandleCall {
  const virtual = virtualFields(method);
  const encode = method.responseSerialize as (body: object) => Buffer;
  return (call: ServerWritableStream<object, unknown>) => {
    const record = recorder(service, operation, method);
    let caller: Caller | undefined;
    let input: Record<string, unknown> = {};
    let subscription: { close(): void; drained(): void } | undefined;
    const sink = new StreamSink(call, encode, () => subscription?.drained());
    call.on('cancelled', () => {
      sink.ended = true;
      subscription?.close();
    });
    const open = async () => {
      caller = await auth.authenticate(auth.authorization(call.metadata));
      service.admit(caller);
      if (call.request instanceof RefusedRequest) throw call.request.error;
      if (service.watch === undefined) throw Errors.routeNotFound(method.path);
      input = toServiceInput(operation.rpc, call.request, virtual);
      return service.watch(caller, input, sink);
    };
    open().then(
      (sub) => {
        if (call.cancelled) return sub.close();
        subscription = sub;
        record(caller, input, 200, '{}');
      },
      (err: unknown) => {
        if (!(err instanceof PermioError)) logInternal(operation.rpc, err);
        const e = toPermioError(err);
        sink.fail(e);
        record(caller, input, e.status, errorBody(e));
      },
    );
  };
}
