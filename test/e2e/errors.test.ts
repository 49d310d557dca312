// Bad input on every route of the REST table: bad JSON, non-object bodies, wrong types, missing fields,
// oversized bodies, unknown routes and wrong methods — always the exact error shape, never a crash (SPEC §5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../src/api/operations.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { asHttpResult, rawRequest } from '../helpers/raw-http.js';
import { createKey, createOrg, expectError, ok, show, type OrgFixture } from '../helpers/expect-api.js';

const MiB = 1024 * 1024;

type FieldKind = 'string' | 'string[]' | 'count';

/** One REST route as a user sees it: a valid request, its required fields and the types of its fields. */
interface RouteCase {
  rpc: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path template as in the route table. */
  template: string;
  /** Concrete path (with query for GET/DELETE routes). */
  path: () => string;
  /** Who calls it: the organisation key, or the operator for operator-only routes. */
  as: 'org' | 'operator';
  /** A valid JSON body (body routes only). */
  body?: () => Record<string, unknown>;
  /** Fields whose absence is a 400. */
  required?: string[];
  /** Body fields and their types (each gets wrong-typed values). */
  fields?: Record<string, FieldKind>;
  /** Query parameters whose absence is a 400 (GET/DELETE routes). */
  requiredQuery?: string[];
}

let server: RunningServer;
let admin: Client;
let anon: Client;
let fx: OrgFixture;
let api: Client;
let ids: { perm: string; role: string; keyId: string; token: string };

beforeAll(async () => {
  server = await startServer();
  admin = client(server.httpUrl, server.adminKey);
  anon = client(server.httpUrl);
  fx = await createOrg(admin, 'Errors Org', 'owner');
  api = client(server.httpUrl, fx.orgKey);
  const perm = ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));
  const role = ok(await api.post('/v1/roles', { project_name: 'default', name: 'Reader', permissions: [perm.id] }));
  const spare = await createKey(admin, fx.orgId, 'spare');
  const inv = ok(await admin.post(`/v1/organisations/${fx.orgId}/invitations`, { email: 'inv@acme.test' })).invitation;
  ids = { perm: perm.id, role: role.id, keyId: spare.id, token: inv.token };
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

const ORG = '/v1/organisations/{organisation_id}';
const q = (path: string, query: Record<string, string>) => `${path}?${new URLSearchParams(query)}`;

const CASES: RouteCase[] = [
  {
    rpc: 'CreatePermission', method: 'POST', template: '/v1/permissions', as: 'org', path: () => '/v1/permissions',
    body: () => ({ project_name: 'default', name: 'e.perm', description: 'd' }),
    required: ['project_name', 'name'], fields: { project_name: 'string', name: 'string', description: 'string' },
  },
  { rpc: 'ListPermissions', method: 'GET', template: '/v1/permissions', as: 'org', path: () => q('/v1/permissions', { project_name: 'default' }), requiredQuery: ['project_name'] },
  {
    rpc: 'GetPermission', method: 'GET', template: '/v1/permissions/{permission_id}', as: 'org',
    path: () => q(`/v1/permissions/${ids.perm}`, { project_name: 'default' }), requiredQuery: ['project_name'],
  },
  {
    rpc: 'UpdatePermission', method: 'PATCH', template: '/v1/permissions/{permission_id}', as: 'org', path: () => `/v1/permissions/${ids.perm}`,
    body: () => ({ project_name: 'default', description: 'updated' }),
    required: ['project_name'], fields: { project_name: 'string', name: 'string', description: 'string' },
  },
  {
    rpc: 'DeletePermission', method: 'DELETE', template: '/v1/permissions/{permission_id}', as: 'org',
    path: () => q('/v1/permissions/perm_doesnotexist', { project_name: 'default' }), requiredQuery: ['project_name'],
  },
  {
    rpc: 'CreateRole', method: 'POST', template: '/v1/roles', as: 'org', path: () => '/v1/roles',
    body: () => ({ project_name: 'default', name: 'E Role', description: 'd', permissions: [ids.perm] }),
    required: ['project_name', 'name'], fields: { project_name: 'string', name: 'string', description: 'string', permissions: 'string[]' },
  },
  { rpc: 'ListRoles', method: 'GET', template: '/v1/roles', as: 'org', path: () => q('/v1/roles', { project_name: 'default' }), requiredQuery: ['project_name'] },
  { rpc: 'GetRole', method: 'GET', template: '/v1/roles/{role_id}', as: 'org', path: () => q(`/v1/roles/${ids.role}`, { project_name: 'default' }), requiredQuery: ['project_name'] },
  {
    rpc: 'UpdateRole', method: 'PATCH', template: '/v1/roles/{role_id}', as: 'org', path: () => `/v1/roles/${ids.role}`,
    body: () => ({ project_name: 'default', description: 'updated', permissions: [ids.perm] }),
    required: ['project_name'], fields: { project_name: 'string', name: 'string', description: 'string', permissions: 'string[]' },
  },
  {
    rpc: 'DeleteRole', method: 'DELETE', template: '/v1/roles/{role_id}', as: 'org',
    path: () => q('/v1/roles/role_doesnotexist', { project_name: 'default' }), requiredQuery: ['project_name'],
  },
  {
    rpc: 'Grant', method: 'POST', template: '/v1/grants', as: 'org', path: () => '/v1/grants',
    body: () => ({ project_name: 'default', user_id: 'u', resource_uri: '/a', permissions: ['doc.read'], roles: ['Reader'] }),
    required: ['project_name', 'user_id', 'resource_uri'],
    fields: { project_name: 'string', user_id: 'string', resource_uri: 'string', permissions: 'string[]', roles: 'string[]', starts_at: 'string', expires_at: 'string' },
  },
  {
    rpc: 'Revoke', method: 'DELETE', template: '/v1/grants', as: 'org', path: () => '/v1/grants',
    body: () => ({ project_name: 'default', user_id: 'nobody', resource_uri: '/a', permissions: ['doc.read'] }),
    required: ['project_name', 'user_id', 'resource_uri'],
    fields: { project_name: 'string', user_id: 'string', resource_uri: 'string', permissions: 'string[]', roles: 'string[]' },
  },
  { rpc: 'ListGrants', method: 'GET', template: '/v1/grants', as: 'org', path: () => q('/v1/grants', { project_name: 'default', user_id: 'u' }), requiredQuery: ['project_name', 'user_id'] },
  {
    rpc: 'Check', method: 'POST', template: '/v1/check', as: 'org', path: () => '/v1/check',
    body: () => ({ project_name: 'default', principal_id: 'u', resource_uris: ['/a'], permissions: ['doc.read'] }),
    required: ['project_name', 'principal_id', 'resource_uris', 'permissions'],
    fields: { project_name: 'string', principal_id: 'string', resource_uris: 'string[]', permissions: 'string[]' },
  },
  {
    rpc: 'ExplainCheck', method: 'POST', template: '/v1/explain', as: 'org', path: () => '/v1/explain',
    body: () => ({ project_name: 'default', principal_id: 'u', resource_uris: ['/a'], permissions: ['doc.read'] }),
    required: ['project_name', 'principal_id', 'resource_uris', 'permissions'],
    fields: { project_name: 'string', principal_id: 'string', resource_uris: 'string[]', permissions: 'string[]' },
  },
  {
    rpc: 'LookupResources', method: 'POST', template: '/v1/lookup/resources', as: 'org', path: () => '/v1/lookup/resources',
    body: () => ({ project_name: 'default', principal_id: 'u', permission: 'doc.read', resource_prefix: '/a' }),
    required: ['project_name', 'principal_id', 'permission'],
    fields: { project_name: 'string', principal_id: 'string', permission: 'string', resource_prefix: 'string', page_token: 'string' },
  },
  {
    rpc: 'LookupSubjects', method: 'POST', template: '/v1/lookup/subjects', as: 'org', path: () => '/v1/lookup/subjects',
    body: () => ({ project_name: 'default', resource_uri: '/a', permission: 'doc.read' }),
    required: ['project_name', 'resource_uri', 'permission'],
    fields: { project_name: 'string', resource_uri: 'string', permission: 'string', page_token: 'string' },
  },
  {
    rpc: 'CreateOrganisation', method: 'POST', template: '/v1/organisations', as: 'operator', path: () => '/v1/organisations',
    body: () => ({ name: 'E Org', user_id: 'u' }), required: ['name', 'user_id'],
    fields: { name: 'string', user_id: 'string', plan: 'string', rate_limit_per_minute: 'count' },
  },
  { rpc: 'ListOrganisations', method: 'GET', template: '/v1/organisations', as: 'org', path: () => '/v1/organisations' },
  { rpc: 'GetOrganisation', method: 'GET', template: ORG, as: 'org', path: () => `/v1/organisations/${fx.orgId}` },
  {
    rpc: 'UpdateOrganisation', method: 'PATCH', template: ORG, as: 'operator', path: () => `/v1/organisations/${fx.orgId}`,
    body: () => ({ name: 'Errors Org' }), fields: { name: 'string', plan: 'string', rate_limit_per_minute: 'count' },
  },
  {
    rpc: 'CreateProject', method: 'POST', template: `${ORG}/projects`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/projects`,
    body: () => ({ name: 'e-project' }), required: ['name'], fields: { name: 'string' },
  },
  { rpc: 'ListProjects', method: 'GET', template: `${ORG}/projects`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/projects` },
  { rpc: 'DeleteProject', method: 'DELETE', template: `${ORG}/projects/{project_name}`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/projects/nope` },
  {
    rpc: 'CreateApiKey', method: 'POST', template: `${ORG}/apikeys`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/apikeys`,
    body: () => ({ name: 'e key', project_name: 'default' }), required: ['name'], fields: { name: 'string', project_name: 'string' },
  },
  { rpc: 'ListApiKeys', method: 'GET', template: `${ORG}/apikeys`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/apikeys` },
  { rpc: 'InvalidateApiKey', method: 'DELETE', template: `${ORG}/apikeys/{apikey_id}`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/apikeys/apikey_doesnotexist` },
  {
    rpc: 'AddUser', method: 'POST', template: `${ORG}/users`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/users`,
    body: () => ({ user_id: 'e-user', email: 'e@acme.test' }), required: ['user_id'], fields: { user_id: 'string', email: 'string' },
  },
  { rpc: 'ListUsers', method: 'GET', template: `${ORG}/users`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/users` },
  { rpc: 'RemoveUser', method: 'DELETE', template: `${ORG}/users/{user_id}`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/users/nobody` },
  {
    rpc: 'CreateInvitation', method: 'POST', template: `${ORG}/invitations`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/invitations`,
    body: () => ({ email: 'x@acme.test' }), required: ['email'], fields: { email: 'string' },
  },
  { rpc: 'ListApiLogs', method: 'GET', template: `${ORG}/logs`, as: 'org', path: () => `/v1/organisations/${fx.orgId}/logs` },
  {
    rpc: 'AcceptInvitation', method: 'POST', template: '/v1/invitations/{token}:accept', as: 'operator', path: () => '/v1/invitations/unknown-token:accept',
    body: () => ({ user_id: 'e-invitee' }), required: ['user_id'], fields: { user_id: 'string' },
  },
];

const BODY_CASES = CASES.filter((c) => c.body !== undefined);

/** Values of the wrong JSON type for a field of `kind`. */
function wrongValues(kind: FieldKind): unknown[] {
  switch (kind) {
    case 'string':
      return [42, true, { a: 1 }, ['x']];
    case 'string[]':
      return ['x', 42, { a: 1 }, [42], [null], [['x']], true];
    case 'count':
      return ['abc', 1.5, -1, true, { a: 1 }, [1]];
  }
}

function as(c: RouteCase): Client {
  return c.as === 'operator' ? admin : api;
}

/** The path without one query parameter. */
function withoutQuery(path: string, name: string): string {
  const [p, query = ''] = path.split('?');
  const params = new URLSearchParams(query);
  params.delete(name);
  const rest = params.toString();
  return rest ? `${p}?${rest}` : p!;
}

describe('the route table', () => {
  it('every route of src/api/routes.ts is covered here (and nothing else)', () => {
    // JSON routes; a stream's errors are tested with the stream (Watch's WebSocket: test/e2e/watch.test.ts)
    const served = OPERATIONS.filter((r) => r.rest === 'json').map((r) => `${r.method} ${r.path} ${r.rpc}`).sort();
    const covered = CASES.map((c) => `${c.method} ${c.template} ${c.rpc}`).sort();
    expect(covered).toEqual(served);
  });

  it.each(CASES.map((c) => [c.rpc, c] as const))('%s: the valid request is not a 400', async (_rpc, c) => {
    const res = await as(c).call(c.method, c.path(), c.body?.());
    expect(res.status, show(res)).not.toBe(400);
    expect([200, 404, 409], show(res)).toContain(res.status);
  });
});

describe.each(BODY_CASES.map((c) => [c.rpc, c] as const))('%s: malformed bodies', (_rpc, c) => {
  it('bad JSON → 400', async () => {
    for (const text of ['{', '{"a":', "{'a':1}", '{"a":1,}', 'nul', '\u0000', '{"a":1}{"b":2}', '{"a" 1}']) {
      expectError(await as(c).call(c.method, c.path(), text), 400);
    }
  });

  it('invalid UTF-8 → 400', async () => {
    const res = await rawRequest(server.httpUrl, {
      method: c.method,
      path: c.path(),
      headers: { authorization: `Bearer ${c.as === 'operator' ? server.adminKey : fx.orgKey}`, 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"a":"\xff\xfe"}
    });
    expectError(asHttpResult(res), 400, [], `socket: ${res.socketError ?? 'ok'}`);
  });

  it('JSON that is not an object → 400', async () => {
    for (const text of ['[]', '[{}]', '"str"', '42', 'true', 'null']) {
      expectError(await as(c).call(c.method, c.path(), text), 400);
    }
  });

  it('missing required fields → 400 naming the field', async () => {
    for (const field of c.required ?? []) {
      const body = c.body!();
      delete body[field];
      expectError(await as(c).call(c.method, c.path(), body), 400, [field]);
    }
  });

  it('wrong types → 400 naming the field', async () => {
    for (const [field, kind] of Object.entries(c.fields ?? {})) {
      for (const value of wrongValues(kind)) {
        const res = await as(c).call(c.method, c.path(), { ...c.body!(), [field]: value });
        expectError(res, 400, [field]);
      }
    }
  });

  it('a body over 1 MiB (16 MiB for /v1/check) → 413, answered; the server keeps serving', async () => {
    const limit = c.rpc === 'Check' ? 16 * MiB : MiB;
    const base = JSON.stringify({ ...c.body!(), pad: '' });
    const body = base.slice(0, -2) + 'x'.repeat(limit + 1 - base.length) + '"}';
    expect(Buffer.byteLength(body)).toBe(limit + 1);
    const res = await rawRequest(server.httpUrl, {
      method: c.method,
      path: c.path(),
      headers: { authorization: `Bearer ${c.as === 'operator' ? server.adminKey : fx.orgKey}`, 'content-type': 'application/json' },
      body,
    });
    expectError(asHttpResult(res), 413, [], `socket: ${res.socketError ?? 'ok'}`);
    expect((await anon.get('/healthz')).status).toBe(200);
  });
});

describe('routes without a body', () => {
  it.each(CASES.filter((c) => c.requiredQuery).map((c) => [c.rpc, c] as const))('%s: a missing query parameter → 400 naming it', async (_rpc, c) => {
    for (const name of c.requiredQuery!) expectError(await as(c).call(c.method, withoutQuery(c.path(), name)), 400, [name]);
  });
});

describe('authentication comes before validation', () => {
  it.each(CASES.map((c) => [c.rpc, c] as const))('%s: no key or an unknown key → 401, even with a bad body', async (_rpc, c) => {
    const bad = c.body ? '{not json' : undefined;
    expectError(await anon.call(c.method, c.path(), c.body?.()), 401);
    expectError(await anon.call(c.method, c.path(), bad), 401);
    const unknown = client(server.httpUrl, 'perms_api_thisisnotakey');
    expectError(await unknown.call(c.method, c.path(), bad), 401);
    expectError(await anon.call(c.method, c.path(), bad, { authorization: 'Basic Zm9vOmJhcg==' }), 401);
  });
});

describe('sizes', () => {
  it('a body of exactly 1 MiB is accepted; a /v1/check body of several MiB is accepted', async () => {
    const base = JSON.stringify({ project_name: 'default', name: 'size.exact', pad: '' });
    const body = base.slice(0, -2) + 'x'.repeat(MiB - base.length) + '"}';
    expect(JSON.parse(body).pad.length).toBe(MiB - base.length);
    expect(Buffer.byteLength(body)).toBe(MiB);
    const res = await api.call('POST', '/v1/permissions', body);
    expect(res.status, show(res)).not.toBe(413);
    expect(ok(res).name).toBe('size.exact');

    // 10,000 URIs of ~300 bytes: about 3 MiB, within the /v1/check limit.
    const uris = Array.from({ length: 10_000 }, (_, i) => `/big/${String(i).padStart(6, '0')}/${'s'.repeat(290)}`);
    const check = await api.post('/v1/check', { project_name: 'default', principal_id: 'nobody', resource_uris: uris, permissions: ['doc.read'] });
    expect(check.status, show(check)).toBe(200);
    expect(check.body.passed).toBe(false);
    expect(check.body.missing_permissions.length).toBe(10_000);
    expect(check.body.missing_permissions[9_999]).toEqual({ resource_uri: uris[9_999], missing_permissions: ['doc.read'] });
  });

  it('oversized bodies far above the limit still get their 413 (answer, then close cleanly), with or without Content-Length', async () => {
    const auth = { authorization: `Bearer ${fx.orgKey}`, 'content-type': 'application/json' };
    const attempts = [
      { path: '/v1/permissions', body: Buffer.alloc(8 * MiB, 0x20), chunked: false },
      { path: '/v1/permissions', body: Buffer.alloc(2 * MiB, 0x20), chunked: true },
      { path: '/v1/check', body: Buffer.alloc(16 * MiB + 1, 0x20), chunked: false },
      { path: '/v1/check', body: Buffer.alloc(17 * MiB, 0x20), chunked: true },
    ];
    const failures: string[] = [];
    for (const a of attempts) {
      for (let i = 0; i < 3; i++) {
        const res = await rawRequest(server.httpUrl, { method: 'POST', path: a.path, headers: auth, body: a.body, chunked: a.chunked });
        if (res.status !== 413) failures.push(`${a.path} ${a.body.length} bytes${a.chunked ? ' chunked' : ''}: status ${res.status}, socket ${res.socketError ?? 'ok'}`);
        else expectError(asHttpResult(res), 413);
      }
    }
    expect((await anon.get('/healthz')).status).toBe(200);
    expect(ok(await api.get('/v1/permissions?project_name=default')).total_items).toBeGreaterThan(0);
    expect(failures, 'the 413 never reached the client').toEqual([]);
  });

  it('a chunked body within the limit is read whole', async () => {
    const res = await rawRequest(server.httpUrl, {
      method: 'POST',
      path: '/v1/permissions',
      headers: { authorization: `Bearer ${fx.orgKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project_name: 'default', name: 'chunked.ok', description: 'd'.repeat(3000) }),
      chunked: true,
      chunkSize: 100,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ name: 'chunked.ok', project_name: 'default' });
  });
});

describe('unknown routes and wrong methods', () => {
  const unknownPaths = [
    '/v1/nope',
    '/v2/permissions',
    '/v1/permission',
    '/v1/permissions/a/b',
    '/v1/organisations/org_x/nope',
    '/v1/organisations/org_x/projects/p/extra',
    '/v1/invitations/token',
    '/v1/invitations/token:reject',
    '/v1/checks',
    '/V1/PERMISSIONS',
    '/healthz/x',
  ];

  it('unknown routes → 404 with the error shape, with or without a key', async () => {
    for (const path of unknownPaths) {
      for (const method of ['GET', 'POST', 'DELETE'] as const) {
        expectError(await anon.call(method, path, method === 'POST' ? { a: 1 } : undefined), 404);
        expectError(await api.call(method, path, method === 'POST' ? '{bad json' : undefined), 404);
      }
    }
  });

  it('a known path with another method → 405 with the error shape, before authentication', async () => {
    const byPath = new Map<string, { allowed: Set<string>; concrete: string }>();
    for (const c of CASES) {
      const concrete = c.path().split('?')[0]!;
      const entry = byPath.get(c.template) ?? { allowed: new Set<string>(), concrete };
      entry.allowed.add(c.method);
      byPath.set(c.template, entry);
    }
    let checked = 0;
    for (const [template, { allowed, concrete }] of byPath) {
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE', 'PUT']) {
        if (allowed.has(method)) continue;
        const body = method === 'GET' ? undefined : '{}';
        const res1 = await anon.call(method, concrete, body);
        expect(res1.status, `${method} ${template}: ${show(res1)}`).toBe(405);
        expectError(res1, 405);
        expectError(await api.call(method, concrete, body), 405);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe('health', () => {
  it('/healthz answers 200 without a key, and the server survived everything above', async () => {
    const res = await anon.get('/healthz');
    expect(res.status).toBe(200);
    const withKey = await api.get('/healthz');
    expect(withKey.status).toBe(200);
    expect(server.process.exitCode).toBeNull();
    // Still fully functional.
    expect(ok(await api.get(`/v1/permissions/${ids.perm}?project_name=default`)).name).toBe('doc.read');
    expect(ok(await api.post('/v1/check', { project_name: 'default', principal_id: 'u', resource_uris: ['/a'], permissions: ['doc.read'] }))).toHaveProperty('passed');
  });
});
