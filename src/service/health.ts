// What `GET /healthz` says: ready or not, and in cluster mode the node, its applied revision and the log's state (SPEC §12).
import type { ReplicaStatus } from '../worker/writer-replica.js';

export interface HealthReport {
  /** 200 when ready, else 503. */
  readonly ready: boolean;
  readonly body: Readonly<Record<string, unknown>>;
}

const SERVING: HealthReport = { ready: true, body: { status: 'SERVING' } };

/** Cluster mode's part: this node and what its writer thread last said about the log. */
export interface ClusterHealth {
  nodeId: string;
  status: ReplicaStatus | undefined;
  /** The applied revision as a token. */
  revisionApplied: string;
}

/**
 * Undefined while starting or stopping. DEGRADED while the last commit met a full or failing disk (`storageTrouble`).
 * Single node: SERVING once both listeners are up. Cluster mode: also caught up with the log as of this node's start
 * (`catching_up` until then); a caught-up node stays ready while NATS is unreachable (it still answers checks).
 */
export function healthReport(listening: boolean, cluster?: ClusterHealth, storageTrouble?: string): HealthReport | undefined {
  if (!listening) return undefined; // the route answers its 503 error
  if (storageTrouble !== undefined) return degraded(storageTrouble, cluster);
  if (!cluster) return SERVING;
  const caughtUp = cluster.status?.caughtUp === true;
  return {
    ready: caughtUp,
    body: {
      status: caughtUp ? 'SERVING' : 'catching_up',
      node_id: cluster.nodeId,
      revision_applied: cluster.revisionApplied,
      log_connected: cluster.status?.connected === true,
      ...(caughtUp ? {} : { lag_revisions: cluster.status?.lagEntries ?? 0 }),
    },
  };
}

/** The disk is full or failing (SPEC §13): 503 until a write succeeds again; reads are still answered. */
function degraded(reason: string, cluster: ClusterHealth | undefined): HealthReport {
  return {
    ready: false,
    body: {
      status: 'DEGRADED',
      reason,
      ...(cluster
        ? { node_id: cluster.nodeId, revision_applied: cluster.revisionApplied, log_connected: cluster.status?.connected === true }
        : {}),
    },
  };
}
