// Check worker entry (a worker thread per shard, pool.ts): holds the grant indexes of the projects routed to it and
// answers batches of ops, one message each way, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { ProjectIndex } from '../engine/project-index.js';
import { openStore, type Store } from '../store/env.js';
import { loadPrincipalGrants, loadProjectSchema } from '../store/load.js';
import type { WatchEvent } from '../store/change-feed.js';
import { packForTransfer, unpack } from './thread-codec.js';
import { log } from '../log.js';
import { OP_APPLY, OP_CHECK, OP_CRASH, OP_RESET, type CheckWorkerData, type OpResult, type WorkerOp } from './check-protocol.js';

const { dataDir } = workerData as CheckWorkerData;
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

/** Replays a committed change's events onto the project's index (idempotent: a load may already hold them). */
function applyEvents(projectId: string, events: readonly WatchEvent[]): void {
  const index = projects.get(projectId);
  if (index === undefined) return; // not loaded: the next load reads the committed state from LMDB
  for (const e of events) {
    switch (e.type) {
      case 'PERMISSION_CREATED':
      case 'PERMISSION_UPDATED': index.putPermission(e.permission.id, e.permission.name); break;
      case 'PERMISSION_DELETED': index.deletePermission(e.permission.id); break;
      case 'ROLE_CREATED':
      case 'ROLE_UPDATED': index.putRole(e.role.id, e.role.permissions.map((p) => p.id)); break;
      case 'ROLE_DELETED': index.deleteRole(e.role.id); break;
      // a principal not loaded yet is skipped: its first check reads the committed grants from LMDB
      case 'GRANT': if (index.hasPrincipal(e.user_id)) index.grant(e.user_id, e.resource_uri, e.permissions, e.roles); break;
      case 'REVOKE':
      case 'GRANT_EXPIRED': if (index.hasPrincipal(e.user_id)) index.revoke(e.user_id, e.resource_uri, e.permissions, e.roles); break;
      case 'PROJECT_DELETED': projects.delete(projectId); return;
    }
  }
}

function run(op: WorkerOp): OpResult {
  try {
    if (op[0] === OP_CHECK) return JSON.stringify(withPrincipal(op[1], op[2]).check(op[2], op[3], op[4]));
    if (op[0] === OP_APPLY) applyEvents(op[1], op[2]);
    else if (op[0] === OP_RESET) projects.clear();
    else if (op[0] === OP_CRASH) process.exit(1); // in a worker thread this ends the thread only
    return 0;
  } catch (err) {
    log.error('check worker: op failed', { error: String((err as Error)?.stack ?? err) });
    return { ok: false, status: 500, message: 'Internal error' };
  }
}

/** One message = every op the main thread queued for this worker in one event-loop turn; answered in one message. */
function handleBatch(bytes: Uint8Array): void {
  const ops = unpack<WorkerOp[]>(bytes);
  const results = new Array<OpResult>(ops.length);
  for (let i = 0; i < ops.length; i++) results[i] = run(ops[i]!);
  const out = packForTransfer(results);
  parentPort!.postMessage(out, [out.buffer]);
}

parentPort!.on('message', handleBatch);
