// Appends one entry to the write log: JetStream publish with a dedup id, retried with that same id until acknowledged or out of time.
import crypto from 'node:crypto';
import { errors as natsErrors } from '@nats-io/transport-node';
import { Errors } from '../../errors.js';
import type { LogConnection } from './log-connection.js';

const ATTEMPT_TIMEOUT_MS = 1000; // one publish waits this long for its ack…
const PUBLISH_BUDGET_MS = 10_000; // …and is retried (same id) until this much time has passed: a stream leader election (4–9 s in nats-server 2.9) fits in it
const RETRY_PAUSE_MS = 100;
const RECONNECT_GRACE_MS = 2000; // a dropped connection may come back (another server of the cluster) before the write fails
const BOOT_ID_BYTES = 6;

/** Where JetStream stored an entry; `duplicate` when an earlier attempt with the same id had already been stored. */
export interface Appended {
  readonly seq: number;
  readonly duplicate: boolean;
}

/**
 * Publishes `data` under the dedup id `id` and resolves to its stream sequence. A retry of a publish whose ack was
 * lost is answered by JetStream with the sequence of the stored copy (duplicate window, 2 min by default), so an
 * entry is stored at most once however often it is retried. Rejects with 503 when NATS is unreachable or the
 * budget runs out — the entry may then still have been stored, and every node applies it alike — and with 413
 * when the entry is larger than the server's message limit.
 */
export async function appendEntry(conn: LogConnection, data: Uint8Array, id: string): Promise<Appended> {
  if (data.length > conn.maxPayload) {
    throw Errors.payloadTooLarge(conn.maxPayload); // the server's max_payload (nats-server default 1 MiB)
  }
  const start = performance.now();
  const deadline = start + PUBLISH_BUDGET_MS;
  let lastError: unknown;
  for (;;) {
    if (!conn.connected && !(await reconnected(conn, start + RECONNECT_GRACE_MS - performance.now()))) break;
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      const ack = await conn.js.publish(conn.subject, data, {
        msgID: id,
        timeout: Math.min(ATTEMPT_TIMEOUT_MS, Math.ceil(left)),
        expect: { streamName: conn.options.stream },
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (!isTransient(err)) throw Errors.unavailable(`the write log refused the write (${String((err as Error)?.message ?? err)})`);
      lastError = err;
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }
  throw Errors.unavailable(
    lastError === undefined ? 'the write log (NATS) is unreachable' : 'the write log (NATS) did not acknowledge the write in time',
  );
}

/** Waits up to `ms` for the connection to come back; true if it did. */
async function reconnected(conn: LogConnection, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const back = await Promise.race([conn.whenConnected().then(() => true), timeout]);
  clearTimeout(timer);
  return back;
}

/** No ack in time, nobody answering the subject (no stream leader yet), or the connection went away meanwhile. */
function isTransient(err: unknown): boolean {
  return (
    err instanceof natsErrors.TimeoutError ||
    err instanceof natsErrors.NoRespondersError ||
    err instanceof natsErrors.RequestError ||
    err instanceof natsErrors.ConnectionError ||
    (err as Error)?.name === 'JetStreamNotEnabled' // what the client calls "no responders" on a JetStream subject
  );
}

/** Dedup ids for one process: `node.boot.counter`, unique across nodes and restarts. */
export class EntryIds {
  private readonly prefix: string;
  private counter = 0;

  constructor(nodeId: string) {
    this.prefix = `${nodeId}.${crypto.randomBytes(BOOT_ID_BYTES).toString('base64url')}.`;
  }

  next(): string {
    return this.prefix + (++this.counter).toString(36);
  }
}
