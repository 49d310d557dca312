// Rate limits per organisation plan, one budget per organisation shared by all its keys (SPEC §5), over real HTTP and gRPC. The server runs on the test
// clock: budgets refill only when the test moves time, so no count depends on how fast the machine is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client } from '../helpers/http.js';
import { expectError } from '../helpers/expect-api.js';
import { grpcClient } from '../helpers/grpc-client.js';
import { status as GrpcStatus } from '@grpc/grpc-js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_TEST_CLOCK: '1' } });
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
});

async function orgWithKey(plan: string, extra: Record<string, unknown> = {}) {
  const admin = client(server.httpUrl, server.adminKey);
  const { body } = await admin.post('/v1/organisations', { name: `org-${plan}`, user_id: 'u1' });
  const orgId = body.organisation.id as string;
  const patched = await admin.patch(`/v1/organisations/${orgId}`, { plan, ...extra });
  expect(patched.status).toBe(200);
  expect(patched.body.organisation.plan).toBe(plan);
  const key = (await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'k' })).body.api_key.key as string;
  return { orgId, key, api: client(server.httpUrl, key) };
}

describe('rate limits', () => {
  it('new organisations default to enterprise without a limit: no rate-limit headers', async () => {
    const admin = client(server.httpUrl, server.adminKey);
    const { body } = await admin.post('/v1/organisations', { name: 'unlimited', user_id: 'u1' });
    expect(body.organisation).toMatchObject({ plan: 'enterprise', rate_limit_per_minute: 0 });
    const key = (await admin.post(`/v1/organisations/${body.organisation.id}/apikeys`, { name: 'k' })).body.api_key.key;
    const res = await client(server.httpUrl, key).get('/v1/permissions?project_name=default');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('free plan: 100 requests per minute per organisation, then 429 with Retry-After', async () => {
    const { orgId, api } = await orgWithKey('free');
    const first = await api.get('/v1/permissions?project_name=default');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('100');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('99');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < 100; i++) {
      const r = await api.get('/v1/permissions?project_name=default');
      expect(r.status).toBe(200);
    }
    const limited = await api.get('/v1/permissions?project_name=default');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe(429);
    expect(limited.body.error.message).toMatch(/^Rate limit exceeded\. Please retry after \d+ seconds\.$/);
    expect(limited.headers.get('retry-after')).toBe('1'); // one token every 600 ms
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset')).toBe('60');

    // A minute later the budget is full again.
    expect((await client(server.httpUrl, server.adminKey).post('/debug/clock?advance_ms=60000')).status).toBe(200);
    const refilled = await api.get('/v1/permissions?project_name=default');
    expect(refilled.status).toBe(200);
    expect(refilled.headers.get('x-ratelimit-remaining')).toBe('99');

    // The operator key is never limited, and does not spend the organisation's budget.
    const admin = client(server.httpUrl, server.adminKey);
    for (let i = 0; i < 3; i++) expect((await admin.get(`/v1/permissions?project_name=default&organisation_id=${orgId}`)).status).toBe(200);
    expect((await api.get('/v1/permissions?project_name=default')).headers.get('x-ratelimit-remaining')).toBe('98');
    const op = await admin.get(`/v1/permissions?project_name=default&organisation_id=${orgId}`);
    expect(op.status).toBe(200);
    expect(op.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('all keys of an organisation share one budget: minting keys does not multiply it; another organisation is independent', async () => {
    const { orgId, api } = await orgWithKey('enterprise', { rate_limit_per_minute: 6 });
    const admin = client(server.httpUrl, server.adminKey);
    const mint = async (body: object) => client(server.httpUrl, (await admin.post(`/v1/organisations/${orgId}/apikeys`, body)).body.api_key.key);
    const second = await mint({ name: 'k2' });
    const projectKey = await mint({ name: 'k3', project_name: 'default' });
    const other = await orgWithKey('enterprise', { rate_limit_per_minute: 6 });

    const remaining: string[] = [];
    for (const c of [api, second, projectKey, api, second, projectKey]) {
      const r = await c.get('/v1/permissions?project_name=default');
      expect(r.status).toBe(200);
      remaining.push(r.headers.get('x-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['5', '4', '3', '2', '1', '0']); // one count, whichever key
    for (const c of [api, second, projectKey]) expect((await c.get('/v1/permissions?project_name=default')).status).toBe(429);
    // a key minted by the organisation (with its organisation key) starts from the same empty budget
    const minted = (await api.post(`/v1/organisations/${orgId}/apikeys`, { name: 'k4' })).status;
    expect(minted).toBe(429);
    const freshKey = await mint({ name: 'k5' }); // the operator may still mint one …
    const limited = await freshKey.get('/v1/permissions?project_name=default'); // … which gets no budget of its own
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('6');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // the other organisation is untouched
    const untouched = await other.api.get('/v1/permissions?project_name=default');
    expect(untouched.status).toBe(200);
    expect(untouched.headers.get('x-ratelimit-remaining')).toBe('5');
  });

  it('one budget per organisation across REST and gRPC, whichever key; gRPC gets RESOURCE_EXHAUSTED with the same data as metadata', async () => {
    const { orgId, api } = await orgWithKey('enterprise', { rate_limit_per_minute: 4 });
    const admin = client(server.httpUrl, server.adminKey);
    const key = (await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'grpc key' })).body.api_key.key as string;
    const rpc = grpcClient(server.grpcAddress, key);
    try {
      expect((await api.get('/v1/permissions?project_name=default')).status).toBe(200);
      const ok = await rpc.call('ListPermissions', { project_name: 'default' });
      expect(ok.code).toBe(GrpcStatus.OK);
      expect(ok.metadata.get('x-ratelimit-limit')).toEqual(['4']);
      expect(ok.metadata.get('x-ratelimit-remaining')).toEqual(['2']);
      expect((await api.get('/v1/permissions?project_name=default')).status).toBe(200);
      expect((await rpc.call('ListPermissions', { project_name: 'default' })).code).toBe(GrpcStatus.OK);
      const limited = await rpc.call('ListPermissions', { project_name: 'default' });
      expect(limited.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(limited.body.error.code).toBe(429);
      expect(Number(limited.metadata.get('retry-after')[0])).toBeGreaterThanOrEqual(1);
      expect((await api.get('/v1/permissions?project_name=default')).status).toBe(429);
    } finally {
      rpc.close();
    }
  });

  it('the test clock moves only for the operator, by a positive whole number of milliseconds', async () => {
    const { api } = await orgWithKey('enterprise', { rate_limit_per_minute: 1 });
    expectError(await client(server.httpUrl).post('/debug/clock?advance_ms=1000'), 401);
    expectError(await api.post('/debug/clock?advance_ms=1000'), 403);
    const admin = client(server.httpUrl, server.adminKey);
    for (const bad of ['', '?advance_ms=', '?advance_ms=-5', '?advance_ms=0', '?advance_ms=1.5', '?advance_ms=abc']) {
      expectError(await admin.post(`/debug/clock${bad}`), 400, ['advance_ms']);
    }
  });

  it('enterprise with rate_limit_per_minute uses that limit; an invalid plan is 400', async () => {
    const { api } = await orgWithKey('enterprise', { rate_limit_per_minute: 3 });
    for (let i = 0; i < 3; i++) expect((await api.get('/v1/permissions?project_name=default')).status).toBe(200);
    expect((await api.get('/v1/permissions?project_name=default')).status).toBe(429);
    const admin = client(server.httpUrl, server.adminKey);
    const { body } = await admin.post('/v1/organisations', { name: 'x', user_id: 'u1' });
    const bad = await admin.patch(`/v1/organisations/${body.organisation.id}`, { plan: 'gold' });
    expect(bad.status).toBe(400);
  });
});
