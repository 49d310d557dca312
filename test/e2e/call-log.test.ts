// The API call log (seeds 001/002, SPEC §5): every external call recorded, secrets redacted; listed newest first,
// filtered and paged by opaque tokens that stay exact while calls keep being logged; bad filters are 400s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { expectError } from '../helpers/expect-api.js';

let server: RunningServer;
let setup: Client; // the operator over REST: fixtures
let api: Client; // an organisation key over REST: the calls that get logged
let admin: ApiClient; // the operator over the transport under test: the listings
let orgId: string;
let keyId: string;

const logsPath = (query: string) => `/v1/organisations/${orgId}/logs?${query}`;

/** Entries are written asynchronously (about once a second): poll until `n` match. */
async function logs(query: string, n: number): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const res = await admin.get(logsPath(query));
    expect(res.status).toBe(200);
    if (res.body.total_items >= n) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${n} log entries for ${query}`);
}

/** Every page of `query` (`page_size` given), following the tokens. */
async function allPages(query: string): Promise<any[]> {
  const entries: any[] = [];
  let token = '';
  for (;;) {
    const res = await admin.get(logsPath(`${query}&page_token=${token}`));
    expect(res.status).toBe(200);
    entries.push(...res.body.logs);
    token = res.body.next_page_token;
    if (token === '') return entries;
  }
}

const ids = (entries: any[]) => entries.map((e) => e.id);

/**
 * A time before which every call so far is in the log (listing it logs more calls): calls are flushed in the order
 * they were recorded, so once a marker call made after it is listed, everything older is.
 */
async function settle(): Promise<string> {
  await new Promise((r) => setTimeout(r, 2)); // entries carry millisecond times: the calls so far are strictly older
  const cutoff = new Date().toISOString();
  await api.get(`/v1/organisations/${orgId}`);
  await logs(`route=GetOrganisation&key_id=${keyId}&start_time=${cutoff}`, 1);
  return cutoff;
}
const newestFirst = (entries: any[]) => [...entries].sort((a, b) => (a.id < b.id ? 1 : -1));

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_CALL_LOG_CHECK_SAMPLE: '1' } });
  setup = client(server.httpUrl, server.adminKey);
});

afterAll(async () => {
  closeApiClients();
  await server.stop();
  server.cleanup();
});

describe.each(TRANSPORTS)('API call log, listed over %s', (transport) => {
  beforeAll(async () => {
    admin = apiClient(server, transport, server.adminKey);
    orgId = (await setup.post('/v1/organisations', { name: `logged-${transport}`, user_id: 'u' })).body.organisation.id;
    const created = await setup.post(`/v1/organisations/${orgId}/apikeys`, { name: 'svc' });
    keyId = created.body.api_key.id;
    api = client(server.httpUrl, created.body.api_key.key);
  });

  it('records calls with actor, route, status, latency and bodies, newest first; secrets are redacted', async () => {
    expect((await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' })).status).toBe(200);
    expect((await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' })).status).toBe(409);
    const body = await logs(`key_id=${keyId}`, 2);
    const [conflict, ok] = body.logs;
    expect(ok).toMatchObject({ organisation_id: orgId, actor: keyId, transport: 'rest', rpc: 'CreatePermission', route: 'POST /v1/permissions', status: 200 });
    expect(JSON.parse(ok.request)).toMatchObject({ name: 'doc.read' });
    expect(JSON.parse(ok.response)).toMatchObject({ name: 'doc.read', organisation_id: orgId });
    expect(typeof ok.latency_ms).toBe('number');
    expect(ok.id).toMatch(/^log_/);
    expect(conflict.status).toBe(409);
    expect(conflict.time >= ok.time).toBe(true);

    // The operator's key creation is logged, but the secret in the response is not.
    const keys = await logs('route=CreateApiKey', 1);
    expect(keys.logs[0].actor).toBe('operator');
    expect(JSON.parse(keys.logs[0].response).api_key.key).toBe('[REDACTED]');
  });

  it('filters by status, key, RPC or route and time window; the total counts every page', async () => {
    for (let i = 0; i < 12; i++) await api.post('/v1/permissions', { project_name: 'default', name: `f.${i}` });
    expect((await api.post('/v1/grants', { project_name: 'default', user_id: 'x', resource_uri: '/', permissions: ['nope'] })).status).toBe(400);
    const cutoff = await settle();
    const everything = await allPages(`end_time=${cutoff}&page_size=1000`);
    expect(ids(everything)).toEqual(ids(newestFirst(everything)));
    const expectListed = async (query: string, keep: (e: any) => boolean) => {
      const expected = ids(everything.filter(keep));
      expect(expected.length, query).toBeGreaterThan(0);
      expect(ids(await allPages(`${query}&end_time=${cutoff}&page_size=5`)), query).toEqual(expected);
      expect((await admin.get(logsPath(`${query}&end_time=${cutoff}&page_size=1`))).body.total_items, query).toBe(expected.length);
    };
    await expectListed('status=400', (e) => e.status === 400);
    await expectListed(`key_id=${keyId}`, (e) => e.actor === keyId);
    await expectListed('key_id=operator', (e) => e.actor === 'operator');
    await expectListed('route=Grant', (e) => e.rpc === 'Grant');
    await expectListed('route=POST%20/v1/permissions', (e) => e.route === 'POST /v1/permissions');
    await expectListed(`status=200&key_id=${keyId}&route=CreatePermission`, (e) => e.status === 200 && e.actor === keyId && e.rpc === 'CreatePermission');

    // A window by the entries' own times: start inclusive, end exclusive.
    const created = everything.filter((e) => e.rpc === 'CreatePermission');
    const [newer, older] = [created[1], created[9]];
    const window = await allPages(`route=CreatePermission&start_time=${older.time}&end_time=${newer.time}&page_size=2`);
    expect(ids(window)).toEqual(ids(created.filter((e) => e.time >= older.time && e.time < newer.time)));
    expect(ids(window)).toContain(older.id);
    expect(ids(window)).not.toContain(newer.id);
    const offset = await admin.get(logsPath(`route=CreatePermission&start_time=${encodeURIComponent(older.time.replace('Z', '+00:00'))}&page_size=1000`));
    expect(ids(offset.body.logs)).toContain(older.id); // a numeric offset is RFC 3339 too
    const future = await admin.get(logsPath('start_time=2999-01-01T00:00:00Z'));
    expect(future.body).toEqual({ logs: [], next_page_token: '', total_items: 0 });
    const none = await admin.get(logsPath('status=418'));
    expect(none.body).toEqual({ logs: [], next_page_token: '', total_items: 0 });
  });

  it('pages stay exact while calls keep being logged: no duplicate, no gap', async () => {
    await settle();
    const query = 'route=CreatePermission&page_size=4';
    const before = await allPages(query);
    const first = (await admin.get(logsPath(query))).body;
    expect(ids(first.logs)).toEqual(ids(before.slice(0, 4)));
    expect(first.total_items).toBe(before.length);
    for (let i = 0; i < 6; i++) await api.post('/v1/permissions', { project_name: 'default', name: `later.${i}` });
    await logs('route=CreatePermission', before.length + 6);
    const rest: any[] = [];
    let token = first.next_page_token;
    while (token !== '') {
      const page = (await admin.get(logsPath(`${query}&page_token=${token}`))).body;
      expect(page.total_items).toBe(before.length + 6);
      rest.push(...page.logs);
      token = page.next_page_token;
    }
    expect(ids([...first.logs, ...rest])).toEqual(ids(before));
    const now = (await admin.get(logsPath(query))).body.logs;
    expect(JSON.parse(now[0].request).name).toBe('later.5');
  });

  it('is scoped to the organisation and refuses project keys', async () => {
    const other = (await setup.post('/v1/organisations', { name: 'other', user_id: 'u' })).body.organisation.id;
    const key = (await setup.post(`/v1/organisations/${orgId}/apikeys`, { name: 'k' })).body.api_key.key;
    expectError(await apiClient(server, transport, key).get(`/v1/organisations/${other}/logs`), 403);
    const projectKey = (await setup.post(`/v1/organisations/${orgId}/apikeys`, { name: 'p', project_name: 'default' })).body.api_key.key;
    expectError(await apiClient(server, transport, projectKey).get(logsPath('')), 403);
    const unknown = await admin.get('/v1/organisations/org_nope/logs');
    expectError(unknown, 404, ['org_nope']);
    expect((await admin.get(`/v1/organisations/${other}/logs`)).body.logs.every((e: any) => e.organisation_id === other)).toBe(true);
  });

  it('bad filters and tokens are 400s naming the field, before the scope check', async () => {
    const orgKey = (await setup.post(`/v1/organisations/${orgId}/apikeys`, { name: 'bad' })).body.api_key.key;
    const bad = async (query: string, field: string) => {
      const res = await admin.get(logsPath(query));
      expectError(res, 400, [field], query);
      if (res.inexpressible === undefined) expect(res.body.error.details).toEqual([{ field, description: expect.any(String) }]);
      const elsewhere = await apiClient(server, transport, orgKey).get(`/v1/organisations/org_elsewhere/logs?${query}`);
      expectError(elsewhere, 400, [field], `${query} (another organisation's id: 400 before 403)`);
    };
    for (const status of ['abc', '-1', '99', '600', '2.5', '1e3']) await bad(`status=${status}`, 'status');
    for (const t of ['yesterday', '2025-01-01', '2025-01-01T00:00:00', '2025-13-01T00:00:00Z', '1735689600']) {
      await bad(`start_time=${encodeURIComponent(t)}`, 'start_time');
      await bad(`end_time=${encodeURIComponent(t)}`, 'end_time');
    }
    await bad('start_time=2025-01-02T00:00:00Z&end_time=2025-01-01T00:00:00Z', 'end_time');
    await bad(`key_id=${'k'.repeat(129)}`, 'key_id');
    await bad(`route=${'r'.repeat(513)}`, 'route');
    await bad('page_size=0', 'page_size');
    await bad('page_size=ten', 'page_size');
    const forged = (cursor: unknown, kind = 'logs') => Buffer.from(JSON.stringify(['p1', kind, cursor])).toString('base64url');
    for (const token of ['garbage', forged(-5), forged(0), forged(1.5), forged('log_0001'), forged(7, 'grants')]) await bad(`page_token=${token}`, 'page_token');
  });
});
