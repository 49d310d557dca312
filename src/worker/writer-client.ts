// Main-thread side of the writer thread: stamps and sends commands (batched per event-loop turn), publishes each
// group commit's changes to the change feed in commit order, then resolves the callers' results.
import { Worker } from 'node:worker_threads';
import { Errors, fromWire, PermioError } from '../errors.js';
import { observeWriterBatch } from '../metrics.js';
import { log } from '../log.js';
import { stampCommand, type LoggedCommand } from '../store/commands.js';
import { now } from '../clock.js';
import type { ChangeFeed } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import type { ReplicaStatus } from './writer-replica.js';
import type { LogEndAnswer, StorageStatus, WriterOptions, WriterReady, WriterReply, WriterRequest } from './writer-thread.js';

type WriterMessage = Uint8Array | WriterReady | LogEndAnswer | StorageStatus | { replica: ReplicaStatus } | { fatal: string } | 'closed';

/** A committed, durable write: the command's value and its revision (its change is on the feed). */
export interface Committed {
  value: unknown;
  revision: number;
}

interface Pending {
  sentAt: number;
  resolve(c: Committed): void;
  reject(e: PermioError): void;
}

/** Owns the writer thread; restarts it if it dies (in-flight writes are failed with 503, never half-acknowledged). */
export class WriterClient {
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private outbox: WriterRequest[] = [];
  private closing = false;
  /** The thread opened the store once: from then on, a thread that dies is restarted. */
  private started = false;
  private readonly logEndQueries = new Map<number, { resolve(revision: number): void; reject(e: PermioError): void }>();
  /** Cluster mode: the log as the writer thread last reported it. */
  replica: ReplicaStatus | undefined;
  /** The disk trouble the last commit met (full, failing), until a commit succeeds again. */
  storageTrouble: string | undefined;

  /**
   * @param onRestart called with the writer's revision when its thread died and was restarted: a write it
   *   committed may not have been answered nor dispatched, so caches and check workers must reload from LMDB.
   */
  private constructor(
    private readonly options: WriterOptions,
    private readonly feed: ChangeFeed,
    private readonly onRestart: (revision: number) => void,
    private readonly onFatal: (reason: string) => void,
  ) {}

  /**
   * Starts the writer thread; the feed's `applied` starts at the store's revision.
   * @param onFatal cluster mode: the store and the log disagree (the writer thread stops following the log).
   */
  static async start(
    options: WriterOptions,
    feed: ChangeFeed,
    onRestart: (revision: number) => void,
    onFatal: (reason: string) => void,
  ): Promise<WriterClient> {
    const client = new WriterClient(options, feed, onRestart, onFatal);
    feed.advance(await client.spawn());
    return client;
  }

  private spawn(): Promise<number> {
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: this.options });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: WriterMessage) => {
        if (msg === 'closed') return;
        if (msg instanceof Uint8Array) return this.receive(unpack<WriterReply>(msg));
        if ('ready' in msg) {
          this.started = true;
          this.storageTrouble = undefined; // a restarted thread reports the disk afresh, at its first failed commit
          return resolve(msg.revision);
        }
        if ('replica' in msg) return void (this.replica = msg.replica);
        if ('storage' in msg) return void (this.storageTrouble = msg.storage ?? undefined);
        if ('fatal' in msg) return this.onFatal(msg.fatal);
        this.answerLogEnd(msg);
      });
      worker.on('error', (err) => {
        log.error('writer thread error', { error: String(err?.stack ?? err) });
        reject(err);
      });
      worker.on('exit', (code) => {
        if (this.closing || !this.started) return; // a thread that never got the store open fails the start instead
        log.error('writer thread exited; restarting', { code });
        for (const p of this.pending.values()) p.reject(Errors.unavailable('the writer restarted; the write was not applied'));
        this.pending.clear();
        for (const q of this.logEndQueries.values()) q.reject(Errors.unavailable('the writer restarted'));
        this.logEndQueries.clear();
        void this.spawn().then(this.onRestart);
      });
    });
  }

  /** One group commit: its changes go to the feed first (commit order), then its callers are answered. */
  private receive(reply: WriterReply): void {
    const first = this.pending.get(reply.answers[0]?.[0] ?? -1);
    if (first) observeWriterBatch(reply.answers.length, (performance.now() - first.sentAt) / 1000);
    for (let i = 0; i < reply.changes.length; i++) this.feed.publish(reply.changes[i]!);
    this.feed.advance(reply.revision);
    for (const [id, result] of reply.answers) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      if (result.ok) p.resolve({ value: result.value, revision: result.revision });
      else p.reject(fromWire(result));
    }
  }

  /** Stamps `body` with the time and a nonce and sends it; resolves once it is committed and flushed to disk. */
  write(body: LoggedCommand): Promise<Committed> {
    if (this.closing) return Promise.reject(Errors.unavailable('shutting down'));
    const id = this.nextId++;
    if (this.outbox.length === 0) setImmediate(() => this.flushOutbox());
    this.outbox.push([id, stampCommand(body, now())]);
    return new Promise((resolve, reject) => this.pending.set(id, { sentAt: performance.now(), resolve, reject }));
  }

  private flushOutbox(): void {
    const bytes = packForTransfer(this.outbox);
    this.outbox = [];
    this.worker.postMessage(bytes, [bytes.buffer]);
  }

  /** Cluster mode: the revision the log ends at now (asked of JetStream); 503 when NATS cannot say. */
  logEnd(): Promise<number> {
    const id = this.nextId++;
    this.worker.postMessage({ logEnd: id });
    return new Promise((resolve, reject) => this.logEndQueries.set(id, { resolve, reject }));
  }

  private answerLogEnd(answer: LogEndAnswer): void {
    const q = this.logEndQueries.get(answer.logEnd);
    if (!q) return;
    this.logEndQueries.delete(answer.logEnd);
    if ('revision' in answer) q.resolve(answer.revision);
    else q.reject(fromWire(answer.error));
  }

  /** Fault injection: makes the writer thread exit; it is restarted on its `exit` event. */
  crash(): void {
    this.worker.postMessage('crash');
  }

  /** Waits for in-flight writes, then lets the writer flush and close LMDB. */
  async close(): Promise<void> {
    while (this.pending.size > 0 || this.outbox.length > 0) await new Promise((r) => setTimeout(r, 5));
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.worker.on('message', (m) => m === 'closed' && resolve());
      this.worker.postMessage('close');
    });
    await this.worker.terminate();
  }
}
