// Messages between the main thread and a check worker: one packed array of ops in, one of results out.
import type { WatchEvent } from '../store/change-feed.js';
import type { WireError } from '../errors.js';

/**
 * Separator of the URIs of one check op: the engine walks the joined string in place (`engine/check.ts`), and
 * validated URIs never contain control characters.
 */
export { URI_SEPARATOR } from '../engine/check.js';

/** What every check worker is started with (its `workerData`). */
export interface CheckWorkerData {
  /** The LMDB environment, opened read-only on first use. */
  readonly dataDir: string;
}

export const OP_CHECK = 0;
export const OP_APPLY = 1;
/** Fault injection (PERMIO_FAULT_INJECTION=1 only): the worker thread exits. */
export const OP_CRASH = 2;
/** Drop every loaded project (they reload from LMDB): after the writer restarted mid-write. */
export const OP_RESET = 3;

/**
 * URIs travel as one string joined by {@link URI_SEPARATOR}: msgpackr packs one string far faster than an array of
 * them (REST 100×2 checks: pack was 23 % of the main thread).
 */
export type CheckOp = readonly [typeof OP_CHECK, projectId: string, principal: string, joinedUris: string, permissions: string[]];

/** A committed change's events, in order (the change feed's format). */
export type ApplyOp = readonly [typeof OP_APPLY, projectId: string, events: readonly WatchEvent[]];
export type ControlOp = readonly [typeof OP_CRASH | typeof OP_RESET];
export type WorkerOp = CheckOp | ApplyOp | ControlOp;

/** A check answers with the response body as JSON text (built once, in the worker); an apply with 0. */
export type OpResult = string | 0 | WireError;
