// ExportProject (server stream) and ImportProject (client stream) over gRPC (SPEC §9). Authenticated from metadata and
// rate-limited like a unary call; export writes records as HTTP/2 flow control lets it (waits for 'drain'), import
// pauses the call while its staging writes catch up. One record per message either way.
import type { Metadata, ServerReadableStream, ServerWritableStream, sendUnaryData, UntypedHandleCall } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import type { Caller } from '../../service/caller.js';
import type { ImportSession } from '../../service/import-ops.js';
import type { Operation } from '../operations.js';
import { errorBody } from '../rest/reply.js';
import type { ServiceLike } from '../service-port.js';
import { recorder } from './call-record.js';
import type { InternalErrorLog } from './handlers.js';
import { RefusedRequest, toServiceInput, virtualFields } from './request.js';
import { toServiceError } from './status.js';
import type { CallAuth } from './watch-stream.js';

type AnyMethod = MethodDefinition<object, object>;


/** The encoded size of a client-stream message, set by its deserializer (handlers.ts): the stream's total is bounded by it. */
export const MESSAGE_BYTES = Symbol('messageBytes');

function toMetadata(headers: Readonly<Record<string, string>>): Metadata {
  const metadata = new GrpcMetadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

/** The grpc-js handler of ExportProject. */
export function exportHandler(operation: Operation, method: AnyMethod, service: ServiceLike, auth: CallAuth, logInternal: InternalErrorLog): UntypedHandleCall {
  const virtual = virtualFields(method);
  return (call: ServerWritableStream<object, unknown>) => {
    const record = recorder(service, operation, method);
    let caller: Caller | undefined;
    let input: Record<string, unknown> = {};
    const open = async () => {
      caller = await auth.authenticate(auth.authorization(call.metadata));
      service.admit(caller);
      if (call.request instanceof RefusedRequest) throw call.request.error;
      if (service.exportProject === undefined) throw Errors.routeNotFound(method.path);
      input = toServiceInput(operation.rpc, call.request, virtual);
      return service.exportProject(caller, input);
    };
    const fail = (err: unknown) => {
      if (!(err instanceof PermioError)) logInternal(operation.rpc, err);
      const e = toPermioError(err);
      if (!call.cancelled) call.emit('error', toServiceError(e));
      record(caller, input, e.status, errorBody(e));
    };
    open().then((exp) => {
      let closed = false;
      const close = () => {
        if (!closed) exp.close();
        closed = true;
      };
      call.on('cancelled', close);
      if (call.cancelled) return close();
      call.sendMetadata(toMetadata(exp.headers));
      call.write(exp.header);
      const pump = () => {
        try {
          for (;;) {
            if (call.cancelled) return close();
            const batch = exp.next();
            if (batch.length === 0) {
              close();
              call.end();
              return record(caller, input, 200, '{}');
            }
            let ok = true;
            for (let i = 0; i < batch.length; i++) ok = call.write(batch[i]) && ok;
            if (!ok) return void call.once('drain', pump);
          }
        } catch (err) {
          close();
          fail(err);
        }
      };
      pump();
    }, fail);
  };
}

/** The record of an import message as the service takes it: unset fields and proto-loader's oneof markers dropped. */
function recordOf(message: Record<string, unknown>): Record<string, unknown> | undefined {
  const record = message.record as Record<string, unknown> | undefined;
  if (record === undefined || record === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const key in record) {
    const v = record[key];
    if (key.startsWith('_') || v === '' || v === undefined) continue;
    out[key] = v;
  }
  return out;
}

/** The grpc-js handler of ImportProject: the first message's request fields open the session, every record feeds it. */
export function importHandler(operation: Operation, method: AnyMethod, service: ServiceLike, auth: CallAuth, logInternal: InternalErrorLog): UntypedHandleCall {
  const virtual = virtualFields(method);
  return (call: ServerReadableStream<object, unknown>, callback: sendUnaryData<unknown>) => {
    const record = recorder(service, operation, method);
    const limit = service.importMaxBytes ?? Number.POSITIVE_INFINITY;
    let caller: Caller | undefined;
    let input: Record<string, unknown> = {};
    let session: ImportSession | undefined;
    let opening: Promise<ImportSession> | undefined;
    let done = false;
    let total = 0;
    let position = 0;

    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      if (!(err instanceof PermioError)) logInternal(operation.rpc, err);
      const e = toPermioError(err);
      session?.abort(e);
      if (!call.cancelled) callback(toServiceError(e));
      record(caller, input, e.status, errorBody(e));
      call.resume(); // drop what the client still sends
    };

    const open = (first: Record<string, unknown>) =>
      (opening ??= (async () => {
        caller = await auth.authenticate(auth.authorization(call.metadata));
        service.admit(caller);
        if (service.importProject === undefined) throw Errors.routeNotFound(method.path);
        const fields: Record<string, unknown> = { ...first };
        delete fields.record;
        delete fields.line;
        input = toServiceInput(operation.rpc, fields, virtual);
        session = await service.importProject(caller, input);
        return session;
      })());

    const take = (s: ImportSession, message: Record<string, unknown>) => {
      const rec = recordOf(message);
      if (rec === undefined) return; // a message of request fields only
      position++;
      const line = typeof message.line === 'number' && message.line > 0 ? message.line : position;
      s.record(rec, line);
    };

    call.on('data', (message: Record<string, unknown> | RefusedRequest) => {
      if (done) return;
      if (message instanceof RefusedRequest) return fail(message.error);
      total += (message as { [MESSAGE_BYTES]?: number })[MESSAGE_BYTES] ?? 0;
      if (total > limit) return fail(Errors.payloadTooLarge(limit));
      if (session === undefined) {
        call.pause();
        open(message).then(
          (s) => {
            if (done) return s.abort();
            try {
              take(s, message);
            } catch (err) {
              return fail(err);
            }
            call.resume();
          },
          fail,
        );
        return;
      }
      try {
        take(session, message);
      } catch (err) {
        return fail(err);
      }
      const wait = session.ready();
      if (wait !== undefined) {
        call.pause();
        void wait.then(() => call.resume());
      }
    });
    call.on('end', () => {
      if (done) return;
      void (opening ?? open({})).then(
        (s) =>
          s.finish().then((answer) => {
            if (done) return;
            done = true;
            if (!call.cancelled) callback(null, answer.body, toMetadata(answer.headers));
            record(caller, input, 200, JSON.stringify(answer.body));
          }),
        fail,
      ).catch(fail);
    });
    call.on('cancelled', () => {
      if (done) return;
      done = true;
      session?.abort(Errors.badRequest('Invalid import: the client cancelled the call'));
    });
    call.on('error', () => session?.abort());
  };
}
