// Reads the write log in stream order from a given sequence, without gap or repeat, and hands it on in batches.
import crypto from 'node:crypto';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { log } from '../../log.js';
import type { LogConnection } from './log-connection.js';
import { unpackEntry } from './log-codec.js';

/** One stored entry of the log. */
export interface LogEntry<T> {
  readonly seq: number;
  /** When JetStream stored it (ms since the epoch, the server's clock): the same on every node. */
  readonly storedAt: number;
  /** The decoded payload; undefined if it is not MessagePack (not written by Permio): every node skips it alike. */
  readonly value: T | undefined;
}

/** Applies entries in order; resolves once they are applied (the follower then hands on the next ones). */
export type EntryHandler<T> = (entries: LogEntry<T>[]) => void | Promise<void>;

const FETCH_BATCH = 1000; // messages per pull request; entries are handed on as they arrive, not per pull
const FETCH_EXPIRES_MS = 10_000; // an idle pull is renewed this often
const HEARTBEAT_MS = 1000; // the server's heartbeat on a pending pull: two missed ones mean the consumer is gone
const MAX_BUFFERED = 4 * FETCH_BATCH; // reading pauses while this many entries wait for the handler
const MAX_PER_CALL = 256; // entries per handler call (one LMDB transaction on the writer)
const RESTART_BACKOFF_MS = [100, 250, 500, 1000, 2000];
const HANDLER_RETRY_MS = 1000;
const CONSUMER_IDLE_MS = 60_000; // the server drops a consumer its node stopped reading (crash) after this

/**
 * Follows the log from sequence `from`: an ordered (ephemeral, client-checked) JetStream consumer, recreated at the
 * next sequence on any error or gap, so the handler sees every sequence once, in order. Reading pauses while the
 * handler is behind (bounded memory during a catch-up). A handler that throws is retried with the same entries.
 */
export class LogFollower<T> {
  private next: number;
  private handledSeq: number;
  private streamEnd = 0;
  private buffer: LogEntry<T>[] = [];
  private draining = false;
  private drainWaiters: (() => void)[] = [];
  private current: ConsumerMessages | undefined;
  /** Why the current pull was cut short by us (a lost connection, missed heartbeats); `follow` rethrows it. */
  private abortReason: Error | undefined;
  private stopped = false;
  private wakeStop: () => void = () => {};
  private readonly stopSignal = new Promise<void>((r) => (this.wakeStop = r));
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly conn: LogConnection,
    from: number,
    private readonly handler: EntryHandler<T>,
  ) {
    this.next = from;
    this.handledSeq = from - 1;
    conn.onChange((up) => {
      if (!up) this.abort(new Error('the NATS connection dropped'));
    });
  }

  /** The last sequence the handler has applied. */
  get handled(): number {
    return this.handledSeq;
  }

  /** The highest stream sequence this follower has heard of (from delivered entries' pending counts). */
  get knownEnd(): number {
    return Math.max(this.streamEnd, this.handledSeq);
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeStop();
    this.abort(new Error('stopped'));
    await this.loop;
    while (this.draining) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      await Promise.race([this.conn.whenConnected(), this.stopSignal]);
      if (this.stopped) return;
      try {
        await this.follow(() => (failures = 0));
      } catch (err) {
        if (this.stopped) return;
        const pause = RESTART_BACKOFF_MS[Math.min(failures++, RESTART_BACKOFF_MS.length - 1)]!;
        log.warn('log: follower restarting', { at_seq: this.next, error: String((err as Error)?.message ?? err), pause_ms: pause });
        await Promise.race([new Promise((r) => setTimeout(r, pause)), this.stopSignal]);
      }
    }
  }

  /** One consumer's life: pulls until stopped or an error (then `run` makes a new consumer at `next`). */
  private async follow(onProgress: () => void): Promise<void> {
    const { stream, nodeId } = this.conn.options;
    const consumer = await this.conn.js.consumers.get(stream, {
      // a fresh name each time: the previous consumer may still exist on the server
      name_prefix: `permio_${nodeId.replace(/[^A-Za-z0-9_-]/g, '_')}_${crypto.randomBytes(4).toString('hex')}`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.next,
      inactive_threshold: CONSUMER_IDLE_MS,
    });
    try {
      while (!this.stopped) {
        const messages = await consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_EXPIRES_MS, idle_heartbeat: HEARTBEAT_MS });
        this.current = messages;
        void this.watch(messages);
        for await (const m of messages) {
          if (m.seq !== this.next) throw new Error(`the log skipped from ${this.next} to ${m.seq}`);
          this.next++;
          this.streamEnd = Math.max(this.streamEnd, m.seq + m.info.pending);
          this.buffer.push({ seq: m.seq, storedAt: Math.floor(m.info.timestampNanos / 1e6), value: decode<T>(m.seq, m.data) });
          this.scheduleDrain();
          onProgress();
          if (this.buffer.length >= MAX_BUFFERED) await this.whenDrained();
        }
        if (this.abortReason) throw this.abortReason;
      }
    } finally {
      this.current = undefined;
      this.abortReason = undefined;
      consumer.delete().catch(() => {}); // best effort; the server drops it once idle anyway
    }
  }

  /**
   * Ends the pull at once when its consumer is lost (the server holding it died or restarted): the client library
   * would find out too, but only after its own, slower, backoff.
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed' || s.type === 'consumer_deleted' || s.type === 'consumer_not_found') {
        this.abort(new Error(`the log consumer was lost (${s.type})`));
      }
    }
  }

  private abort(reason: Error): void {
    if (!this.current || this.abortReason) return;
    this.abortReason = reason;
    this.current.stop();
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => void this.drain()); // every message of this socket read joins the batch
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.stopped) {
      const batch = this.buffer.slice(0, MAX_PER_CALL);
      try {
        await this.handler(batch);
      } catch (err) {
        log.error('log: applying entries failed; retrying', { from_seq: batch[0]!.seq, error: String((err as Error)?.stack ?? err) });
        await Promise.race([new Promise((r) => setTimeout(r, HANDLER_RETRY_MS)), this.stopSignal]);
        continue;
      }
      this.buffer.splice(0, batch.length);
      this.handledSeq = batch[batch.length - 1]!.seq;
    }
    this.draining = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private whenDrained(): Promise<void> {
    if (!this.draining) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }
}

function decode<T>(seq: number, data: Uint8Array): T | undefined {
  try {
    return unpackEntry<T>(data);
  } catch {
    log.error('log: an entry is not MessagePack; skipped', { seq, bytes: data.length });
    return undefined;
  }
}
