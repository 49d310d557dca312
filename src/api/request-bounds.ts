// The work one request may ask of the main thread before it is refused (SPEC §13), the same on both transports.

/** Deepest nesting accepted; the top-level object counts as one (SPEC §13). */
export const MAX_REQUEST_DEPTH = 32;

/**
 * Most members + elements in one JSON body (fields in one gRPC message): ten times the largest legal Check (10,000
 * pairs). It bounds decoding work by something else than bytes: 16 MiB of `{},` would be 5.6 M objects, seconds of
 * `JSON.parse` on the main thread.
 */
export const MAX_REQUEST_ITEMS = 100_000;
