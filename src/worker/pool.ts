// Routes ops by project to check workers: one worker thread per shard, so a project always lands on the same
// thread, and ops queued in one event-loop turn travel as one message. A plain worker_threads Worker and its
// port, not a task-pool library: a round trip costs about half the CPU of a piscina task (no task record, async
// resource and promise per batch, no Atomics wake on top of the message), and at half load most batches hold one
// check, so that cost is paid per check.
import { Worker } from 'node:worker_threads';
import { Errors, fromWire } from '../errors.js';
import type { Change } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import { log } from '../log.js';
import { OP_APPLY, OP_CHECK, OP_CRASH, OP_RESET, type CheckWorkerData, type OpResult, type WorkerOp } from './check-protocol.js';

interface Shard {
  worker: Worker;
  ops: WorkerOp[];
  waiters: ((r: OpResult) => void)[];
  /** The waiters of the batch with the worker (at most one: adaptive batching), or undefined. */
  inFlight: ((r: OpResult) => void)[] | undefined;
  /** A flush is scheduled for this event-loop turn. */
  scheduled: boolean;
}

export class CheckPool {
  private readonly shards: Shard[];
  private closing = false;

  constructor(
    workers: number,
    private readonly dataDir: string,
  ) {
    this.shards = Array.from({ length: workers }, () => {
      const shard = { ops: [], waiters: [], inFlight: undefined, scheduled: false } as unknown as Shard;
      this.start(shard);
      return shard;
    });
  }

  /** Starts the shard's thread; one that exits is replaced (and reloads from LMDB), failing the batch it held. */
  private start(shard: Shard): void {
    const worker = new Worker(new URL('./check-worker.js', import.meta.url), { workerData: { dataDir: this.dataDir } satisfies CheckWorkerData });
    shard.worker = worker;
    worker.unref(); // referenced only while a batch is out, like any pending I/O
    worker.on('message', (bytes: Uint8Array) => {
      const waiters = shard.inFlight!;
      const results = unpack<OpResult[]>(bytes);
      this.next(shard);
      for (let i = 0; i < waiters.length; i++) waiters[i]!(results[i]!);
    });
    worker.on('error', (err) => log.error('check worker failed; it is restarted and reloads from LMDB', { error: String(err) }));
    worker.on('exit', () => {
      if (this.closing) return;
      const waiters = shard.inFlight;
      this.start(shard);
      if (waiters !== undefined) {
        const e = Errors.unavailable('the check worker restarted; retry the request');
        const wire = { ok: false as const, status: e.status, message: e.message };
        this.next(shard);
        for (const w of waiters) w(wire);
      }
    });
  }

  /** Ops queued per worker and not yet sent. */
  queueDepths(): number[] {
    return this.shards.map((s) => s.ops.length);
  }

  /** The shard that owns a project: FNV-1a over its id, then a murmur3 finalizer (FNV's low bits follow the
   *  characters' parity, so sequence ids spaced evenly all landed on one of two workers). */
  shardOf(projectId: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < projectId.length; i++) h = Math.imul(h ^ projectId.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) % this.shards.length;
  }

  /** Resolves to the check response body as JSON text; `joinedUris` are joined by URI_SEPARATOR. */
  async check(projectId: string, principal: string, joinedUris: string, permissions: string[]): Promise<string> {
    const r = await this.enqueue(this.shardOf(projectId), [OP_CHECK, projectId, principal, joinedUris, permissions]);
    if (typeof r === 'string') return r;
    throw r === 0 ? Errors.internal() : fromWire(r);
  }

  /** Queues a committed change's events to the owning worker (a change feed listener); every check enqueued after this sees it. */
  applyChange(change: Change): void {
    const projectId = change.project_id;
    if (projectId === undefined || change.events.length === 0) return;
    void this.enqueue(this.shardOf(projectId), [OP_APPLY, projectId, change.events]).catch(() => {
      // The worker died: its replacement loads the committed state from LMDB.
    });
  }

  /** Every worker drops its indexes and reloads from LMDB on next use (a write may have committed unannounced). */
  reset(): void {
    for (let i = 0; i < this.shards.length; i++) void this.enqueue(i, [OP_RESET]);
  }

  /** Fault injection: makes shard `index`'s thread exit; its replacement reloads from LMDB. */
  async crash(index: number): Promise<void> {
    await this.enqueue(index % this.shards.length, [OP_CRASH]);
  }

  private enqueue(shardIndex: number, op: WorkerOp): Promise<OpResult> {
    const shard = this.shards[shardIndex]!;
    if (shard.inFlight === undefined && !shard.scheduled) {
      shard.scheduled = true;
      setImmediate(() => this.flush(shard));
    }
    shard.ops.push(op);
    return new Promise((resolve) => shard.waiters.push(resolve));
  }

  /**
   * Sends everything queued for the shard as one message. At most one batch per shard is in flight: under
   * load, requests arriving meanwhile form the next batch, so the per-message cost is paid once per batch.
   */
  private flush(shard: Shard): void {
    shard.scheduled = false;
    if (shard.ops.length === 0) return;
    const bytes = packForTransfer(shard.ops);
    shard.inFlight = shard.waiters;
    shard.ops = [];
    shard.waiters = [];
    shard.worker.ref();
    shard.worker.postMessage(bytes, [bytes.buffer]);
  }

  private next(shard: Shard): void {
    shard.inFlight = undefined;
    shard.worker.unref();
    if (shard.ops.length > 0) this.flush(shard);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }
}
