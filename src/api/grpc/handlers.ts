// The grpc-js implementation of every RPC, built from its operation-table row by the handler of its kind: authenticate
// from metadata, rate-limit, decode, call the service, answer once (unless cancelled), record.
import { Metadata, type sendUnaryData, type ServerUnaryCall, type UntypedHandleCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { PermioError, toPermioError } from '../../errors.js';
import { observeRequest } from '../../metrics.js';
import { Answer } from '../../service/answer.js';
import type { CallScope } from '../../service/call-log.js';
import type { Caller } from '../../service/caller.js';
import { OPERATION_BY_RPC, type Operation, type OperationKind } from '../operations.js';
import { errorBody } from '../rest/reply.js';
import type { ServiceLike } from '../service-port.js';
import { EncodedAnswers, passEncoded } from './check-answer.js';
import { protoRoot, PROTO_PACKAGE } from './proto.js';
import { boundedDeserializer, RefusedRequest, toServiceInput, virtualFields } from './request.js';
import { wireGuard } from './wire-guard.js';
import { toServiceError } from './status.js';
import { watchHandler } from './watch-stream.js';
import { exportHandler, importHandler, MESSAGE_BYTES } from './project-streams.js';

/** Called with the cause of every INTERNAL answer (the client only sees "Internal error"). */
export type InternalErrorLog = (rpc: string, cause: unknown) => void;

type AnyMethod = MethodDefinition<object, object>;

/** Makes the grpc-js handler of one RPC of a kind. */
type HandlerFactory = (operation: Operation, method: AnyMethod, service: ServiceLike, logInternal: InternalErrorLog) => UntypedHandleCall;

/** The handler of each kind of RPC; a row of a kind without one fails at startup. */
const HANDLERS: { readonly [K in OperationKind]?: HandlerFactory } = {
  unary: unaryHandler,
  'server-streaming': serverStreamHandler,
  'client-streaming': clientStreamHandler,
};

/** Server streams, by RPC. */
function serverStreamHandler(operation: Operation, method: AnyMethod, service: ServiceLike, logInternal: InternalErrorLog): UntypedHandleCall {
  const auth = { authorization, authenticate: (a: string | undefined) => authenticate(service, a) };
  if (operation.rpc === 'Watch') return watchHandler(operation, method, service, auth, logInternal);
  if (operation.rpc === 'ExportProject') return exportHandler(operation, method, service, auth, logInternal);
  throw new Error(`gRPC: no handler for the server stream ${operation.rpc}`);
}

/** Client streams, by RPC. */
function clientStreamHandler(operation: Operation, method: AnyMethod, service: ServiceLike, logInternal: InternalErrorLog): UntypedHandleCall {
  if (operation.rpc !== 'ImportProject') throw new Error(`gRPC: no handler for the client stream ${operation.rpc}`);
  return importHandler(operation, method, service, { authorization, authenticate: (a) => authenticate(service, a) }, logInternal);
}

/** `rpc`'s operation-table row, whose kind must be what the proto says (stream flags). */
function operationOf(rpc: string, method: AnyMethod): Operation {
  const operation = OPERATION_BY_RPC.get(rpc);
  if (operation === undefined) throw new Error(`gRPC: ${method.path} is not in the operation table`);
  const kind = method.requestStream ? (method.responseStream ? 'bidi-streaming' : 'client-streaming') : method.responseStream ? 'server-streaming' : 'unary';
  if (kind !== operation.kind) throw new Error(`gRPC: ${rpc} is ${kind} in the protos but ${operation.kind} in the operation table`);
  return operation;
}

/**
 * The service definition with each request deserializer bounded by its operation's size limit, and the response
 * serializer of pre-encoded operations letting through answers the handler already encoded ({@link EncodedAnswers}).
 */
export function boundedDefinition(definition: ServiceDefinition): ServiceDefinition {
  const bounded: ServiceDefinition = {};
  for (const [rpc, method] of Object.entries(definition)) {
    const operation = operationOf(rpc, method);
    const requestType = protoRoot().lookupService(`${PROTO_PACKAGE}.${operation.service}`).methods[rpc]!.resolvedRequestType!;
    const deserialize = boundedDeserializer(method.requestDeserialize, operation.bodyLimit, wireGuard(requestType), rpc);
    bounded[rpc] = {
      ...method,
      requestDeserialize: operation.kind === 'client-streaming' ? sized(deserialize) : deserialize,
      // pre-encoded answers and stream messages (each encoded once for every stream that gets it) pass through
      ...(operation.preEncoded || operation.kind === 'server-streaming' ? { responseSerialize: passEncoded(method.responseSerialize) } : {}),
    };
  }
  return bounded;
}

/** A client stream's messages carry their encoded size, so the handler can bound the stream's total. */
function sized<T>(deserialize: (bytes: Buffer) => T): (bytes: Buffer) => T {
  return (bytes) => {
    const message = deserialize(bytes);
    if (typeof message === 'object' && message !== null && !(message instanceof RefusedRequest)) {
      Object.defineProperty(message, MESSAGE_BYTES, { value: bytes.length, enumerable: false });
    }
    return message;
  };
}

/** The grpc-js implementation of every RPC of `definition`, each forwarding to the service. */
export function createHandlers(definition: ServiceDefinition, service: ServiceLike, logInternal: InternalErrorLog): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const [rpc, method] of Object.entries(definition)) {
    const operation = operationOf(rpc, method);
    const make = HANDLERS[operation.kind];
    if (make === undefined) throw new Error(`gRPC: no handler for ${operation.kind} RPCs (${rpc})`);
    handlers[rpc] = make(operation, method, service, logInternal);
  }
  return handlers;
}

/** The `authorization` metadata value; several values count as malformed (undefined → 401), like a repeated header. */
function authorization(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
}

/** Headers → metadata: rate-limit headers (SPEC §5: "also as gRPC metadata"), an answer's own (`permio-revision`). */
function toMetadata(headers: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

function unaryHandler(operation: Operation, method: AnyMethod, service: ServiceLike, logInternal: InternalErrorLog): UntypedHandleCall {
  const { rpc, preEncoded } = operation;
  const virtual = virtualFields(method);
  const route = method.path; // e.g. /permio.v1.PermissionsService/Check
  // A pre-encoded answer (JSON text) is encoded to protobuf once per distinct text
  const answers = preEncoded ? new EncodedAnswers(method.responseSerialize) : undefined;

  return (call: ServerUnaryCall<object, unknown>, callback: sendUnaryData<unknown>) => {
    const startedAt = performance.now();
    let caller: Caller | undefined;
    let input: Record<string, unknown> = {};
    // a sampled read (Check) writes nothing: no scope to carry
    const scope: CallScope | undefined = operation.sampled ? undefined : { transport: 'grpc', route, startedAt, logged: false };
    const record = (status: number, response: unknown) => {
      observeRequest('grpc', rpc, status, startedAt);
      if (caller === undefined) return;
      const latencyMs = performance.now() - startedAt;
      const { sampled } = operation;
      service.recordCall?.({ transport: 'grpc', rpc, route, caller, input, status, latencyMs, response, sampled, logged: scope?.logged });
    };
    // The same order as REST (SPEC §5): authentication, rate limit, then the request itself.
    const run = async (): Promise<unknown> => {
      caller = await authenticate(service, authorization(call.metadata));
      const rateHeaders = service.admit(caller);
      if (rateHeaders !== undefined) call.sendMetadata(toMetadata(rateHeaders));
      if (call.request instanceof RefusedRequest) throw call.request.error;
      input = toServiceInput(rpc, call.request, virtual);
      return service.invoke(rpc, caller, input, scope);
    };
    run().then(
      (value) => {
        const answer = value instanceof Answer ? value : undefined;
        const body = answer === undefined ? value : answer.body;
        // past the deadline or cancelled: nobody is listening
        if (!call.cancelled) {
          const response = answers !== undefined && typeof body === 'string' ? answers.of(body) : body;
          if (answer === undefined) callback(null, response);
          else callback(null, response, toMetadata(answer.headers)); // trailing: rate-limit metadata may be out already
        }
        record(200, body); // the call log records JSON text as REST does
      },
      (err: unknown) => {
        if (!(err instanceof PermioError)) logInternal(rpc, err);
        if (!call.cancelled) callback(toServiceError(err));
        const e = toPermioError(err);
        record(e.status, errorBody(e));
      },
    );
  };
}

/** `service.authenticate`, or — cluster mode, a key this node may not hold yet — its second verdict after catching up. */
function authenticate(service: ServiceLike, authorization: string | undefined): Caller | Promise<Caller> {
  try {
    return service.authenticate(authorization);
  } catch (err) {
    const late = service.authenticateLate?.(authorization, err);
    if (late === undefined) throw err;
    return late;
  }
}
