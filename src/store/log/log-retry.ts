// One call to JetStream, retried through a reconnect (another server of the cluster) and a stream leader election.
import { errors as natsErrors } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Errors } from '../../errors.js';
import type { LogConnection } from './log-connection.js';

const ATTEMPT_TIMEOUT_MS = 1000; // one attempt waits this long for its answer…
const BUDGET_MS = 10_000; // …and is retried until this much time has passed: a stream leader election (4–9 s in nats-server 2.9) fits in it
const RETRY_PAUSE_MS = 100;
const RECONNECT_GRACE_MS = 2000; // a dropped connection may come back this soon before the call fails
const UNAVAILABLE_STATUS = 503;

/**
 * Runs `attempt` (given the milliseconds it may take) until it succeeds. Rejects with 503 — `timedOut` when attempts
 * kept failing, `unreachable` when the connection is down and stays down past the grace — or with the error of an
 * attempt that failed for good (not a timeout, a missing responder or a lost connection).
 */
export async function retryOnLog<T>(
  conn: LogConnection,
  attempt: (timeoutMs: number) => Promise<T>,
  timedOut: string,
): Promise<T> {
  const start = performance.now();
  const deadline = start + BUDGET_MS;
  let failed = false;
  for (;;) {
    if (!conn.connected && !(await connectedWithin(conn, start + RECONNECT_GRACE_MS - performance.now()))) break;
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      return await attempt(Math.min(ATTEMPT_TIMEOUT_MS, Math.ceil(left)));
    } catch (err) {
      if (!isTransient(err)) throw err;
      failed = true;
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }
  throw Errors.unavailable(failed ? timedOut : 'the write log (NATS) is unreachable');
}

/** Waits up to `ms` for the connection to come back; true if it did. */
async function connectedWithin(conn: LogConnection, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const back = await Promise.race([conn.whenConnected().then(() => true), timeout]);
  clearTimeout(timer);
  return back;
}

/** No answer in time, nobody answering (no stream leader yet), the connection went away, or JetStream said "try again". */
function isTransient(err: unknown): boolean {
  return (
    err instanceof natsErrors.TimeoutError ||
    err instanceof natsErrors.NoRespondersError ||
    err instanceof natsErrors.RequestError ||
    err instanceof natsErrors.ConnectionError ||
    (err instanceof JetStreamApiError && err.status === UNAVAILABLE_STATUS) ||
    (err as Error)?.name === 'JetStreamNotEnabled' // what the client calls "no responders" on a JetStream subject
  );
}
