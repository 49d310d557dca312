// healthReport: what /healthz says on one node and in cluster mode (SPEC §1, §12).
import { describe, expect, it } from 'vitest';
import { healthReport } from '../../src/service/health.js';

describe('healthReport', () => {
  it('single node: nothing while starting or stopping (the route answers 503), then SERVING', () => {
    expect(healthReport(false)).toBeUndefined();
    expect(healthReport(true)).toEqual({ ready: true, body: { status: 'SERVING' } });
  });

  it('cluster mode: catching_up (503) until caught up, then SERVING even while the log is unreachable', () => {
    const cluster = (caughtUp: boolean, connected: boolean) => ({
      nodeId: 'a',
      revisionApplied: '1f',
      status: { caughtUp, connected, lagEntries: caughtUp ? 0 : 7 },
    });
    expect(healthReport(true, cluster(false, true))).toEqual({
      ready: false,
      body: { status: 'catching_up', node_id: 'a', revision_applied: '1f', log_connected: true, lag_revisions: 7 },
    });
    expect(healthReport(true, cluster(true, false))).toEqual({
      ready: true,
      body: { status: 'SERVING', node_id: 'a', revision_applied: '1f', log_connected: false },
    });
    expect(healthReport(true, { nodeId: 'a', revisionApplied: '0', status: undefined })?.body).toMatchObject({
      status: 'catching_up',
      log_connected: false,
    });
    expect(healthReport(false, cluster(true, true))).toBeUndefined();
  });
});
