// Thread crashes: a dead check worker is replaced and rebuilds from LMDB; a dead writer restarts; the server stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';

let server: RunningServer;
let api: Client;
let admin: Client;
let orgId: string;

const check = (principal: string, uris: string[], permissions: string[]) =>
  api.post('/v1/check', { project_name: 'default', principal_id: principal, resource_uris: uris, permissions });

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_FAULT_INJECTION: '1' } });
  admin = client(server.httpUrl, server.adminKey);
  orgId = (await admin.post('/v1/organisations', { name: 'crash', user_id: 'u' })).body.organisation.id;
  api = client(server.httpUrl, (await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'k' })).body.api_key.key);
  expect((await api.post('/v1/permissions', { project_name: 'default', name: 'read' })).status).toBe(200);
  expect((await api.post('/v1/grants', { project_name: 'default', user_id: 'alice', resource_uri: '/a', permissions: ['read'] })).status).toBe(200);
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
});

describe('crash recovery', () => {
  it('fault injection is operator-only', async () => {
    const res = await api.post('/debug/crash/writer');
    expect(res.status).toBe(403);
  });

  it('a crashed check worker is replaced and answers from LMDB', async () => {
    expect((await check('alice', ['/a/b'], ['read'])).body.passed).toBe(true);
    for (const shard of [0, 1]) expect((await admin.post(`/debug/crash/check-worker/${shard}`)).status).toBe(200);
    const after = await check('alice', ['/a/b', '/b'], ['read']);
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ passed: false, missing_permissions: [{ resource_uri: '/b', missing_permissions: ['read'] }] });
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('writes and checks keep working after the writer thread dies', async () => {
    expect((await admin.post('/debug/crash/writer')).status).toBe(200);
    let granted = 0;
    for (let i = 0; i < 50 && granted === 0; i++) {
      const r = await api.post('/v1/grants', { project_name: 'default', user_id: 'bob', resource_uri: '/b', permissions: ['read'] });
      if (r.status === 200) granted++;
      else expect(r.status).toBe(503); // only while the writer restarts
    }
    expect(granted).toBe(1);
    expect((await check('bob', ['/b/c'], ['read'])).body.passed).toBe(true);
    expect((await check('alice', ['/a'], ['read'])).body.passed).toBe(true);
  });
});
