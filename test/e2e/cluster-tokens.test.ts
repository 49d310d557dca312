// Revision tokens across a cluster (SPEC §7, §12) with a real nats-server and two nodes: a token issued by one node is
// valid on the other, which answers at least that revision; a token ahead of what a node applied waits, then 503.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevisionTokens } from '../../src/service/revision-token.js';
import { clusterStoreId } from '../../src/store/log/replica-identity.js';
import { startNats, type StartedNats } from '../helpers/nats.js';
import { serving, startNodes, stopNodes, type ClusterNode } from '../helpers/cluster.js';
import { expectError, ok } from '../helpers/expect-api.js';

const revisionOf = (token: string | null) => parseInt(String(token).split('_')[0]!, 36);

describe('tokens on two nodes', () => {
  let nats: StartedNats;
  let nodes: ClusterNode[];

  beforeAll(async () => {
    nats = await startNats();
    // no call log: nothing but the tests' own writes moves the log, so a quiet cluster stays quiet
    nodes = await startNodes(nats.url, 2, { PERMIO_CONSISTENCY_WAIT_MS: '300', PERMIO_CALL_LOG: '0' });
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await nats.cleanup();
  });

  it('a write on one node, read at its token on the other: the answer reflects it', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Tokens', user_id: 'owner' })).organisation.id;
    const ref = { organisation_id: orgId, project_name: 'default' };
    ok(await a.api.post('/v1/permissions', { ...ref, name: 'read' }));
    for (let i = 0; i < 5; i++) {
      const grant = await a.api.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: `/r${i}`, permissions: ['read'] });
      const token = grant.headers.get('permio-revision');
      const checked = await b.api.post('/v1/check', { ...ref, principal_id: 'alice', resource_uris: [`/r${i}/x`], permissions: ['read'], consistency: { at_least_revision: token } });
      expect(ok(checked).passed).toBe(true);
      expect(revisionOf(checked.headers.get('permio-revision'))).toBeGreaterThanOrEqual(revisionOf(token));
      const listed = await b.api.get(`/v1/grants?organisation_id=${orgId}&project_name=default&user_id=alice&at_least_revision=${token}`);
      expect(ok(listed).total_items).toBe(i + 1);
    }
    const full = await b.api.post('/v1/check', { ...ref, principal_id: 'alice', resource_uris: ['/r4'], permissions: ['read'], consistency: { fully_consistent: true } });
    expect(ok(full).passed).toBe(true);
  });

  it('a token no node has reached yet: 503 naming the revision wanted and the one applied', async () => {
    const [a] = nodes as [ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Ahead', user_id: 'owner' })).organisation.id;
    const now = (await a.api.get('/healthz')).body.revision_applied as string;
    const ahead = new RevisionTokens(clusterStoreId('PERMIO_LOG')).encode(revisionOf(now) + 1024 * 1_000_000);
    const res = await a.api.post('/v1/check', {
      organisation_id: orgId,
      project_name: 'default',
      principal_id: 'alice',
      resource_uris: ['/'],
      permissions: ['read'],
      consistency: { at_least_revision: ahead },
    });
    expectError(res, 503);
    expect(res.body.error.details).toEqual([{ revision_wanted: ahead, revision_applied: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }]);
    const forged = new RevisionTokens('not the cluster').encode(revisionOf(now));
    expectError(await a.api.get(`/v1/grants?organisation_id=${orgId}&project_name=default&user_id=a&at_least_revision=${forged}`), 400, ['at_least_revision']);
  });

  it('a node restarted on its store is at the same revision as the others: their tokens answer at once there', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Restart', user_id: 'owner' })).organisation.id;
    const ref = { organisation_id: orgId, project_name: 'default' };
    ok(await a.api.post('/v1/permissions', { ...ref, name: 'read' }));
    const grant = await a.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/r', permissions: ['read'] });
    const check = { ...ref, principal_id: 'u', resource_uris: ['/r'], permissions: ['read'], consistency: { at_least_revision: grant.headers.get('permio-revision') } };
    ok(await b.api.post('/v1/check', check)); // b has applied the grant
    await b.crashAndRestart();
    const health = await serving(b);
    expect(health.revision_applied).toBe((await a.api.get('/healthz')).body.revision_applied);
    // the revision a's answer reflects is one b has applied too: no wait, no 503
    const answered = await a.api.post('/v1/check', { ...check, consistency: { fully_consistent: true } });
    const again = await b.api.post('/v1/check', { ...check, consistency: { at_least_revision: answered.headers.get('permio-revision') } });
    expect(ok(again).passed).toBe(true);
    expect(again.headers.get('permio-revision')).toBe(answered.headers.get('permio-revision'));
  });
});
