// Routes ops by project to check workers: one single-thread piscina pool per shard, so a project always
// lands on the same thread, and ops queued in one event-loop turn travel as one message.
import { Piscina, move } from 'piscina';
import { Errors, fromWire } from '../errors.js';
import type { Change, WatchEvent } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import { log } from '../log.js';
import { OP_APPLY, OP_CHECK, OP_CRASH, OP_RESET, type CheckWorkerData, type OpResult, type TimedAnswer, type WorkerOp } from './check-protocol.js';

interface Shard {
  readonly piscina: Piscina;
  ops: WorkerOp[];
  waiters: ((r: OpResult) => void)[];
  /** A batch is with the worker: new ops wait and leave together when it returns (adaptive batching). */
  busy: boolean;
  /** A flush is scheduled for this event-loop turn. */
  scheduled: boolean;
}

/** Applied by a check worker, PROJECT_DELETED drops the project's index; the next check loads it from LMDB. */
const RELOAD_PROJECT: readonly WatchEvent[] = Object.freeze([{ type: 'PROJECT_DELETED' }]);

export class CheckPool {
  private readonly shards: Shard[];

  constructor(workers: number, dataDir: string) {
    this.shards = Array.from({ length: workers }, () => ({
      piscina: new Piscina({
        filename: new URL('./check-worker.js', import.meta.url).href,
        minThreads: 1,
        maxThreads: 1,
        concurrentTasksPerWorker: 1, // strict FIFO per shard: an applied change is seen by every later check
        idleTimeout: Number.POSITIVE_INFINITY,
        workerData: { dataDir } satisfies CheckWorkerData,
      }),
      ops: [],
      waiters: [],
      busy: false,
      scheduled: false,
    }));
  }

  /** Ops queued per worker (not yet sent, plus sent batches piscina has not started). */
  queueDepths(): number[] {
    return this.shards.map((s) => s.ops.length + s.piscina.queueSize);
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

  /**
   * Resolves to the check response body as JSON text, or a {@link TimedAnswer} holding it when the answer depends on
   * the time; `joinedUris` are joined by URI_SEPARATOR, time-bounded grants are judged at `now` (ms).
   */
  async check(projectId: string, principal: string, joinedUris: string, permissions: string[], now: number): Promise<string | TimedAnswer> {
    const r = await this.enqueue(this.shardOf(projectId), [OP_CHECK, projectId, principal, joinedUris, permissions, now]);
    if (typeof r === 'string' || Array.isArray(r)) return r as string | TimedAnswer;
    throw r === 0 ? Errors.internal() : fromWire(r as Exclude<OpResult, string | TimedAnswer | 0>);
  }

  /** Queues a committed change's events to the owning worker (a change feed listener); every check enqueued after this sees it. */
  applyChange(change: Change): void {
    const projectId = change.project_id;
    if (projectId === undefined || (change.events.length === 0 && change.elided_events === undefined)) return;
    // too many events to replay (a large import): the worker drops the project's index and loads what is committed
    const events = change.elided_events === undefined ? change.events : RELOAD_PROJECT;
    void this.enqueue(this.shardOf(projectId), [OP_APPLY, projectId, events]).catch(() => {
      // The worker died: its replacement loads the committed state from LMDB.
    });
  }

  /** Every worker drops its indexes and reloads from LMDB on next use (a write may have committed unannounced). */
  reset(): void {
    for (let i = 0; i < this.shards.length; i++) void this.enqueue(i, [OP_RESET]);
  }

  /** Fault injection: makes shard `index`'s thread exit; piscina starts a replacement. */
  async crash(index: number): Promise<void> {
    await this.enqueue(index % this.shards.length, [OP_CRASH]);
  }

  private enqueue(shardIndex: number, op: WorkerOp): Promise<OpResult> {
    const shard = this.shards[shardIndex]!;
    if (!shard.busy && !shard.scheduled) {
      shard.scheduled = true;
      setImmediate(() => this.flush(shard));
    }
    shard.ops.push(op);
    return new Promise((resolve) => shard.waiters.push(resolve));
  }

  /**
   * Sends everything queued for the shard as one task. At most one batch per shard is in flight: under
   * load, requests arriving meanwhile form the next batch, so the per-task cost is paid once per batch.
   */
  private flush(shard: Shard): void {
    shard.scheduled = false;
    if (shard.ops.length === 0) return;
    const { ops, waiters } = shard;
    shard.ops = [];
    shard.waiters = [];
    shard.busy = true;
    shard.piscina.run(move(packForTransfer(ops))).then(
      (bytes: Uint8Array) => {
        const results = unpack<OpResult[]>(bytes);
        this.next(shard);
        for (let i = 0; i < waiters.length; i++) waiters[i]!(results[i]!);
      },
      (err: unknown) => {
        log.error('check worker failed; it is restarted and reloads from LMDB', { error: String(err) });
        this.next(shard);
        const e = Errors.unavailable('the check worker restarted; retry the request');
        const wire = { ok: false as const, status: e.status, message: e.message };
        for (const w of waiters) w(wire);
      },
    );
  }

  private next(shard: Shard): void {
    shard.busy = false;
    if (shard.ops.length > 0) this.flush(shard);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.piscina.destroy()));
  }
}

