// The API call log (seeds 001/002): every external call recorded, secrets redacted, filters and pagination.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';

let server: RunningServer;
let admin: Client;
let api: Client;
let orgId: string;
let keyId: string;

/** Entries are written asynchronously (about once a second): poll until `n` match. */
async function logs(query: string, n: number): Promise<any> {
  for (let i = 0; i < 50; i++) {
    const res = await admin.get(`/v1/organisations/${orgId}/logs?${query}`);
    expect(res.status).toBe(200);
    if (res.body.total_items >= n) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${n} log entries for ${query}`);
}

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_CALL_LOG_CHECK_SAMPLE: '1' } });
  admin = client(server.httpUrl, server.adminKey);
  orgId = (await admin.post('/v1/organisations', { name: 'logged', user_id: 'u' })).body.organisation.id;
  const created = await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'svc' });
  keyId = created.body.api_key.id;
  api = client(server.httpUrl, created.body.api_key.key);
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
});

describe('API call log', () => {
  it('records calls with actor, route, status, latency and bodies; secrets are redacted', async () => {
    expect((await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' })).status).toBe(200);
    expect((await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' })).status).toBe(409);
    const body = await logs(`key_id=${keyId}`, 2);
    const [ok, conflict] = body.logs;
    expect(ok).toMatchObject({ organisation_id: orgId, actor: keyId, transport: 'rest', rpc: 'CreatePermission', route: 'POST /v1/permissions', status: 200 });
    expect(JSON.parse(ok.request)).toMatchObject({ name: 'doc.read' });
    expect(JSON.parse(ok.response)).toMatchObject({ name: 'doc.read', organisation_id: orgId });
    expect(typeof ok.latency_ms).toBe('number');
    expect(ok.id).toMatch(/^log_/);
    expect(conflict.status).toBe(409);

    // The operator's key creation is logged, but the secret in the response is not.
    const keys = await logs('route=CreateApiKey', 1);
    expect(keys.logs[0].actor).toBe('operator');
    expect(JSON.parse(keys.logs[0].response).api_key.key).toBe('[REDACTED]');
  });

  it('filters by status and time, pages without duplicates, and is scoped to the organisation', async () => {
    const conflicts = await logs('status=409', 1);
    expect(conflicts.logs.every((e: any) => e.status === 409)).toBe(true);
    const future = await admin.get(`/v1/organisations/${orgId}/logs?start_time=2999-01-01T00:00:00Z`);
    expect(future.body).toEqual({ logs: [], next_page_token: '', total_items: 0 });
    const all = await logs('', 3);
    const first = await admin.get(`/v1/organisations/${orgId}/logs?page_size=2`);
    const second = await admin.get(`/v1/organisations/${orgId}/logs?page_size=2&page_token=${first.body.next_page_token}`);
    const ids = [...first.body.logs, ...second.body.logs].map((e: any) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, all.logs.length)).toEqual(all.logs.slice(0, ids.length).map((e: any) => e.id));
    expect((await admin.get(`/v1/organisations/${orgId}/logs?start_time=yesterday`)).status).toBe(400);
    const other = (await admin.post('/v1/organisations', { name: 'other', user_id: 'u' })).body.organisation.id;
    expect((await api.get(`/v1/organisations/${other}/logs`)).status).toBe(403);
  });
});
