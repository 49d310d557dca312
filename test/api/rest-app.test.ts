// The REST front end against a fake service object: real uWS server on port 0, real HTTP (fetch).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startRestServer, type RestServer } from '../../src/api/rest/app.js';
import { healthReport } from '../../src/service/health.js';
import type { ServiceLike } from '../../src/api/service-port.js';
import { Errors } from '../../src/errors.js';
import { Answer } from '../../src/service/answer.js';
import type { Caller } from '../../src/service/caller.js';
import type { CallRecord } from '../../src/service/call-log.js';
import { expectError } from '../helpers/expect-api.js';
import { client } from '../helpers/http.js';

const OPERATOR: Caller = { kind: 'operator', keyId: 'operator', organisationId: undefined, projectName: undefined };
const ORG: Caller = { kind: 'organisation', keyId: 'apikey_1', organisationId: 'org_1', projectName: undefined };
const KEYS: Record<string, Caller> = { 'Bearer op': OPERATOR, 'Bearer org': ORG };

class FakeService implements ServiceLike {
  calls: { rpc: string; input: Record<string, unknown> }[] = [];
  records: CallRecord[] = [];
  rateHeaders: Record<string, string> | undefined;
  answer: (rpc: string, input: Record<string, unknown>) => Promise<unknown> = async () => ({});

  authenticate(authorization: string | undefined): Caller {
    const caller = authorization === undefined ? undefined : KEYS[authorization];
    if (caller === undefined) throw Errors.unauthenticated('unknown API key');
    return caller;
  }
  admit(): Record<string, string> | undefined {
    return this.rateHeaders;
  }
  invoke(rpc: string, _caller: Caller, input: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ rpc, input });
    return this.answer(rpc, input);
  }
  recordCall(call: CallRecord): void {
    this.records.push(call);
  }
}

const fake = new FakeService();
let ready = true;
let faults = 0;
let server: RestServer;
let base: string;

beforeAll(async () => {
  server = await startRestServer({
    service: fake,
    port: 0,
    host: '127.0.0.1',
    health: () => healthReport(ready),
    pages: { '/page': { contentType: 'text/plain; charset=utf-8', body: () => 'a page' } },
    debugActions: { '/debug/fault': () => void faults++ },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.close());

beforeEach(() => {
  fake.calls = [];
  fake.records = [];
  fake.rateHeaders = undefined;
  fake.answer = async () => ({});
  ready = true;
});

describe('operations', () => {
  test('a pre-encoded answer (Check) is sent as the JSON text the service made', async () => {
    const text = '{"passed":true,"missing_permissions":[]}';
    fake.answer = async () => text;
    const res = await fetch(`${base}/v1/check`, { method: 'POST', headers: { authorization: 'Bearer org' }, body: '{"principal_id":"u"}' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(text);
    expect(fake.calls).toEqual([{ rpc: 'Check', input: { principal_id: 'u' } }]);
    expect(fake.records[0]).toMatchObject({ transport: 'rest', rpc: 'Check', status: 200, response: text, sampled: true });
  });

  test('path parameters win over body fields, body over query', async () => {
    const api = client(base, 'org');
    await api.call('PATCH', '/v1/roles/role_1?name=q&project_name=p', { role_id: 'body', name: 'b' });
    expect(fake.calls).toEqual([{ rpc: 'UpdateRole', input: { name: 'b', project_name: 'p', role_id: 'role_1' } }]);
    expect(fake.records[0]).toMatchObject({ rpc: 'UpdateRole', route: 'PATCH /v1/roles/role_1', sampled: false });
  });

  test("an Answer's headers are response headers, beside the rate-limit ones", async () => {
    fake.answer = async () => new Answer({ roles: [] }, { 'permio-revision': '1a_deadbeef' });
    const api = client(base, 'org');
    const plain = await api.get('/v1/roles');
    expect(plain.body).toEqual({ roles: [] });
    expect(plain.headers.get('permio-revision')).toBe('1a_deadbeef');
    fake.rateHeaders = { 'x-ratelimit-limit': '100' };
    const limited = await api.get('/v1/roles');
    expect(limited.headers.get('permio-revision')).toBe('1a_deadbeef');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('100');
  });

  test('errors thrown by the service are rendered once, in the error shape', async () => {
    fake.answer = async () => {
      throw Errors.notFound('role', 'role_9');
    };
    const res = await client(base, 'org').get('/v1/roles/role_9');
    expectError(res, 404, ['role_9']);
    expect(fake.records[0]).toMatchObject({ status: 404, response: JSON.stringify(res.body) });
  });
});

describe('local routes', () => {
  test('/healthz needs no key: 200 when ready, 503 in the error shape when not', async () => {
    const anon = client(base);
    const up = await anon.get('/healthz');
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ status: 'SERVING' });
    ready = false;
    expectError(await anon.get('/healthz'), 503);
  });

  test('a local route answers 405 for another method, like an RPC route', async () => {
    const res = await client(base).post('/healthz');
    expectError(res, 405);
    expect(res.body.error.details).toEqual([{ allowed_methods: ['GET'] }]);
  });

  test('pages and /metrics are served with their content type, without a key', async () => {
    const page = await fetch(`${base}/page`);
    expect(page.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await page.text()).toBe('a page');
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('permio_requests_total');
    expect(fake.calls).toEqual([]);
  });

  test('a debug action is operator-only: 401 without a key, 403 for another key, 200 for the operator', async () => {
    expectError(await client(base).post('/debug/fault'), 401);
    expectError(await client(base, 'org').post('/debug/fault'), 403, ['only the operator key']);
    const before = faults;
    const ok = await client(base, 'op').post('/debug/fault');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({});
    expect(faults).toBe(before + 1);
  });
});

describe('shutdown', () => {
  test('close() resolves only once the in-flight request is answered', async () => {
    const other = await startRestServer({ service: fake, port: 0, host: '127.0.0.1', health: () => healthReport(true) });
    let release!: () => void;
    let reached!: () => void;
    const atService = new Promise<void>((r) => (reached = r));
    fake.answer = () => {
      reached();
      return new Promise((r) => (release = () => r({ roles: [] })));
    };
    const inFlight = client(`http://127.0.0.1:${other.port}`, 'org').get('/v1/roles');
    await atService; // the request is with the service: in flight, deterministically
    let closed = false;
    const closing = other.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    expect((await inFlight).status).toBe(200);
    await closing;
    expect(closed).toBe(true);
  });
});
