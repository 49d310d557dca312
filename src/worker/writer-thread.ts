// Writer thread entry: the only thread that writes LMDB. Group-commits queued commands (single node: revisions from
// the store's counter) and, once the commit is flushed, posts the batch's changes and answers in one message.
import { parentPort, workerData } from 'node:worker_threads';
import type { WireError } from '../errors.js';
import type { Change } from '../store/change-feed.js';
import type { WriteCommand } from '../store/commands.js';
import { openStore } from '../store/env.js';
import { StoreWriter } from '../store/writer.js';
import { packForTransfer, unpack } from './thread-codec.js';

/** A request from the main thread: [requestId, command]. */
export type WriterRequest = [id: number, cmd: WriteCommand];
/** A command's answer to its caller: its value and revision, or why it was refused. */
export type WriterAnswer = [id: number, result: { ok: true; value: unknown; revision: number } | WireError];
/** One message per group commit: its changes in revision order (for the feed), then the callers' answers. */
export interface WriterReply {
  changes: Change[];
  answers: WriterAnswer[];
}
/** Sent once the store is open: the revision of the last command applied. */
export interface WriterReady {
  ready: true;
  revision: number;
}

const port = parentPort!;
const store = openStore((workerData as { dataDir: string }).dataDir, { readOnly: false });
const writer = new StoreWriter(store);
let queue: WriterRequest[] = [];
let scheduled = false;

port.on('message', (msg: Uint8Array | 'close' | 'crash') => {
  if (msg === 'crash') process.exit(1); // fault injection: ends this thread only
  if (msg === 'close') {
    void store.root.flushed.then(() => store.close()).then(() => port.postMessage('closed'));
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
  const results = writer.applyBatch(batch.map((r) => r[1]));
  const reply: WriterReply = { changes: [], answers: [] };
  for (let i = 0; i < batch.length; i++) {
    const r = results[i]!;
    if (r.ok) {
      reply.changes.push(r.change);
      reply.answers.push([batch[i]![0], { ok: true, value: r.value, revision: r.change.revision }]);
    } else {
      reply.answers.push([batch[i]![0], r]);
    }
  }
  // With overlappingSync the commit is visible now; `flushed` resolves once it is on disk. Only then do we answer.
  void store.root.flushed.then(() => {
    const bytes = packForTransfer(reply);
    port.postMessage(bytes, [bytes.buffer]);
  });
}

port.postMessage({ ready: true, revision: writer.revision } satisfies WriterReady);
