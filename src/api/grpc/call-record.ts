// What a streaming gRPC call leaves behind once it is answered (Watch, ExportProject, ImportProject): its request
// metric and, once its caller is known, its call-log entry — as the unary handlers record theirs.
import type { MethodDefinition } from '@grpc/proto-loader';
import { observeRequest } from '../../metrics.js';
import type { Caller } from '../../service/caller.js';
import type { Operation } from '../operations.js';
import type { ServiceLike } from '../service-port.js';

/** A recorder for one call, timed from now: call it once with the outcome. */
export function recorder(service: ServiceLike, operation: Operation, method: MethodDefinition<object, object>) {
  const startedAt = performance.now();
  return (caller: Caller | undefined, input: Record<string, unknown>, status: number, response: string) => {
    observeRequest('grpc', operation.rpc, status, startedAt);
    if (caller === undefined) return;
    const latencyMs = performance.now() - startedAt;
    service.recordCall?.({ transport: 'grpc', rpc: operation.rpc, route: method.path, caller, input, status, latencyMs, response, sampled: false });
  };
}
