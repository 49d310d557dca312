// Writer thread entry: the only thread that writes LMDB. Group-commits queued commands (single node: revisions from
// the store's counter) and, once the commit is flushed, posts the batch's changes and answers in one message. In
// cluster mode the group commit goes to the shared log instead, and the log's entries are applied (writer-replica.ts).
// Between batches it trims the change log past its retention.
import { parentPort, workerData } from 'node:worker_threads';
import type { ClusterConfig } from '../config.js';
import { toPermioError, type WireError } from '../errors.js';
import type { Change } from '../store/change-feed.js';
import type { WriteCommand } from '../store/commands.js';
import { trimChangeLog } from '../store/change-log.js';
import { openStore } from '../store/env.js';
import { StoreWriter, type WriteResult } from '../store/writer.js';
import { StorageTrouble, storageTroubleOf } from '../store/storage-trouble.js';
import { prepareReplica } from '../store/log/replica-identity.js';
import { packForTransfer, unpack } from './thread-codec.js';
import { LogReplica, replyOf } from './writer-replica.js';

/** What the thread is started with (`workerData`). */
export interface WriterOptions {
  dataDir: string;
  /** Cluster mode: the shared log (SPEC §12). */
  cluster?: ClusterConfig;
  /** PERMIO_CHANGELOG_RETENTION: revisions the change log keeps at least. */
  changelogRetention: number;
}

/** A request from the main thread: [requestId, command]. */
export type WriterRequest = [id: number, cmd: WriteCommand];
/** A command's answer to its caller: its value and revision, or why it was refused. */
export type WriterAnswer = [id: number, result: { ok: true; value: unknown; revision: number } | WireError];
/** One message per group commit: its changes in revision order (for the feed), then the callers' answers. */
export interface WriterReply {
  changes: Change[];
  answers: WriterAnswer[];
  /** Every revision up to this one is applied (failed commands' too; cluster mode: through the entry's end). */
  revision: number;
}
/** Cluster mode, main → writer: the revision the log ends at; answered with the same `logEnd` id. */
export interface LogEndQuery {
  logEnd: number;
}
export type LogEndAnswer = { logEnd: number; revision: number } | { logEnd: number; error: WireError };
/** Sent when the disk's state changes: the trouble a commit met (full, failing), or null once a commit succeeded. */
export interface StorageStatus {
  storage: string | null;
}
/** Sent once the store is open: every revision up to this one is applied. */
export interface WriterReady {
  ready: true;
  revision: number;
}

const TRIM_INTERVAL_MS = 5000;
const TRIM_BATCH = 1000; // entries removed per transaction: a few ms, so queued writes are never held up long

const options = workerData as WriterOptions;
const port = parentPort!;
const store = openStore(options.dataDir, { readOnly: false });
if (options.cluster) prepareReplica(store, options.cluster.stream); // before the writer reads the store's meta
// the disk's state, as the last commit found it: the main thread's /healthz says DEGRADED while there is trouble
const writer = new StoreWriter(store, (trouble) => port.postMessage({ storage: trouble?.message ?? null } satisfies StorageStatus));
const replica = options.cluster ? new LogReplica(store, writer, options.cluster, (msg) => send(msg)) : undefined;
let queue: WriterRequest[] = [];
let scheduled = false;

port.on('message', (msg: Uint8Array | 'close' | 'crash' | LogEndQuery) => {
  if (msg === 'crash') process.exit(1); // fault injection: ends this thread only
  if (msg === 'close') {
    void (replica?.close() ?? Promise.resolve())
      .then(() => store.root.flushed)
      .then(() => store.close())
      .then(() => port.postMessage('closed'));
    return;
  }
  if (!(msg instanceof Uint8Array)) {
    replica!.logEnd().then(
      (revision) => port.postMessage({ logEnd: msg.logEnd, revision } satisfies LogEndAnswer),
      (err: unknown) => port.postMessage({ logEnd: msg.logEnd, error: wireOf(err) } satisfies LogEndAnswer),
    );
    return;
  }
  queue.push(...unpack<WriterRequest[]>(msg));
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain); // let every message already received join this batch (group commit)
  }
});

function drain(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (replica) return replica.submit(batch);
  let results: WriteResult[];
  try {
    results = writer.applyBatch(batch.map((r) => r[1]));
  } catch (err) {
    if (!(err instanceof StorageTrouble)) throw err;
    const refused: WireError = { ok: false, status: 503, message: err.message }; // nothing of the batch was applied
    return send({ changes: [], answers: batch.map((r) => [r[0], refused]), revision: writer.revision });
  }
  const reply = replyOf(results, batch.map((r) => r[0]), writer.revision);
  // With overlappingSync the commit is visible now; `flushed` resolves once it is on disk. Only then do we answer.
  void store.root.flushed.then(() => send(reply));
}

/** Replies go packed (transferred, not cloned); status messages are small objects. */
function send(msg: WriterReply | object): void {
  if (!('answers' in msg)) return port.postMessage(msg);
  const bytes = packForTransfer(msg);
  port.postMessage(bytes, [bytes.buffer]);
}

function wireOf(err: unknown): WireError {
  const e = toPermioError(err);
  return { ok: false, status: e.status, message: e.message };
}

let trimming = false;

/** Trims the change log one bounded transaction at a time, letting queued writes in between (setImmediate). */
function trim(): void {
  let removed = 0;
  try {
    removed = trimChangeLog(store, { retention: options.changelogRetention, now: Date.now(), limit: TRIM_BATCH });
  } catch (err) {
    if (storageTroubleOf(err, store.dir) === undefined) throw err;
    // a full disk: writes say so; trimming is tried again at the next interval
  }
  trimming = removed === TRIM_BATCH;
  if (trimming) setImmediate(trim);
}
setInterval(() => trimming || trim(), TRIM_INTERVAL_MS).unref();

port.postMessage({ ready: true, revision: replica?.appliedRevision ?? writer.revision } satisfies WriterReady);
replica?.start();
