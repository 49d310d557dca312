// Cluster mode's writer (SPEC §12): publishes each group commit to the shared log and applies the log in stream
// order — this node's entries and every other node's — answering a caller once its own entry is applied here.
import { Errors, toPermioError, type WireError } from '../errors.js';
import { log } from '../log.js';
import type { ClusterConfig } from '../config.js';
import type { WriteCommand } from '../store/commands.js';
import type { Store } from '../store/env.js';
import { StorageTrouble } from '../store/storage-trouble.js';
import type { StoreWriter, WriteResult } from '../store/writer.js';
import { LogConnection } from '../store/log/log-connection.js';
import { appendEntry, EntryIds } from '../store/log/log-publisher.js';
import { retryOnLog } from '../store/log/log-retry.js';
import { LogFollower, type LogEntry } from '../store/log/log-follower.js';
import { packEntry } from '../store/log/log-codec.js';
import { COMMANDS_PER_ENTRY, revisionOf, seqOfRevision } from '../store/log/log-revisions.js';
import { checkReplicaOf, ReplicaMismatch } from '../store/log/replica-identity.js';
import type { WriterReply, WriterRequest } from './writer-thread.js';

/** One log entry: one node's group commit; `id` is also its JetStream dedup id. */
interface EntryValue {
  id: string;
  cmds: WriteCommand[];
}

/** What the main thread hears about the log (healthz, metrics). */
export interface ReplicaStatus {
  connected: boolean;
  /** Has applied the log up to where it ended when this node first reached it (then ready). */
  caughtUp: boolean;
  /** Entries stored in the log and not applied here yet, as far as this node knows. */
  lagEntries: number;
}

/** What a caller answered 503 for a write already in the log is told: it is not lost (SPEC §12). */
const IN_THE_LOG = 'the write is in the log and every node applies it, this one once it can';
const WRITE_BUDGET_MS = 15_000; // publish (≤ 10 s, see log-publisher) plus applying it here, or the caller gets 503
const STATUS_INTERVAL_MS = 1000; // the stream's end is polled this often (lag while nothing arrives)
const ATTACH_RETRY_MS = 500;
const LAG_REPORT_MS = 100; // the lag gauge is refreshed at most this often (the poll below catches the last change)

interface PendingEntry {
  requestIds: number[];
  timer: NodeJS.Timeout;
}

/** The answers and changes of applied commands; `requestIds[i]` is undefined for another node's command. */
export function replyOf(results: readonly WriteResult[], requestIds: readonly (number | undefined)[], revision: number): WriterReply {
  const reply: WriterReply = { changes: [], answers: [], revision };
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.ok) reply.changes.push(r.change);
    const id = requestIds[i];
    if (id !== undefined) reply.answers.push([id, r.ok ? { ok: true, value: r.value, revision: r.change.revision } : r]);
  }
  return reply;
}

/**
 * Owns the log connection of the writer thread. `submit` publishes a group commit as one entry (or several, over
 * {@link COMMANDS_PER_ENTRY} or the server's message size); the follower hands every entry, in sequence order, to
 * `apply`, which commits it with the revisions the sequence gives — the applied position is the writer's revision,
 * stored in the same transaction — and posts the changes, and the answers of this node's callers.
 */
export class LogReplica {
  private readonly conn: LogConnection;
  private readonly ids: EntryIds;
  private readonly pending = new Map<string, PendingEntry>();
  private follower: LogFollower<EntryValue> | undefined;
  /** Last entry applied (committed). */
  private appliedSeq: number;
  /** The stream's end when this node first reached it: ready once applied. */
  private catchUpTarget = Number.POSITIVE_INFINITY;
  private streamEnd = 0;
  private lastStatus: ReplicaStatus | undefined;
  private lastPostedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly writer: StoreWriter,
    private readonly options: ClusterConfig,
    private readonly post: (msg: WriterReply | { replica: ReplicaStatus } | { fatal: string }) => void,
  ) {
    this.conn = new LogConnection({ urls: options.natsUrls, stream: options.stream, replicas: options.replicas, nodeId: options.nodeId });
    this.ids = new EntryIds(options.nodeId);
    this.appliedSeq = seqOfRevision(writer.revision);
  }

  /**
   * Every revision up to this one is applied: through the end of the last applied entry, as `apply` reports it (the
   * store holds the revision of that entry's last command, which would put a restarted node behind the others).
   */
  get appliedRevision(): number {
    return this.appliedSeq === 0 ? 0 : revisionOf(this.appliedSeq, COMMANDS_PER_ENTRY - 1);
  }

  start(): void {
    this.conn.onChange(() => this.report());
    this.conn.start();
    void this.attach();
    setInterval(() => void this.poll(), STATUS_INTERVAL_MS).unref();
    this.report();
  }

  /** The revision the log ends at (fully consistent reads and writes wait for it); rejects with 503 when NATS cannot say. */
  async logEnd(): Promise<number> {
    const { lastSeq } = await retryOnLog(this.conn, () => this.conn.streamState(), 'the write log (NATS) did not say where it ends in time');
    return lastSeq === 0 ? 0 : revisionOf(lastSeq, COMMANDS_PER_ENTRY - 1);
  }

  /** Publishes the queued requests; each is answered once applied here, or failed (503) within the write budget. */
  submit(requests: readonly WriterRequest[]): void {
    for (let i = 0; i < requests.length; i += COMMANDS_PER_ENTRY) this.publish(requests.slice(i, i + COMMANDS_PER_ENTRY));
  }

  private publish(requests: readonly WriterRequest[]): void {
    const id = this.ids.next();
    const data = packEntry({ id, cmds: requests.map((r) => r[1]) } satisfies EntryValue);
    if (data.length > this.conn.maxPayload && requests.length > 1) {
      const half = Math.ceil(requests.length / 2);
      this.publish(requests.slice(0, half));
      this.publish(requests.slice(half));
      return;
    }
    const requestIds = requests.map((r) => r[0]);
    const timer = setTimeout(() => this.fail(id, Errors.unavailable('the write is in the log but was not applied on this node in time')), WRITE_BUDGET_MS);
    this.pending.set(id, { requestIds, timer });
    appendEntry(this.conn, data, id).catch((err: unknown) => this.fail(id, toPermioError(err)));
  }

  /** Answers an entry's callers with `err` (unless it was applied meanwhile: then they had their results). */
  private fail(id: string, err: { status: number; message: string; details?: unknown[] }): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    const wire: WireError = { ok: false, status: err.status, message: err.message, ...(err.details ? { details: err.details } : {}) };
    this.post({ changes: [], answers: entry.requestIds.map((rid) => [rid, wire]), revision: 0 }); // 0: applied nothing
  }

  /** Waits for the first connection, checks the stream is the one this replica follows, then follows it. */
  private async attach(): Promise<void> {
    for (;;) {
      await this.conn.whenConnected();
      try {
        const state = await this.conn.streamState();
        checkReplicaOf(this.store, this.options.stream, state, this.appliedSeq);
        this.catchUpTarget = state.lastSeq;
        this.streamEnd = state.lastSeq;
        break;
      } catch (err) {
        if (err instanceof ReplicaMismatch) return this.post({ fatal: err.message });
        await new Promise((r) => setTimeout(r, ATTACH_RETRY_MS));
      }
    }
    log.info('log: following', { stream: this.options.stream, from_seq: this.appliedSeq + 1, catch_up_to: this.catchUpTarget });
    this.follower = new LogFollower<EntryValue>(this.conn, this.appliedSeq + 1, (entries) => this.apply(entries));
    this.follower.start();
    this.report();
  }

  /** Commits a run of entries in one transaction; their changes and this node's answers are posted once durable. */
  private apply(entries: readonly LogEntry<EntryValue>[]): void {
    const cmds: WriteCommand[] = [];
    const revisions: number[] = [];
    const owners: (number | undefined)[] = [];
    const ours: string[] = []; // this node's entries: answered below
    for (const entry of entries) {
      const value = entry.value;
      if (!isEntryValue(value)) {
        log.warn('log: an entry is not a Permio group commit; skipped', { seq: entry.seq });
        continue;
      }
      const mine = this.pending.get(value.id);
      if (mine) ours.push(value.id);
      const n = Math.min(value.cmds.length, COMMANDS_PER_ENTRY);
      for (let i = 0; i < n; i++) {
        cmds.push(value.cmds[i]!);
        revisions.push(revisionOf(entry.seq, i));
        owners.push(mine?.requestIds[i]);
      }
    }
    let results: WriteResult[];
    try {
      results = cmds.length > 0 ? this.writer.applyBatch(cmds, revisions) : [];
    } catch (err) {
      // a full disk: nothing applied; this node's callers hear so now, and the follower hands the same entries again
      if (err instanceof StorageTrouble) for (const id of ours) this.fail(id, { status: 503, message: `${err.message} on this node; ${IN_THE_LOG}` });
      throw err;
    }
    for (const id of ours) {
      const entry = this.pending.get(id); // gone when its budget ran out meanwhile (the callers had a 503)
      if (entry) clearTimeout(entry.timer);
      this.pending.delete(id);
    }
    const seq = entries[entries.length - 1]!.seq;
    // Answered once committed, not once flushed: the log holds the entries durably, and a replica that loses its
    // unflushed tail in a crash applies it again from its last durable position (the revision in LMDB).
    // The whole entry is applied: reads may wait for any revision up to its last possible one.
    this.appliedSeq = seq;
    this.post(replyOf(results, owners, this.appliedRevision));
    this.report();
  }

  private async poll(): Promise<void> {
    if (!this.conn.connected) return this.report();
    try {
      this.streamEnd = Math.max(this.streamEnd, (await this.conn.streamState()).lastSeq);
    } catch {
      // unreachable for now: the status says so through `connected`
    }
    this.report();
  }

  /** Posts the status when it changed: at once when `connected` or `caughtUp` did, the lag at most every 100 ms. */
  private report(): void {
    const known = Math.max(this.streamEnd, this.follower?.knownEnd ?? 0);
    const status: ReplicaStatus = {
      connected: this.conn.connected,
      caughtUp: this.appliedSeq >= this.catchUpTarget,
      lagEntries: Math.max(0, known - this.appliedSeq),
    };
    const last = this.lastStatus;
    const flipped = last === undefined || last.connected !== status.connected || last.caughtUp !== status.caughtUp;
    const now = performance.now();
    if (!flipped && (status.lagEntries === last.lagEntries || now - this.lastPostedAt < LAG_REPORT_MS)) return;
    this.lastStatus = status;
    this.lastPostedAt = now;
    this.post({ replica: status });
  }

  async close(): Promise<void> {
    await this.follower?.stop();
    await this.conn.close();
  }
}

function isEntryValue(v: unknown): v is EntryValue {
  return typeof v === 'object' && v !== null && typeof (v as EntryValue).id === 'string' && Array.isArray((v as EntryValue).cmds);
}
