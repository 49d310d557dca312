// Check worker entry (piscina): holds the grant indexes of the projects routed to it and answers batches of ops.
import { move } from 'piscina';
import { ProjectIndex } from '../engine/project-index.js';
import { openStore, type Store } from '../store/env.js';
import { loadPrincipalGrants, loadProjectSchema } from '../store/load.js';
import type { Delta } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import { log } from '../log.js';
import { OP_APPLY, OP_CHECK, OP_CRASH, OP_RESET, type OpResult, type WorkerOp } from './check-protocol.js';

const dataDir = process.env.PERMIO_WORKER_DATA_DIR!;
const projects = new Map<string, ProjectIndex>();
let store: Store | undefined;

/**
 * The project's index, kept current by applied deltas. Built lazily: permissions and roles on the project's first
 * use, a principal's grants on that principal's first check ({@link withPrincipal}), so a first check costs
 * milliseconds whatever the project's size. A principal is loaded exactly when the index knows it.
 */
function indexFor(projectId: string): ProjectIndex {
  let index = projects.get(projectId);
  if (index === undefined) {
    store ??= openStore(dataDir, { readOnly: true });
    index = new ProjectIndex();
    loadProjectSchema(store, projectId, index);
    projects.set(projectId, index);
  }
  return index;
}

/** The project's index with `principal`'s grants loaded (a principal without grants is read again next time). */
function withPrincipal(projectId: string, principal: string): ProjectIndex {
  const index = indexFor(projectId);
  if (!index.hasPrincipal(principal)) loadPrincipalGrants(store!, projectId, principal, index);
  return index;
}

function applyDeltas(projectId: string, deltas: readonly Delta[]): void {
  const index = projects.get(projectId);
  if (index === undefined) return; // not loaded: the next load reads the committed state from LMDB
  for (const d of deltas) {
    switch (d[0]) {
      case 'perm': index.putPermission(d[1], d[2]); break;
      case 'delperm': index.deletePermission(d[1]); break;
      case 'role': index.putRole(d[1], d[2]); break;
      case 'delrole': index.deleteRole(d[1]); break;
      // a principal not loaded yet is skipped: its first check reads the committed grants from LMDB
      case 'grant': if (index.hasPrincipal(d[1])) index.grant(d[1], d[2], d[3], d[4]); break;
      case 'revoke': if (index.hasPrincipal(d[1])) index.revoke(d[1], d[2], d[3], d[4]); break;
      case 'drop': projects.delete(projectId); break;
    }
  }
}

function run(op: WorkerOp): OpResult {
  try {
    if (op[0] === OP_CHECK) return JSON.stringify(withPrincipal(op[1], op[2]).check(op[2], op[3], op[4]));
    if (op[0] === OP_APPLY) applyDeltas(op[1], op[2]);
    else if (op[0] === OP_RESET) projects.clear();
    else if (op[0] === OP_CRASH) process.exit(1); // in a worker thread this ends the thread only
    return 0;
  } catch (err) {
    log.error('check worker: op failed', { error: String((err as Error)?.stack ?? err) });
    return { ok: false, status: 500, message: 'Internal error' };
  }
}

/** One piscina task = every op the main thread queued for this worker in one event-loop turn. */
export default function handleBatch(bytes: Uint8Array): unknown {
  const ops = unpack<WorkerOp[]>(bytes);
  const results = new Array<OpResult>(ops.length);
  for (let i = 0; i < ops.length; i++) results[i] = run(ops[i]!);
  return move(packForTransfer(results));
}
