// One generic unary handler per RPC: authenticate from metadata, rate-limit, decode, call the service, answer once (unless cancelled).
import { Metadata, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import { observeRequest } from '../../metrics.js';
import type { Caller } from '../../service/caller.js';
import type { ServiceLike } from './server.js';
import { toServiceError } from './status.js';
import { EncodedAnswers, passEncoded } from './check-answer.js';
import { boundedDeserializer, OVERSIZED, requestLimit, toServiceInput, virtualFields, UNDECODABLE } from './request.js';

/** Called with the cause of every INTERNAL answer (the client only sees "Internal error"). */
export type InternalErrorLog = (rpc: string, cause: unknown) => void;

/** The `authorization` metadata value; several values count as malformed (undefined → 401), like a repeated header. */
function authorization(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
}

/** Rate-limit headers → initial metadata (SPEC §5: "also as gRPC metadata"). */
function toMetadata(headers: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

/**
 * The service definition with each request deserializer bounded by its RPC's size limit, and Check's response
 * serializer letting through answers the handler already encoded ({@link EncodedAnswers}).
 */
export function boundedDefinition(definition: ServiceDefinition): ServiceDefinition {
  const bounded: ServiceDefinition = {};
  for (const [rpc, method] of Object.entries(definition)) {
    bounded[rpc] = {
      ...method,
      requestDeserialize: boundedDeserializer(method.requestDeserialize, requestLimit(rpc)),
      ...(rpc === 'Check' ? { responseSerialize: passEncoded(method.responseSerialize) } : {}),
    };
  }
  return bounded;
}

/** The grpc-js implementation of every RPC of `definition`, each forwarding to `service.invoke(rpc, …)`. */
export function createHandlers(
  definition: ServiceDefinition,
  service: ServiceLike,
  logInternal: InternalErrorLog,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const [rpc, method] of Object.entries(definition)) {
    const virtual = virtualFields(method);

    const route = method.path; // e.g. /permio.v1.PermissionsService/Check
    // Check takes the REST hot path (the answer as JSON text) and answers with its encoding, memoized per text
    const answers = rpc === 'Check' && service.checkJson !== undefined ? new EncodedAnswers(method.responseSerialize) : undefined;

    handlers[rpc] = (call: ServerUnaryCall<object, unknown>, callback: sendUnaryData<unknown>) => {
      const startedAt = performance.now();
      let caller: Caller | undefined;
      let input: Record<string, unknown> = {};
      let logged: unknown; // what the call log records as the response, when not the response itself
      // The same order as REST (SPEC §5): authentication, rate limit, then the request itself.
      const run = async (): Promise<unknown> => {
        caller = service.authenticate(authorization(call.metadata));
        const rateHeaders = service.admit(caller);
        if (rateHeaders !== undefined) call.sendMetadata(toMetadata(rateHeaders));
        if (call.request === OVERSIZED) throw Errors.payloadTooLarge(requestLimit(rpc));
        if (call.request === UNDECODABLE) throw Errors.badRequest('Invalid request: the message does not decode as ' + rpc + 'Request');
        input = toServiceInput(rpc, call.request, virtual);
        if (answers === undefined) return service.invoke(rpc, caller, input);
        const json = await service.checkJson!(caller, input);
        logged = json; // the call log records the answer's JSON text, as for REST
        return answers.of(json);
      };
      const record = (status: number, response: unknown) => {
        observeRequest('grpc', rpc, status, startedAt);
        if (caller !== undefined) {
          const latencyMs = performance.now() - startedAt;
          service.recordCall?.({ transport: 'grpc', rpc, route, caller, input, status, latencyMs, response });
        }
      };
      run().then(
        (response) => {
          if (!call.cancelled) callback(null, response); // past the deadline or cancelled: nobody is listening
          record(200, logged ?? response);
        },
        (err: unknown) => {
          if (!(err instanceof PermioError)) logInternal(rpc, err);
          if (!call.cancelled) callback(toServiceError(err));
          const e = toPermioError(err);
          record(e.status, { error: { code: e.status, message: e.message, details: e.details } });
        },
      );
    };
  }
  return handlers;
}
