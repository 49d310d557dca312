// Which log a cluster replica follows: refuses a store the log did not build, and a log that is not the one it followed.
import crypto from 'node:crypto';
import type { Store } from '../env.js';
import { META } from '../keys.js';
import type { StreamState } from './log-connection.js';

/** Recorded on a replica's first connection: the stream and when it was created (a re-created stream differs). */
export interface ReplicaOf {
  readonly stream: string;
  readonly created: string;
}

/** A replica that must not go on: its store and the log disagree (the message says how and what to do). */
export class ReplicaMismatch extends Error {
  override readonly name = 'ReplicaMismatch';
}

/** The store id every node of the cluster on `stream` shares: a token from one node is valid on all of them. */
export function clusterStoreId(stream: string): string {
  return crypto.createHash('sha256').update(`permio cluster log ${stream}`).digest('hex').slice(0, 32);
}

/**
 * Before the writer opens the store: a store with writes that did not come from a log (a single-node store) or from
 * another stream cannot become a replica; otherwise it gets the cluster's store id.
 */
export function prepareReplica(store: Store, stream: string): void {
  const meta = store.dbs.meta;
  const following = meta.get(META.replicaOf) as ReplicaOf | undefined;
  const revision = (meta.get(META.revision) as number | undefined) ?? 0;
  if (following === undefined && revision > 0) {
    throw new ReplicaMismatch(
      `the data directory holds a single-node store (revision ${revision}); a cluster node starts with an empty data directory or a copy of another node's`,
    );
  }
  if (following !== undefined && following.stream !== stream) {
    throw new ReplicaMismatch(`the data directory is a replica of the log stream ${following.stream}, not ${stream}`);
  }
  const id = clusterStoreId(stream);
  if (meta.get(META.storeId) !== id) meta.putSync(META.storeId, id);
}

/**
 * On every connection, before entries after `appliedSeq` are applied: the first time, records the stream; later,
 * the stream must be the same one (not re-created) and still hold every entry this replica lacks.
 */
export function checkReplicaOf(store: Store, stream: string, state: StreamState, appliedSeq: number): void {
  const meta = store.dbs.meta;
  const following = meta.get(META.replicaOf) as ReplicaOf | undefined;
  if (following === undefined) {
    meta.putSync(META.replicaOf, { stream, created: state.created } satisfies ReplicaOf);
  } else if (following.created !== state.created) {
    throw new ReplicaMismatch(
      `the log stream ${stream} was created at ${state.created}, but this replica follows the one created at ${following.created} (was the NATS store lost?)`,
    );
  }
  if (state.lastSeq < appliedSeq) {
    throw new ReplicaMismatch(`the log stream ${stream} ends at ${state.lastSeq}, but this replica has applied up to ${appliedSeq}`);
  }
  if (appliedSeq < state.lastSeq && state.firstSeq > appliedSeq + 1) {
    throw new ReplicaMismatch(
      `the log stream ${stream} starts at ${state.firstSeq}; this replica needs it from ${appliedSeq + 1} (start the node from a copy of another node's data directory)`,
    );
  }
}
