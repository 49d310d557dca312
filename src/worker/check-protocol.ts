// Messages between the main thread and a check worker: one packed array of ops in, one of results out.
import type { Delta } from '../store/change-feed.js';
import type { WireError } from '../errors.js';

export const OP_CHECK = 0;
export const OP_APPLY = 1;

export type CheckOp = readonly [typeof OP_CHECK, projectId: string, principal: string, uris: string[], permissions: string[]];
export type ApplyOp = readonly [typeof OP_APPLY, projectId: string, deltas: readonly Delta[]];
export type WorkerOp = CheckOp | ApplyOp;

/** A check answers with the response body as JSON text (built once, in the worker); an apply with 0. */
export type OpResult = string | 0 | WireError;
