// Writer thread entry: the only thread that writes LMDB. Group-commits queued commands and answers once flushed.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/env.js';
import { StoreWriter, type WriteResult } from '../store/writer.js';
import type { WriteCommand } from '../store/commands.js';
import { packForTransfer, unpack } from './thread-codec.js';

/** A request from the main thread: [requestId, command]. */
export type WriterRequest = [id: number, cmd: WriteCommand];
/** A reply: [requestId, result], many per message. */
export type WriterReply = [id: number, result: WriteResult][];

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
  const reply: WriterReply = batch.map((r, i) => [r[0], results[i]!]);
  // With overlappingSync the commit is visible now; `flushed` resolves once it is on disk. Only then do we answer.
  void store.root.flushed.then(() => {
    const bytes = packForTransfer(reply);
    port.postMessage(bytes, [bytes.buffer]);
  });
}

port.postMessage('ready');
