// Main-thread side of the writer thread: sends commands (batched per event-loop turn) and resolves their results.
import { Worker } from 'node:worker_threads';
import { Errors, fromWire, PermioError } from '../errors.js';
import { observeWriterBatch } from '../metrics.js';
import { log } from '../log.js';
import type { WriteCommand } from '../store/commands.js';
import type { ProjectChange } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import type { WriterReply, WriterRequest } from './writer-thread.js';

/** A committed, durable write: the command's value and the change to replay in the check workers. */
export interface Committed {
  value: unknown;
  change?: ProjectChange;
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

  /**
   * @param onRestart called when the writer thread died and was restarted: a write it committed may not
   *   have been answered, so caches and check workers must reload from LMDB.
   */
  private constructor(
    private readonly dataDir: string,
    private readonly onRestart: () => void,
  ) {}

  static async start(dataDir: string, onRestart: () => void): Promise<WriterClient> {
    const client = new WriterClient(dataDir, onRestart);
    await client.spawn();
    return client;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: { dataDir: this.dataDir } });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: Uint8Array | 'ready' | 'closed') => {
        if (msg === 'ready') return resolve();
        if (msg === 'closed') return;
        const reply = unpack<WriterReply>(msg);
        const first = this.pending.get(reply[0]?.[0] ?? -1);
        if (first) observeWriterBatch(reply.length, (performance.now() - first.sentAt) / 1000);
        for (const [id, result] of reply) {
          const p = this.pending.get(id);
          if (!p) continue;
          this.pending.delete(id);
          if (result.ok) p.resolve({ value: result.value, change: result.change });
          else p.reject(fromWire(result));
        }
      });
      worker.on('error', (err) => {
        log.error('writer thread error', { error: String(err?.stack ?? err) });
        reject(err);
      });
      worker.on('exit', (code) => {
        if (this.closing) return;
        log.error('writer thread exited; restarting', { code });
        for (const p of this.pending.values()) p.reject(Errors.unavailable('the writer restarted; the write was not applied'));
        this.pending.clear();
        void this.spawn().then(this.onRestart);
      });
    });
  }

  /** Sends one command; resolves once it is committed and flushed to disk. */
  write(cmd: WriteCommand): Promise<Committed> {
    if (this.closing) return Promise.reject(Errors.unavailable('shutting down'));
    const id = this.nextId++;
    if (this.outbox.length === 0) setImmediate(() => this.flushOutbox());
    this.outbox.push([id, cmd]);
    return new Promise((resolve, reject) => this.pending.set(id, { sentAt: performance.now(), resolve, reject }));
  }

  private flushOutbox(): void {
    const bytes = packForTransfer(this.outbox);
    this.outbox = [];
    this.worker.postMessage(bytes, [bytes.buffer]);
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
