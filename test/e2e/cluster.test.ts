// Cluster mode (SPEC §12) with real nats-server processes and several Permio nodes: replicas converge to identical
// state, conflicts resolve alike, nodes crash and join, NATS goes away and comes back, a NATS server dies.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startNats, startNatsCluster, streamPayloads, type NatsCluster, type StartedNats } from '../helpers/nats.js';
import { converged, serving, startNode, startNodes, stopNodes, until, type ClusterNode } from '../helpers/cluster.js';
import { startServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { grpcClient } from '../helpers/grpc-client.js';
import { expectError, ok } from '../helpers/expect-api.js';

interface Acked {
  user_id: string;
  resource_uri: string;
}

/** An organisation with a project `app` holding permissions `read` and `write`, made through `api`. */
async function setUpOrg(api: Client, name: string) {
  const orgId = ok(await api.post('/v1/organisations', { name, user_id: 'owner' })).organisation.id as string;
  ok(await api.post(`/v1/organisations/${orgId}/projects`, { name: 'app' }));
  const ref = { organisation_id: orgId, project_name: 'app' };
  for (const p of ['read', 'write']) ok(await api.post('/v1/permissions', { ...ref, name: p, description: '' }));
  return { orgId, ref };
}

function check(api: Client, ref: object, principal: string, uri: string, permission = 'read') {
  return api.post('/v1/check', { ...ref, principal_id: principal, resource_uris: [uri], permissions: [permission] });
}

/** Grants `read` on distinct URIs from `api` until `stop()`; returns what was acknowledged (200); `sent` counts every attempt. */
function streamGrants(api: Client, ref: object, user: string) {
  const acked: Acked[] = [];
  let sent = 0;
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const g = { user_id: user, resource_uri: `/docs/${i}` };
      sent = i + 1;
      const res = await api.post('/v1/grants', { ...ref, ...g, permissions: ['read'] }).catch(() => undefined);
      if (res?.status === 200) acked.push(g);
    }
  })();
  return {
    acked,
    get sent() {
      return sent;
    },
    stop: async () => {
      running = false;
      await done;
      return acked;
    },
  };
}

/** Every acknowledged grant is held on the node (a check passes). */
async function expectHeld(node: ClusterNode, ref: object, acked: readonly Acked[]): Promise<void> {
  for (const g of acked) expect(ok(await check(node.api, ref, g.user_id, g.resource_uri)).passed, `${node.id}: ${g.resource_uri}`).toBe(true);
}

describe('three nodes on one nats-server', () => {
  let nats: StartedNats;
  let nodes: ClusterNode[];
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;

  beforeAll(async () => {
    nats = await startNats();
    nodes = await startNodes(nats.url, 3, { PERMIO_FAULT_INJECTION: '1' });
    [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await nats.cleanup();
  });

  it('reports SERVING with its node id, applied revision and log connection', async () => {
    const h = ok(await a.api.get('/healthz'));
    expect(Object.keys(h)).toEqual(['status', 'node_id', 'revision_applied', 'log_connected']);
    expect(h).toMatchObject({ status: 'SERVING', node_id: 'a', log_connected: true });
    expect(h.revision_applied).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    const metrics = String((await a.api.get('/metrics')).body);
    expect(metrics).toMatch(/^permio_log_connected 1$/m);
    expect(metrics).toMatch(/^permio_replica_lag_revisions \d+$/m);
  });

  it('objects and grants written on any node are identical on every node, and every node answers checks from them', async () => {
    // no waiting in between: a node that finds something missing catches up with the log before it says 404
    const orgId = ok(await a.api.post('/v1/organisations', { name: 'Acme', user_id: 'owner' })).organisation.id;
    expect(ok(await c.api.get(`/v1/organisations/${orgId}`)).organisation.name).toBe('Acme');
    ok(await b.api.post(`/v1/organisations/${orgId}/projects`, { name: 'app' }));
    const ref = { organisation_id: orgId, project_name: 'app' };
    const read = ok(await c.api.post('/v1/permissions', { ...ref, name: 'read', description: 'Read' }));
    // a read that would say 404 catches up with the log first: what was acknowledged anywhere is found
    expect(ok(await a.api.get(`/v1/permissions/${read.id}?organisation_id=${orgId}&project_name=app`)).name).toBe('read');
    const role = ok(await a.api.post('/v1/roles', { ...ref, name: 'reader', description: '', permissions: [read.id] }));
    ok(await b.api.post(`/v1/organisations/${orgId}/users`, { user_id: 'alice', email: 'alice@example.com' }));
    ok(await c.api.post(`/v1/organisations/${orgId}/apikeys`, { name: 'ci', project_name: 'app' }));
    ok(await b.api.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: '/teams/eng', roles: ['reader'] }));
    ok(await c.api.post('/v1/grants', { ...ref, user_id: 'bob', resource_uri: '/teams/ops/', permissions: ['read'] }));
    ok(await a.api.patch(`/v1/permissions/${read.id}`, { ...ref, description: 'Read it' }));

    const state = (await converged(nodes, orgId, ['alice', 'bob'])) as any;
    expect(state.per_project.app.grants.alice).toEqual([{ user_id: 'alice', resource_uri: '/teams/eng', permissions: [], roles: [role.id], windows: [] }]);
    expect(state.per_project.app.permissions[0]).toMatchObject({ id: read.id, description: 'Read it' });
    expect(state.users.map((u: any) => u.id)).toEqual(['owner', 'alice']);
    expect(state.api_keys.map((k: any) => k.name)).toEqual(['ci']);
    for (const n of nodes) {
      expect(ok(await check(n.api, ref, 'alice', '/teams/eng/app1')).passed, n.id).toBe(true);
      expect(ok(await check(n.api, ref, 'bob', '/teams/ops/x')).passed, n.id).toBe(true);
      expect(ok(await check(n.api, ref, 'bob', '/teams/eng')).passed, n.id).toBe(false);
    }
  });

  it('an API key made on one node authenticates at once on every node, over REST and gRPC', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Keys');
    for (let i = 0; i < 5; i++) {
      const key = ok(await a.api.post(`/v1/organisations/${orgId}/apikeys`, { name: `k${i}` })).api_key.key;
      // no waiting: a node that does not know the key yet catches up with the log before it says 401
      ok(await client(b.server.httpUrl, key).post('/v1/grants', { ...ref, user_id: `u${i}`, resource_uri: '/k', permissions: ['read'] }));
      const viaGrpc = grpcClient(c.server.grpcAddress, key);
      const got = await viaGrpc.call('GetOrganisation', { organisation_id: orgId });
      viaGrpc.close();
      expect(got.code).toBe(grpc.status.OK);
    }
    expectError(await client(b.server.httpUrl, 'perms_api_never-issued').get(`/v1/organisations/${orgId}`), 401);
  });

  it('API-key secrets are drawn by the node that takes the call: only their hashes enter the log', async () => {
    const { orgId, ref } = await setUpOrg(b.api, 'Secrets');
    const created = ok(await b.api.post(`/v1/organisations/${orgId}/apikeys`, { ...ref, name: 'secret' })).api_key;
    for (const n of nodes) ok(await client(n.server.httpUrl, created.key).get(`/v1/permissions?project_name=app`));
    // the key's creation reaches the log with its call-log entry (the answer redacted); the reads made with the key,
    // their entries naming it, through the call log's batches (about once a second per node)
    await until(async () => (ok(await b.api.get(`/v1/organisations/${orgId}/logs?route=CreateApiKey`)).total_items === 1 ? true : undefined), 'the call log');
    await until(async () => (ok(await b.api.get(`/v1/organisations/${orgId}/logs?key_id=${created.id}`)).total_items >= nodes.length ? true : undefined), 'the reads');
    const log = Buffer.concat(await streamPayloads(nats.url));
    expect(log.includes(created.id), 'the log is read: the key id is in it').toBe(true);
    expect(log.includes(created.key)).toBe(false);
    expect(log.includes(created.key.slice(-20))).toBe(false);
  });

  it('a delete cascades alike on every node', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Cascade');
    const q = `organisation_id=${orgId}&project_name=app`;
    const perms = ok(await b.api.get(`/v1/permissions?${q}`)).permissions as { id: string; name: string }[];
    const [read, write] = ['read', 'write'].map((name) => perms.find((p) => p.name === name)!.id);
    const role = ok(await b.api.post('/v1/roles', { ...ref, name: 'rw', description: '', permissions: [read, write] }));
    ok(await c.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/x', permissions: ['write'], roles: ['rw'] }));
    ok(await a.api.del(`/v1/permissions/${write}?${q}`));
    const state = (await converged(nodes, orgId, ['u'])) as any;
    expect(state.per_project.app.roles.map((r: any) => [r.id, r.permissions.map((p: any) => p.id ?? p)])).toEqual([[role.id, [read]]]);
    expect(state.per_project.app.grants.u).toEqual([{ user_id: 'u', resource_uri: '/x', permissions: [], roles: [role.id], windows: [] }]);
    ok(await c.api.del(`/v1/organisations/${orgId}/projects/app`));
    // the node that took the delete answers 404 at once; the others once they applied it (ListPermissions takes no token)
    expectError(await c.api.get(`/v1/permissions?${q}`), 404);
    for (const n of nodes) {
      await until(async () => ((await n.api.get(`/v1/permissions?${q}`)).status === 404 ? true : undefined), `the delete on ${n.id}`);
      expectError(await n.api.get(`/v1/permissions?${q}`), 404);
    }
  });

  it('concurrent conflicting creates resolve identically everywhere: one 200, the others 409', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Race');
    await converged(nodes, orgId, []);
    for (let round = 0; round < 5; round++) {
      const name = `dup${round}`;
      const results = await Promise.all(nodes.map((n) => n.api.post('/v1/permissions', { ...ref, name, description: n.id })));
      expect(results.map((r) => r.status).sort(), JSON.stringify(results.map((r) => r.body))).toEqual([200, 409, 409]);
      for (const r of results) if (r.status === 409) expectError(r, 409, [name]);
    }
    const projects = await Promise.all(nodes.map((n) => n.api.post(`/v1/organisations/${orgId}/projects`, { name: 'same' })));
    expect(projects.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const state = (await converged(nodes, orgId, [])) as any;
    expect(state.per_project.app.permissions.map((p: any) => p.name)).toEqual(['read', 'write', 'dup0', 'dup1', 'dup2', 'dup3', 'dup4']);
  });

  it('a node killed (kill -9) while writes stream in restarts from its store, catches up and misses nothing', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Crash');
    const fromA = streamGrants(a.api, ref, 'ua');
    const fromB = streamGrants(b.api, ref, 'ub');
    await until(async () => (fromA.acked.length >= 30 && fromB.acked.length >= 30 ? true : undefined), 'grants to stream');
    const { dataDir } = c.server;
    await c.crashAndRestart();
    expect(c.server.dataDir).toBe(dataDir);
    await serving(c);
    await until(async () => (fromA.acked.length >= 60 ? true : undefined), 'more grants');
    const acked = [...(await fromA.stop()), ...(await fromB.stop())];
    await converged(nodes, orgId, ['ua', 'ub']);
    await expectHeld(c, ref, acked);
  });

  it('a writer thread that dies is restarted and goes on following the log', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Thread');
    ok(await b.api.post('/debug/crash/writer', {}));
    const g = { ...ref, user_id: 'u', resource_uri: '/after-crash', permissions: ['read'] };
    await until(async () => ((await b.api.post('/v1/grants', g)).status === 200 ? true : undefined), 'a write on b after its writer restarted');
    ok(await a.api.post('/v1/grants', { ...g, resource_uri: '/from-a' }));
    const state = (await converged(nodes, orgId, ['u'])) as any;
    expect(state.per_project.app.grants.u.map((x: any) => x.resource_uri)).toEqual(['/after-crash', '/from-a']);
  });

  it('a fresh node joins and catches up before it reports SERVING', async () => {
    const { orgId, ref } = await setUpOrg(b.api, 'Join');
    ok(await b.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/x', permissions: ['read', 'write'] }));
    const d = await startNode({ natsUrls: nats.url, id: 'd', adminKey: a.server.adminKey });
    nodes.push(d);
    const h = await serving(d);
    expect(h.node_id).toBe('d');
    await converged([b, d], orgId, ['u']);
    expect(ok(await check(d.api, ref, 'u', '/x/y', 'write')).passed).toBe(true);
  });

  it('with NATS down writes answer 503 and checks 200; a node starting then is catching_up; when NATS is back all apply alike', async () => {
    const { orgId, ref } = await setUpOrg(a.api, 'Outage');
    ok(await a.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/before', permissions: ['read'] }));
    await converged(nodes, orgId, ['u']);

    await nats.kill();
    await until(async () => ((await a.api.get('/healthz')).body.log_connected === false ? true : undefined), 'a to notice');
    const write = await a.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/during', permissions: ['read'] });
    expectError(write, 503);
    const grpcA = grpcClient(a.server.grpcAddress, a.server.adminKey);
    const viaGrpc = await grpcA.call('Grant', { ...ref, user_id: 'u', resource_uri: '/during', permissions: ['read'] });
    grpcA.close();
    expect(viaGrpc.code).toBe(grpc.status.UNAVAILABLE);
    for (const n of nodes.slice(0, 3)) {
      expect(ok(await check(n.api, ref, 'u', '/before/x')).passed, n.id).toBe(true);
      expect(ok(await check(n.api, ref, 'u', '/during')).passed, n.id).toBe(false);
    }
    // a fully consistent read must ask the log where it ends: it cannot be answered
    expectError(await b.api.post('/v1/check', { ...ref, principal_id: 'u', resource_uris: ['/before'], permissions: ['read'], consistency: { fully_consistent: true } }), 503);
    const health = await a.api.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'SERVING', node_id: 'a', log_connected: false });
    expect(String((await a.api.get('/metrics')).body)).toMatch(/^permio_log_connected 0$/m);

    const e = await startNode({ natsUrls: nats.url, id: 'e', adminKey: a.server.adminKey });
    nodes.push(e);
    const starting = await e.api.get('/healthz');
    expect(starting.status).toBe(503);
    expect(starting.body).toEqual({ status: 'catching_up', node_id: 'e', revision_applied: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), log_connected: false, lag_revisions: 0 });

    await nats.restart();
    await until(async () => ((await a.api.get('/healthz')).body.log_connected === true ? true : undefined), 'a to reconnect');
    ok(await b.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: '/after', permissions: ['read'] }));
    await serving(e);
    const state = (await converged([a, b, c, e], orgId, ['u'])) as any;
    expect(state.per_project.app.grants.u.map((g: any) => g.resource_uri)).toEqual(['/before', '/after']);
    expect(String((await a.api.get('/metrics')).body)).toMatch(/^permio_log_connected 1$/m);
    await until(async () => (/^permio_replica_lag_revisions 0$/m.test(String((await e.api.get('/metrics')).body)) ? true : undefined), 'no lag on e');
  });
});

describe('a 3-server NATS cluster with stream replicas 3', () => {
  let cluster: NatsCluster;
  let nodes: ClusterNode[];

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nodes = await startNodes(cluster.urls, 3, { PERMIO_NATS_REPLICAS: '3' });
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await cluster.cleanup();
  });

  it('survives losing one NATS server (the stream leader): writes go on, no acknowledged write is lost', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const { orgId, ref } = await setUpOrg(a.api, 'HA');
    const fromB = streamGrants(b.api, ref, 'ub');
    await until(async () => (fromB.acked.length >= 20 ? true : undefined), 'grants to stream');
    const leader = await streamLeader(cluster);
    await leader.kill();
    const after = fromB.acked.length;
    await until(async () => (fromB.acked.length >= after + 20 ? true : undefined), 'grants after the leader died');
    const acked = await fromB.stop();
    const state = (await converged(nodes, orgId, ['ub'])) as any;
    // every acknowledged grant is held; a write answered 503 (the log's answer never came) may be held too (SPEC §12)
    const held = (state.per_project.app.grants.ub as Acked[]).map((g) => Number(g.resource_uri.split('/').pop()));
    expect(held.length).toBeGreaterThanOrEqual(acked.length);
    expect(held.every((i) => i < fromB.sent)).toBe(true);
    for (const n of nodes) await expectHeld(n, ref, acked);
    await leader.restart();
  });
});

describe('a data directory the log did not build', () => {
  let nats: StartedNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats.cleanup();
  });

  it('a single-node store refuses to become a cluster node: exit 1 and a message saying why', async () => {
    const single = await startServer();
    ok(await client(single.httpUrl, single.adminKey).post('/v1/organisations', { name: 'Solo', user_id: 'u' }));
    expect(await single.stop()).toBe(0);
    const err = await startServer({ dataDir: single.dataDir, env: { PERMIO_NATS_URL: nats.url } }).catch((e: Error) => e);
    expect(String(err)).toMatch(/exited \(1\)/);
    expect(String(err)).toContain('holds a single-node store');
    fs.rmSync(single.dataDir, { recursive: true, force: true });
  });
});

/** The NATS server leading the Permio stream (PERMIO_LOG). */
async function streamLeader(cluster: NatsCluster) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: cluster.urls.split(',') });
  const info = await (await jetstreamManager(nc)).streams.info('PERMIO_LOG');
  await nc.close();
  return cluster.servers.find((s) => s.name === info.cluster?.leader)!;
}
