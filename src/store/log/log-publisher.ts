// Appends one entry to the write log: JetStream publish with a dedup id, retried with that same id until acknowledged or out of time.
import crypto from 'node:crypto';
import { Errors, PermioError } from '../../errors.js';
import type { LogConnection } from './log-connection.js';
import { retryOnLog } from './log-retry.js';

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
  try {
    const ack = await retryOnLog(
      conn,
      (timeout) => conn.js.publish(conn.subject, data, { msgID: id, timeout, expect: { streamName: conn.options.stream } }),
      'the write log (NATS) did not acknowledge the write in time',
    );
    return { seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    if (err instanceof PermioError) throw err;
    throw Errors.unavailable(`the write log refused the write (${String((err as Error)?.message ?? err)})`);
  }
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
