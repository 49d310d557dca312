// Watch in cluster mode (SPEC §7, §12) with a real nats-server and two nodes: a watcher on node B sees the writes
// taken by node A, in order, and a replay on B from a token A issued has every one of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type StartedNats } from '../helpers/nats.js';
import { startNodes, stopNodes, type ClusterNode } from '../helpers/cluster.js';
import { ok } from '../helpers/expect-api.js';
import { TRANSPORTS } from '../helpers/api.js';
import { openWatch } from '../helpers/watch.js';

const revisionOf = (token: string | null) => parseInt(String(token).split('_')[0]!, 36);

describe('Watch on two nodes', () => {
  let nats: StartedNats;
  let nodes: ClusterNode[];

  beforeAll(async () => {
    nats = await startNats();
    nodes = await startNodes(nats.url, 2);
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await nats.cleanup();
  });

  it.each(TRANSPORTS)('a watcher on node B sees the writes node A took (%s)', async (transport) => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: `Cluster ${transport}`, user_id: 'owner' })).organisation.id;
    const ref = { organisation_id: orgId, project_name: 'default' };
    const from = (await a.api.post('/v1/permissions', { ...ref, name: 'read' })).headers.get('permio-revision')!;
    // B may not have applied the organisation yet: the watch waits for it (a 404 is judged again once B caught up)
    const live = await openWatch(b.server, transport, { ...ref }, { key: b.server.adminKey });
    expect((await live.next()).events).toEqual([]);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await a.api.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: `/c/${i}`, permissions: ['read'] });
      tokens.push(ok(res) && res.headers.get('permio-revision')!);
    }
    const got = await live.until((m) => m.revision === tokens[tokens.length - 1]);
    expect(got.map((m) => m.revision)).toEqual(tokens);
    expect(got.map((m) => m.events[0].resource_uri)).toEqual(tokens.map((_, i) => `/c/${i}`));
    // a replay on B from the token A gave the permission: every grant, then live
    const replay = await openWatch(b.server, transport, { ...ref, after_revision: from }, { key: b.server.adminKey });
    const replayed = await replay.until((m) => m.events.length === 0);
    expect(replayed.slice(0, -1).map((m) => m.revision)).toEqual(tokens);
    expect(revisionOf(replayed[replayed.length - 1].revision)).toBeGreaterThanOrEqual(revisionOf(tokens[tokens.length - 1]!));
    live.close();
    replay.close();
  });

  it('a window that ends is removed once, through the log: one GRANT_EXPIRED on every node, the entry gone everywhere', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Cluster expiry', user_id: 'owner' })).organisation.id;
    const ref = { organisation_id: orgId, project_name: 'default' };
    const created = await a.api.post('/v1/permissions', { ...ref, name: 'read' });
    // from the permission's token: a node that had not applied it yet would otherwise stream it live
    const after = { ...ref, user_id: 'temp', after_revision: ok(created) && created.headers.get('permio-revision')! };
    const watchers = await Promise.all(nodes.map((n) => openWatch(n.server, 'rest', after, { key: n.server.adminKey })));
    for (const w of watchers) await w.next();
    const expires = new Date(Date.now() + 1500).toISOString();
    ok(await a.api.post('/v1/grants', { ...ref, user_id: 'temp', resource_uri: '/t', permissions: ['read'], expires_at: expires }));
    for (const w of watchers) {
      const got = await w.until((m) => m.events.some((e: { type: string }) => e.type === 'GRANT_EXPIRED'), 5000);
      expect(got.flatMap((m) => m.events.map((e: { type: string }) => e.type))).toEqual(['GRANT', 'GRANT_EXPIRED']);
    }
    await new Promise((r) => setTimeout(r, 500)); // both nodes swept: the second sweep found nothing to emit
    for (const w of watchers) expect(w.messages.flatMap((m) => m.events.map((e: { type: string }) => e.type))).toEqual(['GRANT', 'GRANT_EXPIRED']);
    for (const n of [a, b]) expect(ok(await n.api.get(`/v1/grants?organisation_id=${orgId}&project_name=default&user_id=temp`)).grants).toEqual([]);
    for (const w of watchers) w.close();
  });
});
