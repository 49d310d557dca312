// Export and import in cluster mode (SPEC §9, §12) with a real nats-server and two nodes: an import taken by one node
// travels the log in bounded chunks (each under NATS's 1 MiB message limit) and lands all or nothing on both; the
// two nodes' exports are byte-identical apart from exported_at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, streamPayloads, type StartedNats } from '../helpers/nats.js';
import { startNodes, stopNodes, until, type ClusterNode } from '../helpers/cluster.js';
import { ok } from '../helpers/expect-api.js';

const MiB = 1024 * 1024;

/** The export as text, its header's exported_at blanked (the one field two replicas may differ in). */
async function exportText(node: ClusterNode, orgId: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${node.server.httpUrl}/v1/organisations/${orgId}/projects/default:export`, {
    headers: { authorization: `Bearer ${node.server.adminKey}` },
  });
  const text = await res.text();
  return { status: res.status, text: text.replace(/"exported_at":"[^"]*"/, '"exported_at":""') };
}

async function importText(node: ClusterNode, orgId: string, body: string, mode = 'merge') {
  const res = await fetch(`${node.server.httpUrl}/v1/organisations/${orgId}/projects/default:import?mode=${mode}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.server.adminKey}` },
    body,
  });
  return { status: res.status, body: await res.json(), revision: res.headers.get('permio-revision') };
}

describe('export and import on two nodes', () => {
  let nats: StartedNats;
  let nodes: ClusterNode[];

  beforeAll(async () => {
    nats = await startNats();
    // the call log on (the default): each export is logged, a write that moves the node's revision, not the project's
    nodes = await startNodes(nats.url, 2);
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await nats.cleanup();
  });

  it('a large import on node A goes through the log in chunks; both nodes export the same bytes', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Cluster import', user_id: 'owner' })).organisation.id;
    const lines = [
      JSON.stringify({ type: 'permission', name: 'read', description: 'Read' }),
      JSON.stringify({ type: 'permission', name: 'write' }),
      JSON.stringify({ type: 'role', name: 'Editor', permissions: ['read', 'write'] }),
    ];
    for (let i = 0; i < 40_000; i++) {
      lines.push(JSON.stringify({ type: 'grant', user_id: `user-${i % 700}`, resource_uri: `/tenants/${i % 50}/documents/${i}`, permissions: ['read'], roles: i % 3 === 0 ? ['Editor'] : [] }));
    }
    const body = `${lines.join('\n')}\n`;
    expect(body.length).toBeGreaterThan(2 * MiB); // more than one log message could hold
    const answer = await importText(a, orgId, body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ imported: { permissions: 2, roles: 1, grants: 40_000 } });

    // node B applied the same log: at A's revision its export is A's, byte for byte (exported_at aside)
    const fromA = await exportText(a, orgId);
    let lastB = '';
    const fromB = await until(async () => {
      const e = await exportText(b, orgId);
      lastB = e.text;
      return e.status === 200 && e.text === fromA.text ? e : undefined;
    }, 'node B to export what node A exports').catch((err) => {
      const a1 = fromA.text.split('\n');
      const b1 = lastB.split('\n');
      const i = a1.findIndex((l, k) => l !== b1[k]);
      throw new Error(`${err.message}: first difference at line ${i + 1}: A ${a1[i]} / B ${b1[i]}`);
    });
    expect(fromB.text.split('\n').filter(Boolean)).toHaveLength(1 + 3 + 40_000);
    const check = { organisation_id: orgId, project_name: 'default', principal_id: 'user-3', resource_uris: ['/tenants/3/documents/3/x'], permissions: ['write'] };
    expect(ok(await b.api.post('/v1/check', check)).passed).toBe(true);

    // every log message stayed under NATS's default 1 MiB limit
    const payloads = await streamPayloads(nats.url);
    expect(Math.max(...payloads.map((p) => p.length))).toBeLessThan(MiB);
    expect(payloads.length).toBeGreaterThan(3);
  }, 120_000);

  it('a bad line applies nothing on either node; replace through node B is seen by node A', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Cluster replace', user_id: 'owner' })).organisation.id;
    const good = [{ type: 'permission', name: 'p' }, ...Array.from({ length: 20_000 }, (_, i) => ({ type: 'grant', user_id: `u${i}`, resource_uri: `/r/${i}`, permissions: ['p'] }))];
    const bad = await importText(a, orgId, [...good, { type: 'grant', user_id: 'x', resource_uri: '/x', roles: ['Ghost'] }].map((l) => JSON.stringify(l)).join('\n'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ line: 20_002, reason: "unknown role 'Ghost'" }]);
    const empty = await exportText(a, orgId);
    expect(empty.text.trimEnd().split('\n')).toHaveLength(1); // the header alone

    ok(await importText(a, orgId, good.map((l) => JSON.stringify(l)).join('\n')));
    const replaced = await until(async () => {
      const r = await importText(b, orgId, [{ type: 'permission', name: 'q' }, { type: 'grant', user_id: 'only', resource_uri: '/', permissions: ['q'] }].map((l) => JSON.stringify(l)).join('\n'), 'replace');
      return r.status === 200 ? r : undefined; // B may not have applied the organisation yet
    }, 'node B to take the replace');
    expect(replaced.body).toEqual({ imported: { permissions: 1, roles: 0, grants: 1 } });
    const expected = (await exportText(b, orgId)).text; // the commit is the last write: both nodes end at its revision
    expect(expected).toContain(`"revision":"${replaced.revision}"`);
    expect(expected.split('\n').filter(Boolean).slice(1)).toEqual([
      JSON.stringify({ type: 'permission', name: 'q', description: '' }),
      JSON.stringify({ type: 'grant', user_id: 'only', resource_uri: '/', permissions: ['q'], roles: [] }),
    ]);
    await until(async () => ((await exportText(a, orgId)).text === expected ? true : undefined), 'node A to export what node B exports');
  }, 120_000);
});
