// A Watch that survives dropped connections: it reopens the stream after the last revision it delivered (SPEC §7, §10).
import { PermioError } from './errors.js';
import { sleep } from './retry.js';
import type { Message } from './transport.js';

/** First wait before reopening; doubles per failed attempt up to {@link MAX_RECONNECT_WAIT_MS}. */
const FIRST_RECONNECT_WAIT_MS = 100;
const MAX_RECONNECT_WAIT_MS = 2_000;
/** How long the watch keeps trying to reopen without getting a message before it gives up (a server restart fits). */
export const RECONNECT_WINDOW_MS = 30_000;

const GRANT_EVENTS: ReadonlySet<unknown> = new Set(['GRANT', 'REVOKE', 'GRANT_EXPIRED']);

/**
 * A gRPC Watch message (defaults decoded) → the REST message: a schema event's `permissions` and `roles` (empty
 * repeated fields of the flat event message) are dropped, so both transports yield the same JSON.
 */
export function watchMessage(message: Message): Message {
  const events = message.events as Message[] | undefined;
  if (events === undefined) return message;
  return {
    ...message,
    events: events.map((e) => {
      if (GRANT_EVENTS.has(e.type)) return e;
      const { permissions: _p, roles: _r, ...rest } = e;
      return rest;
    }),
  };
}

/** Whether the stream may be reopened after `err`: the connection dropped, or the server answered 503 or 429 (slow consumer). */
function resumable(err: unknown): err is PermioError {
  return err instanceof PermioError && (err.unreachable || err.status === 503 || err.status === 429);
}

/**
 * Yields the messages of `open(request)`; when the connection drops, reopens with `after_revision` = the last delivered
 * message's revision (the server replays what was missed, no gap, no duplicate). Ends when the server ends the stream
 * (after `PROJECT_DELETED`) or `signal` aborts; throws the server's error answers (400, 401, 403, 404).
 */
export async function* resumingWatch(
  open: (request: Message, signal: AbortSignal) => AsyncIterable<Message>,
  request: Message,
  signal: AbortSignal,
): AsyncGenerator<Message> {
  let after = request.after_revision as string | undefined;
  let failures = 0;
  let lastProgress = Date.now();
  for (;;) {
    try {
      const stream = open(after === undefined ? request : { ...request, after_revision: after }, signal);
      for await (const message of stream) {
        failures = 0;
        lastProgress = Date.now();
        if (typeof message.revision === 'string') after = message.revision;
        yield message;
      }
      return;
    } catch (err) {
      if (signal.aborted) return;
      if (!resumable(err) || Date.now() - lastProgress > RECONNECT_WINDOW_MS) throw err;
      const wait = err.retryAfterMs ?? Math.min(FIRST_RECONNECT_WAIT_MS * 2 ** failures++, MAX_RECONNECT_WAIT_MS);
      await sleep(wait);
    }
  }
}
