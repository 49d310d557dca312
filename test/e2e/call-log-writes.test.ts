// The call log keeps up with writes (SPEC §13): a write's entry is committed with the write — listed as soon as the
// write is answered, and a kill -9 right after the answers loses none — and every call is logged the same way over
// REST and gRPC, the operator's CreateOrganisation and AcceptInvitation included.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { collectPages, createOrg, inBatches, ok } from '../helpers/expect-api.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const started: RunningServer[] = [];

afterAll(async () => {
  closeApiClients();
  for (const s of started) await s.kill();
  for (const dir of new Set(started.map((s) => s.dataDir))) fs.rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir?: string): Promise<RunningServer> {
  const s = await startServer(dataDir === undefined ? {} : { dataDir });
  started.push(s);
  return s;
}

const WRITES_PER_TRANSPORT = 300;
const IN_FLIGHT = 16;

describe('a write and its call-log entry are committed together', () => {
  it('kill -9 right after the last answer: every acknowledged write over either transport has its entry', async () => {
    const first = await start();
    const admin = apiClient(first, 'rest', first.adminKey);
    const { orgId, orgKey, orgKeyId } = await createOrg(admin, 'crash-logged');
    ok(await admin.post('/v1/permissions', { organisation_id: orgId, project_name: 'default', name: 'doc.read' }));

    const acknowledged: { transport: string; user: string }[] = [];
    await Promise.all(
      TRANSPORTS.map((transport) => {
        const api = apiClient(first, transport, orgKey);
        const users = Array.from({ length: WRITES_PER_TRANSPORT }, (_, i) => `${transport}-${i}`);
        return inBatches(users, IN_FLIGHT, async (user) => {
          const res = await api.post('/v1/grants', { project_name: 'default', user_id: user, resource_uri: '/docs', permissions: ['doc.read'] });
          if (res.status === 200) acknowledged.push({ transport, user });
        });
      }),
    );
    await first.kill(); // at once: a batch of entries waiting for its second would be lost here
    expect(acknowledged.length).toBe(2 * WRITES_PER_TRANSPORT);

    const second = await start(first.dataDir);
    const entries = await collectPages(apiClient(second, 'rest', second.adminKey), `/v1/organisations/${orgId}/logs?route=Grant`, 'logs', 1000);
    const logged = new Set(entries.filter((e) => e.status === 200 && e.actor === orgKeyId).map((e) => `${e.transport}/${JSON.parse(e.request).user_id}`));
    const missing = acknowledged.filter((a) => !logged.has(`${a.transport}/${a.user}`));
    expect(missing, `${missing.length} acknowledged grants have no call-log entry`).toEqual([]);
  }, 120_000);
});

describe.each(TRANSPORTS)('writes are logged as they are answered, over %s', (transport) => {
  let server: RunningServer;
  let operator: ApiClient;
  let rest: ApiClient; // the listings (the same over either transport: call-log.test.ts)

  beforeAll(async () => {
    server = await start();
    operator = apiClient(server, transport, server.adminKey);
    rest = apiClient(server, 'rest', server.adminKey);
  });

  /** The newest entries of `orgId`'s log, read once: a write's entry must be there when the write is answered. */
  const newest = async (orgId: string, query = '') => ok(await rest.get(`/v1/organisations/${orgId}/logs?page_size=10${query}`)).logs;

  const routeOf = (rpc: string, service: string, rest: string) => (transport === 'rest' ? rest : `/permio.v1.${service}/${rpc}`);

  it("the operator's CreateOrganisation: listed at once, with the answer it got", async () => {
    const res = await operator.post('/v1/organisations', { name: `made-${transport}`, user_id: 'founder' });
    const body = ok(res);
    const [entry] = await newest(body.organisation.id);
    expect(entry).toMatchObject({
      organisation_id: body.organisation.id,
      actor: 'operator',
      transport,
      rpc: 'CreateOrganisation',
      route: routeOf('CreateOrganisation', 'OrganisationService', 'POST /v1/organisations'),
      status: 200,
    });
    expect(JSON.parse(entry.request)).toMatchObject({ name: `made-${transport}`, user_id: 'founder' });
    expect(JSON.parse(entry.response)).toEqual(body);
    expect(entry.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it("the operator's AcceptInvitation: listed at once; the token is in no field of the entry", async () => {
    const { orgId } = await createOrg(operator, `inviting-${transport}`);
    const invitation = ok(await operator.post(`/v1/organisations/${orgId}/invitations`, { email: 'new@example.com' })).invitation;
    const [created] = await newest(orgId, '&route=CreateInvitation');
    expect(JSON.parse(created.response).invitation).toMatchObject({ id: invitation.id, token: '[REDACTED]' });

    const accepted = ok(await operator.post(`/v1/invitations/${invitation.token}:accept`, { user_id: 'newcomer' }));
    const [entry] = await newest(orgId);
    expect(entry).toMatchObject({
      organisation_id: orgId,
      actor: 'operator',
      transport,
      rpc: 'AcceptInvitation',
      route: routeOf('AcceptInvitation', 'OrganisationService', 'POST /v1/invitations/{token}:accept'),
      status: 200,
    });
    expect(JSON.parse(entry.response)).toEqual(accepted);
    for (const e of await newest(orgId, '&page_size=1000')) expect(JSON.stringify(e)).not.toContain(invitation.token);
  });

  it('a refused write is logged with its refusal, an API key with its secret redacted', async () => {
    const { orgId, orgKey, orgKeyId } = await createOrg(operator, `refused-${transport}`);
    const api = apiClient(server, transport, orgKey);
    const made = ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));
    const again = await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' });
    expect(again.status).toBe(409);
    const [conflict, created] = await newest(orgId);
    expect(created).toMatchObject({ rpc: 'CreatePermission', status: 200, actor: orgKeyId, transport });
    expect(JSON.parse(created.response)).toEqual(made);
    expect(conflict).toMatchObject({ rpc: 'CreatePermission', status: 409, actor: orgKeyId, transport });
    expect(JSON.parse(conflict.response).error).toMatchObject({ code: 409 });

    const key = ok(await api.post(`/v1/organisations/${orgId}/apikeys`, { name: 'another' })).api_key;
    const [entry] = await newest(orgId);
    expect(entry.rpc).toBe('CreateApiKey');
    expect(JSON.parse(entry.response)).toEqual({ api_key: { ...key, key: '[REDACTED]' } });
    expect(JSON.stringify(entry)).not.toContain(key.key);
  });
});

describe('every write RPC: its entry holds the answer it got (REST)', () => {
  it('the response the writer logs equals the body sent, secrets redacted', async () => {
    const server = await start();
    const admin = apiClient(server, 'rest', server.adminKey);
    const { orgId, orgKey } = await createOrg(admin, 'every-write');
    const api = apiClient(server, 'rest', orgKey);
    const ref = { project_name: 'app' };
    const org = `/v1/organisations/${orgId}`;
    const project = ok(await api.post(`${org}/projects`, { name: 'app' }));
    const read = ok(await api.post('/v1/permissions', { ...ref, name: 'doc.read' }));
    ok(await api.post('/v1/permissions', { ...ref, name: 'doc.write' }));
    const calls: [string, () => Promise<any>][] = [
      ['UpdateOrganisation', () => admin.patch(org, { name: 'renamed' })],
      ['UpdatePermission', () => api.patch(`/v1/permissions/${read.id}?project_name=app`, { description: 'reads' })],
      ['CreateRole', () => api.post('/v1/roles', { ...ref, name: 'Reader', permissions: [read.id] })],
      ['Grant', () => api.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read', 'doc.write'] })],
      ['Revoke', () => api.del('/v1/grants', { ...ref, user_id: 'alice', resource_uri: '/docs', permissions: ['doc.write'] })],
      ['AddUser', () => api.post(`${org}/users`, { user_id: 'bob', email: 'bob@example.com' })],
      ['RemoveUser', () => api.del(`${org}/users/bob`)],
      ['CreateApiKey', () => api.post(`${org}/apikeys`, { name: 'svc', project_name: 'app' })],
    ];
    for (const [rpc, call] of calls) {
      const body = ok(await call());
      const [entry] = ok(await admin.get(`${org}/logs?page_size=1`)).logs;
      expect(entry.rpc, rpc).toBe(rpc);
      const redacted = rpc === 'CreateApiKey' ? { api_key: { ...body.api_key, key: '[REDACTED]' } } : body;
      expect(JSON.parse(entry.response), rpc).toEqual(redacted);
    }
    const role = ok(await api.get('/v1/roles?project_name=app')).roles[0];
    const updated = ok(await api.patch(`/v1/roles/${role.id}?project_name=app`, { permissions: [] }));
    expect(JSON.parse(ok(await admin.get(`${org}/logs?page_size=1`)).logs[0].response)).toEqual(updated);
    for (const [rpc, path] of [
      ['DeleteRole', `/v1/roles/${role.id}?project_name=app`],
      ['DeletePermission', `/v1/permissions/${read.id}?project_name=app`],
      ['DeleteProject', `${org}/projects/${project.project.name}`],
    ] as const) {
      const body = ok(await api.del(path));
      const [entry] = ok(await admin.get(`${org}/logs?page_size=1`)).logs;
      expect([entry.rpc, JSON.parse(entry.response)], rpc).toEqual([rpc, body]);
    }
  }, 60_000);
});
