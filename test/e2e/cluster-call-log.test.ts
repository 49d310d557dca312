// The call log in cluster mode (SPEC §5, §12, §13): entries travel with the log, so every node lists the same entries
// in the same order, and time windows select the same entries on a node that took none of the calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type StartedNats } from '../helpers/nats.js';
import { startNodes, stopNodes, until, type ClusterNode } from '../helpers/cluster.js';
import { client, type Client } from '../helpers/http.js';
import { collectPages, ok } from '../helpers/expect-api.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the call log on every node of a cluster', () => {
  let nats: StartedNats;
  let nodes: ClusterNode[];
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;

  beforeAll(async () => {
    nats = await startNats();
    nodes = await startNodes(nats.url, 3, { PERMIO_CALL_LOG_CHECK_SAMPLE: '1' });
    [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  }, 60_000);

  afterAll(async () => {
    await stopNodes(nodes);
    await nats.cleanup();
  });

  it('time windows select the same entries on a node that took none of the calls', async () => {
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'windows', user_id: 'owner' })).organisation.id as string;
    const created = ok(await a.api.post(`/v1/organisations/${orgId}/apikeys`, { name: 'svc' })).api_key;
    const keyId = created.id as string;
    const onA = client(a.server.httpUrl, created.key);
    const onC = client(c.server.httpUrl, created.key);
    const ref = { project_name: 'default' };

    // three phases of writes and batched reads, from two nodes, each phase a time window of its own
    const bounds: string[] = [];
    for (let phase = 0; phase < 3; phase++) {
      bounds.push(new Date().toISOString());
      await pause(20);
      for (let i = 0; i < 5; i++) {
        const api = i % 2 === 0 ? onA : onC;
        ok(await api.post('/v1/permissions', { ...ref, name: `p${phase}.${i}` }));
        ok(await api.post('/v1/check', { ...ref, principal_id: 'u', resource_uris: ['/'], permissions: [`p${phase}.${i}`] }));
        ok(await api.get(`/v1/permissions?project_name=default`));
      }
      await pause(20);
    }
    bounds.push(new Date().toISOString());
    const expected = 3 * 5 * 3;

    // every node gets all of them (batched reads travel the log too)
    const query = `/v1/organisations/${orgId}/logs?key_id=${keyId}`;
    const all = await Promise.all(
      nodes.map((n) =>
        until(async () => {
          const page = ok(await n.api.get(`${query}&page_size=1000`));
          return page.total_items === expected ? page.logs : undefined;
        }, `${n.id} to hold every entry`),
      ),
    );
    for (const listed of all.slice(1)) expect(listed).toEqual(all[0]); // the same entries, ids, order and bodies

    for (let phase = 0; phase < 3; phase++) {
      const window = `${query}&start_time=${bounds[phase]}&end_time=${bounds[phase + 1]}`;
      const want = all[0]!.filter((e: any) => e.time >= bounds[phase]! && e.time < bounds[phase + 1]!).map((e: any) => e.id);
      expect(want.length, `phase ${phase}`).toBe(5 * 3);
      for (const n of [b, a, c]) {
        const listed = await collectPages(n.api, window, 'logs', 4);
        expect(listed.map((e) => e.id), `${n.id}, phase ${phase}`).toEqual(want);
        const one = ok(await n.api.get(`${window}&route=CreatePermission&page_size=1`));
        expect(one.total_items, `${n.id}, phase ${phase}`).toBe(5);
      }
    }
  }, 120_000);
});
