// Organisations, users, invitations, projects and API keys over both transports: shapes, errors, scopes, pagination (SPEC §2, §3, §5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import {
  collectPages,
  createKey,
  createOrg,
  expectError,
  expectRecentTimestamp,
  inBatches,
  ok,
  show,
  sortedKeys,
  type OrgFixture,
} from '../helpers/expect-api.js';

let server: RunningServer;
/** A client of the transport under test. */
let as: (key?: string) => ApiClient;
let admin: ApiClient;
let anon: ApiClient;
/** Every organisation this file created, in creation order. */
const createdOrgIds: string[] = [];

const ORG_KEYS = ['created_at', 'id', 'name', 'plan', 'rate_limit_per_minute', 'updated_at', 'users'];
const API_KEY_KEYS = ['created_at', 'id', 'invalidated', 'key', 'name', 'organisation_id', 'project_name'];
const LISTED_KEY_KEYS = API_KEY_KEYS.filter((k) => k !== 'key');

/** Moves the server's test clock forward. */
async function advanceClock(ms: number): Promise<void> {
  ok(await apiClient(server, 'rest', server.adminKey).post(`/debug/clock?advance_ms=${ms}`));
}

async function newOrg(name = 'Acme Inc.', userId = 'owner'): Promise<OrgFixture> {
  const f = await createOrg(admin, name, userId);
  createdOrgIds.push(f.orgId);
  return f;
}

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_TEST_CLOCK: '1' } }); // time moves when a test says so
  admin = apiClient(server, 'rest', server.adminKey);
  anon = apiClient(server, 'rest');
});

afterAll(async () => {
  closeApiClients();
  await server?.stop();
  server?.cleanup();
});

describe.each(TRANSPORTS)('over %s', (transport) => {
  beforeAll(() => {
    as = (key) => apiClient(server, transport, key);
    admin = as(server.adminKey);
    anon = as();
  });

  describe('organisations', () => {
    it('the operator creates an organisation: exact shape, a default project, the creator listed with email ""', async () => {
      const res = await admin.post('/v1/organisations', { name: 'Acme Inc.', user_id: 'user_1234567890' });
      const body = ok(res);
      expect(Object.keys(body)).toEqual(['organisation']);
      const org = body.organisation;
      createdOrgIds.push(org.id);
      expect(sortedKeys(org)).toEqual(ORG_KEYS);
      expect(org.id).toMatch(/^org_[A-Za-z0-9_-]+$/);
      expect(org).toMatchObject({
        name: 'Acme Inc.',
        plan: 'enterprise',
        rate_limit_per_minute: 0,
        users: [{ id: 'user_1234567890', email: '' }],
      });
      expect(org.users[0]).toEqual({ id: 'user_1234567890', email: '' });
      expectRecentTimestamp(org.created_at);
      expectRecentTimestamp(org.updated_at);
      expect(Date.parse(org.updated_at)).toBeGreaterThanOrEqual(Date.parse(org.created_at));

      expect(ok(await admin.get(`/v1/organisations/${org.id}`))).toEqual(body);

      const projects = ok(await admin.get(`/v1/organisations/${org.id}/projects`));
      expect(projects).toEqual({
        projects: [{ organisation_id: org.id, name: 'default', created_at: expect.stringMatching(/Z$/) }],
        next_page_token: '',
        total_items: 1,
      });
      expectRecentTimestamp(projects.projects[0].created_at);
      // The default project is usable at once.
      const { key } = await createKey(admin, org.id, 'k');
      const perms = ok(await as(key).get('/v1/permissions?project_name=default'));
      expect(perms).toEqual({ permissions: [], next_page_token: '', total_items: 0 });
    });

    it('organisation ids are unique, even for equal names and users', async () => {
      const a = await newOrg('Twin', 'same-user');
      const b = await newOrg('Twin', 'same-user');
      expect(a.orgId).not.toBe(b.orgId);
      expect(a.org.users).toEqual([{ id: 'same-user', email: '' }]);
    });

    it('only the operator key creates organisations', async () => {
      const f = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      expectError(await as(f.orgKey).post('/v1/organisations', { name: 'X', user_id: 'u' }), 403);
      expectError(await as(project.key).post('/v1/organisations', { name: 'X', user_id: 'u' }), 403);
      expectError(await anon.post('/v1/organisations', { name: 'X', user_id: 'u' }), 401);
      expectError(await as('perms_api_unknown').post('/v1/organisations', { name: 'X', user_id: 'u' }), 401);
    });

    it('create validation: missing or mistyped fields → 400 naming the field', async () => {
      expectError(await admin.post('/v1/organisations', { user_id: 'u' }), 400, ['name']);
      expectError(await admin.post('/v1/organisations', { name: 'X' }), 400, ['user_id']);
      expectError(await admin.post('/v1/organisations', { name: 42, user_id: 'u' }), 400, ['name']);
      expectError(await admin.post('/v1/organisations', { name: 'X', user_id: ['u'] }), 400, ['user_id']);
      expectError(await admin.post('/v1/organisations', { name: 'X', user_id: 'bad\u0001id' }), 400, ['user_id']);
      expectError(await admin.post('/v1/organisations', { name: 'X', user_id: 'u'.repeat(257) }), 400, ['user_id']);
      const ok256 = await admin.post('/v1/organisations', { name: 'X', user_id: 'u'.repeat(256) });
      expect(ok(ok256).organisation.users).toEqual([{ id: 'u'.repeat(256), email: '' }]);
      createdOrgIds.push(ok256.body.organisation.id);
    });

    it('GET /v1/organisations/{id}: own organisation 200, another 403, unknown 404 (operator) / 403 (key)', async () => {
      const a = await newOrg('A');
      const b = await newOrg('B');
      const keyA = as(a.orgKey);
      expect(ok(await keyA.get(`/v1/organisations/${a.orgId}`))).toEqual({ organisation: a.org });
      expectError(await keyA.get(`/v1/organisations/${b.orgId}`), 403);
      expectError(await keyA.get('/v1/organisations/org_doesnotexist'), 403);
      expectError(await admin.get('/v1/organisations/org_doesnotexist'), 404);
      expectError(await anon.get(`/v1/organisations/${a.orgId}`), 401);
    });

    it('GET /v1/organisations: the operator sees every organisation in creation order; an org key only its own', async () => {
      const listed = await collectPages(admin, '/v1/organisations', 'organisations', 1000);
      expect(listed.map((o) => o.id)).toEqual(createdOrgIds);
      for (const o of listed) expect(sortedKeys(o)).toEqual(ORG_KEYS);
      const f = await newOrg('Solo');
      const own = ok(await as(f.orgKey).get('/v1/organisations'));
      expect(own).toEqual({ organisations: [f.org], next_page_token: '', total_items: 1 });
    });

    it('PATCH /v1/organisations/{id} (operator): partial update of name, plan, rate_limit_per_minute', async () => {
      const f = await newOrg('Before');
      await advanceClock(1000); // updated_at has second resolution
      const renamed = ok(await admin.patch(`/v1/organisations/${f.orgId}`, { name: 'After' })).organisation;
      expect(renamed).toEqual({ ...f.org, name: 'After', updated_at: renamed.updated_at });
      expectRecentTimestamp(renamed.updated_at);
      expect(Date.parse(renamed.updated_at)).toBeGreaterThan(Date.parse(f.org.created_at));
      expect(renamed.created_at).toBe(f.org.created_at);

      const pro = ok(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 'pro' })).organisation;
      expect(pro).toMatchObject({ name: 'After', plan: 'pro', rate_limit_per_minute: 0 });
      const ent = ok(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 'enterprise', rate_limit_per_minute: 5000 }));
      expect(ent.organisation).toMatchObject({ name: 'After', plan: 'enterprise', rate_limit_per_minute: 5000 });
      const free = ok(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 'free' })).organisation;
      expect(free).toMatchObject({ name: 'After', plan: 'free', rate_limit_per_minute: 5000 });
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}`)).organisation).toEqual(free);
      // Back to unlimited so the rest of this file is never throttled.
      ok(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 'enterprise', rate_limit_per_minute: 0 }));
    });

    it('PATCH /v1/organisations/{id}: errors', async () => {
      const f = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      expectError(await as(f.orgKey).patch(`/v1/organisations/${f.orgId}`, { name: 'N' }), 403);
      expectError(await as(project.key).patch(`/v1/organisations/${f.orgId}`, { name: 'N' }), 403);
      expectError(await anon.patch(`/v1/organisations/${f.orgId}`, { name: 'N' }), 401);
      expectError(await admin.patch('/v1/organisations/org_doesnotexist', { name: 'N' }), 404);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 'gold' }), 400, ['plan']);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { plan: 7 }), 400, ['plan']);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { rate_limit_per_minute: -1 }), 400, ['rate_limit_per_minute']);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { rate_limit_per_minute: 'abc' }), 400, ['rate_limit_per_minute']);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { rate_limit_per_minute: 1.5 }), 400, ['rate_limit_per_minute']);
      expectError(await admin.patch(`/v1/organisations/${f.orgId}`, { name: 12 }), 400, ['name']);
      // Malformed (400) is judged before scope (403).
      expectError(await as(f.orgKey).patch(`/v1/organisations/${f.orgId}`, { plan: 'gold' }), 400);
      // Nothing changed.
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}`)).organisation).toEqual(f.org);
    });
  });

  describe('users and invitations', () => {
    it('add, list, remove users; duplicates 409; unknown user 404', async () => {
      const f = await newOrg('Users', 'owner');
      const added = ok(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'bob', email: 'bob@acme.test' }));
      expect(added).toEqual({ user: { id: 'bob', email: 'bob@acme.test' } });
      // An organisation key manages its own users.
      const orgApi = as(f.orgKey);
      expect(ok(await orgApi.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'carol', email: 'carol@acme.test' }))).toEqual({
        user: { id: 'carol', email: 'carol@acme.test' },
      });
      const expected = [
        { id: 'owner', email: '' },
        { id: 'bob', email: 'bob@acme.test' },
        { id: 'carol', email: 'carol@acme.test' },
      ];
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/users`))).toEqual({ users: expected, next_page_token: '', total_items: 3 });
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}`)).organisation.users).toEqual(expected);

      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'bob', email: 'other@acme.test' }), 409);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'owner', email: 'o@acme.test' }), 409);
      // Principal ids are case-sensitive: Bob is another user.
      ok(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'Bob', email: 'big-bob@acme.test' }));

      expect(ok(await orgApi.del(`/v1/organisations/${f.orgId}/users/bob`))).toEqual({});
      expectError(await admin.del(`/v1/organisations/${f.orgId}/users/bob`), 404);
      expectError(await admin.del(`/v1/organisations/${f.orgId}/users/nobody`), 404);
      const after = ok(await admin.get(`/v1/organisations/${f.orgId}/users`));
      expect(after.users.map((u: any) => u.id)).toEqual(['owner', 'carol', 'Bob']);
      expect(after.total_items).toBe(3);
      // A removed user may be added again.
      ok(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'bob', email: 'bob@acme.test' }));
    });

    it('user errors: missing/mistyped fields 400, other organisation 403, project key 403, unknown org 404', async () => {
      const f = await newOrg();
      const other = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { email: 'x@acme.test' }), 400, ['user_id']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 5, email: 'x@acme.test' }), 400, ['user_id']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'x', email: 5 }), 400, ['email']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'x\n', email: 'x@acme.test' }), 400, ['user_id']);
      const keyB = as(other.orgKey);
      expectError(await keyB.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'x', email: 'x@acme.test' }), 403);
      expectError(await keyB.get(`/v1/organisations/${f.orgId}/users`), 403);
      expectError(await keyB.del(`/v1/organisations/${f.orgId}/users/owner`), 403);
      const proj = as(project.key);
      expectError(await proj.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'x', email: 'x@acme.test' }), 403);
      expectError(await proj.get(`/v1/organisations/${f.orgId}/users`), 403);
      expectError(await proj.del(`/v1/organisations/${f.orgId}/users/owner`), 403);
      expectError(await admin.post('/v1/organisations/org_doesnotexist/users', { user_id: 'x', email: 'x@acme.test' }), 404);
      expectError(await admin.get('/v1/organisations/org_doesnotexist/users'), 404);
      expectError(await anon.get(`/v1/organisations/${f.orgId}/users`), 401);
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/users`)).users).toEqual([{ id: 'owner', email: '' }]);
    });

    it('invitations: create → {invitation:{id,email,token,expires_at}}, accept adds the user with that email', async () => {
      const f = await newOrg('Invites', 'owner');
      const inv = ok(await admin.post(`/v1/organisations/${f.orgId}/invitations`, { email: 'dana@acme.test' }));
      expect(Object.keys(inv)).toEqual(['invitation']);
      expect(sortedKeys(inv.invitation)).toEqual(['email', 'expires_at', 'id', 'token']);
      expect(inv.invitation.email).toBe('dana@acme.test');
      expect(typeof inv.invitation.id).toBe('string');
      expect(inv.invitation.id.length).toBeGreaterThan(0);
      expect(typeof inv.invitation.token).toBe('string');
      expect(inv.invitation.token.length).toBeGreaterThanOrEqual(16);
      expect(inv.invitation.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(Date.parse(inv.invitation.expires_at)).toBeGreaterThan(Date.now());

      const second = ok(await as(f.orgKey).post(`/v1/organisations/${f.orgId}/invitations`, { email: 'erin@acme.test' }));
      expect(second.invitation.token).not.toBe(inv.invitation.token);
      expect(second.invitation.id).not.toBe(inv.invitation.id);

      const accepted = ok(await admin.post(`/v1/invitations/${encodeURIComponent(inv.invitation.token)}:accept`, { user_id: 'dana' }));
      expect(Object.keys(accepted)).toEqual(['organisation']);
      expect(sortedKeys(accepted.organisation)).toEqual(ORG_KEYS);
      expect(accepted.organisation.id).toBe(f.orgId);
      expect(accepted.organisation.users).toEqual([
        { id: 'owner', email: '' },
        { id: 'dana', email: 'dana@acme.test' },
      ]);
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/users`)).users).toEqual(accepted.organisation.users);
    });

    it('invitation errors: unknown token 404, used token 404, missing fields 400, project key / other org 403', async () => {
      const f = await newOrg();
      const other = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      expectError(await admin.post('/v1/invitations/not-a-token:accept', { user_id: 'x' }), 404);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/invitations`, {}), 400, ['email']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/invitations`, { email: 42 }), 400, ['email']);
      expectError(await as(project.key).post(`/v1/organisations/${f.orgId}/invitations`, { email: 'x@acme.test' }), 403);
      expectError(await as(other.orgKey).post(`/v1/organisations/${f.orgId}/invitations`, { email: 'x@acme.test' }), 403);
      expectError(await admin.post('/v1/organisations/org_doesnotexist/invitations', { email: 'x@acme.test' }), 404);

      const inv = ok(await admin.post(`/v1/organisations/${f.orgId}/invitations`, { email: 'x@acme.test' })).invitation;
      const accept = `/v1/invitations/${encodeURIComponent(inv.token)}:accept`;
      expectError(await admin.post(accept, {}), 400, ['user_id']);
      expectError(await admin.post(accept, { user_id: 17 }), 400, ['user_id']);
      expectError(await anon.post(accept, { user_id: 'x' }), 401);
      ok(await admin.post(accept, { user_id: 'xavier' }));
      expectError(await admin.post(accept, { user_id: 'yann' }), 404);
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/users`)).users.map((u: any) => u.id)).toEqual(['owner', 'xavier']);
    });
  });

  describe('projects', () => {
    it('create → {project:{organisation_id,name,created_at}}, list in creation order, duplicate 409', async () => {
      const f = await newOrg();
      const created = ok(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'mobile-app' }));
      expect(created).toEqual({ project: { organisation_id: f.orgId, name: 'mobile-app', created_at: expect.any(String) } });
      expectRecentTimestamp(created.project.created_at);
      const viaKey = ok(await as(f.orgKey).post(`/v1/organisations/${f.orgId}/projects`, { name: 'web' }));
      expect(viaKey.project).toMatchObject({ organisation_id: f.orgId, name: 'web' });
      expectError(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'mobile-app' }), 409);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'default' }), 409);
      const list = ok(await admin.get(`/v1/organisations/${f.orgId}/projects`));
      expect(list.projects.map((p: any) => p.name)).toEqual(['default', 'mobile-app', 'web']);
      expect(list.projects[1]).toEqual(created.project);
      expect(list).toMatchObject({ next_page_token: '', total_items: 3 });
      // Project names are per organisation.
      const other = await newOrg();
      ok(await admin.post(`/v1/organisations/${other.orgId}/projects`, { name: 'mobile-app' }));
    });

    it('project names: [a-z0-9][a-z0-9_-]{0,62}', async () => {
      const f = await newOrg();
      const valid = ['a', '0', 'a-b_c', '9lives', 'x'.repeat(63), 'a--__--b'];
      for (const name of valid) {
        const res = await admin.post(`/v1/organisations/${f.orgId}/projects`, { name });
        expect(ok(res).project.name, show(res)).toBe(name);
      }
      const invalid = ['', 'A', 'Mobile', '-a', '_a', 'a b', 'a.b', 'a/b', 'x'.repeat(64), 'é', 'a\u0000'];
      for (const name of invalid) expectError(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name }), 400, ['name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/projects`, {}), 400, ['name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 3 }), 400, ['name']);
      const names = ok(await admin.get(`/v1/organisations/${f.orgId}/projects`)).projects.map((p: any) => p.name);
      expect(names).toEqual(['default', ...valid]);
    });

    it('project errors: scopes and unknown organisation/project', async () => {
      const f = await newOrg();
      const other = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      const keyB = as(other.orgKey);
      const proj = as(project.key);
      for (const api of [keyB, proj]) {
        expectError(await api.post(`/v1/organisations/${f.orgId}/projects`, { name: 'x' }), 403);
        expectError(await api.get(`/v1/organisations/${f.orgId}/projects`), 403);
        expectError(await api.del(`/v1/organisations/${f.orgId}/projects/default`), 403);
      }
      expectError(await admin.post('/v1/organisations/org_doesnotexist/projects', { name: 'x' }), 404);
      expectError(await admin.get('/v1/organisations/org_doesnotexist/projects'), 404);
      expectError(await admin.del(`/v1/organisations/${f.orgId}/projects/nope`), 404);
      expectError(await anon.get(`/v1/organisations/${f.orgId}/projects`), 401);
      // Project-scoped calls on a project that does not exist → 404.
      const orgApi = as(f.orgKey);
      expectError(await orgApi.get('/v1/permissions?project_name=nope'), 404);
      expectError(await orgApi.post('/v1/permissions', { project_name: 'nope', name: 'x' }), 404);
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/projects`)).projects.map((p: any) => p.name)).toEqual(['default']);
    });

    it('deleting a project removes its contents, invalidates its project keys; the name is reusable and empty', async () => {
      const f = await newOrg();
      ok(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'tmp' }));
      const projectKey = await createKey(admin, f.orgId, 'tmp key', 'tmp');
      const defaultKey = await createKey(admin, f.orgId, 'default key', 'default');
      const proj = as(projectKey.key);
      const orgApi = as(f.orgKey);
      const perm = ok(await proj.post('/v1/permissions', { project_name: 'tmp', name: 'doc.read' }));
      const role = ok(await proj.post('/v1/roles', { project_name: 'tmp', name: 'Reader', permissions: [perm.id] }));
      expect(ok(await proj.post('/v1/grants', { project_name: 'tmp', user_id: 'alice', resource_uri: '/docs', permissions: [perm.id], roles: [role.id] }))).toEqual({});
      const check = { project_name: 'tmp', principal_id: 'alice', resource_uris: ['/docs/1'], permissions: ['doc.read'] };
      expect(ok(await orgApi.post('/v1/check', check))).toEqual({ passed: true, missing_permissions: [] });

      expect(ok(await admin.del(`/v1/organisations/${f.orgId}/projects/tmp`))).toEqual({});
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/projects`)).projects.map((p: any) => p.name)).toEqual(['default']);
      expectError(await proj.get('/v1/permissions?project_name=tmp'), 401);
      expectError(await proj.get('/v1/permissions'), 401);
      const keys = ok(await admin.get(`/v1/organisations/${f.orgId}/apikeys`)).api_keys;
      expect(keys.find((k: any) => k.id === projectKey.id)).toMatchObject({ project_name: 'tmp', invalidated: true });
      expect(keys.find((k: any) => k.id === defaultKey.id)).toMatchObject({ project_name: 'default', invalidated: false });
      expect(keys.find((k: any) => k.id === f.orgKeyId)).toMatchObject({ project_name: '', invalidated: false });
      expect(ok(await as(defaultKey.key).get('/v1/permissions')).total_items).toBe(0);
      expectError(await orgApi.get('/v1/permissions?project_name=tmp'), 404);
      expectError(await orgApi.post('/v1/check', check), 404);

      const again = ok(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'tmp' }));
      expect(again.project.name).toBe('tmp');
      expect(ok(await orgApi.get('/v1/permissions?project_name=tmp'))).toEqual({ permissions: [], next_page_token: '', total_items: 0 });
      expect(ok(await orgApi.get('/v1/roles?project_name=tmp'))).toEqual({ roles: [], next_page_token: '', total_items: 0 });
      expect(ok(await orgApi.get('/v1/grants?project_name=tmp&user_id=alice'))).toEqual({ grants: [], next_page_token: '', total_items: 0 });
      expect(ok(await orgApi.post('/v1/check', check))).toEqual({
        passed: false,
        missing_permissions: [{ resource_uri: '/docs/1', missing_permissions: ['doc.read'] }],
      });
      expectError(await orgApi.get(`/v1/permissions/${perm.id}?project_name=tmp`), 404);
      expectError(await orgApi.get(`/v1/roles/${role.id}?project_name=tmp`), 404);
      // The old project key stays dead; a new permission gets a new id.
      expectError(await proj.get('/v1/permissions?project_name=tmp'), 401);
      const fresh = ok(await orgApi.post('/v1/permissions', { project_name: 'tmp', name: 'doc.read' }));
      expect(fresh.id).not.toBe(perm.id);
      expect(ok(await orgApi.post('/v1/check', check)).passed).toBe(false);
    });
  });

  describe('API keys', () => {
    it('create: the secret appears once; organisation and project keys; list without secrets in creation order', async () => {
      const f = await newOrg();
      const orgKeyRes = ok(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'Production Service Key' }));
      expect(Object.keys(orgKeyRes)).toEqual(['api_key']);
      const k1 = orgKeyRes.api_key;
      expect(sortedKeys(k1)).toEqual(API_KEY_KEYS);
      expect(k1).toMatchObject({ name: 'Production Service Key', organisation_id: f.orgId, project_name: '', invalidated: false });
      expect(k1.id).toMatch(/^apikey_[A-Za-z0-9_-]+$/);
      expect(k1.key).toMatch(/^perms_api_[A-Za-z0-9_-]+$/);
      expect(k1.key.length - 'perms_api_'.length).toBeGreaterThanOrEqual(22); // ≥128 bits in base64url
      expectRecentTimestamp(k1.created_at);

      const k2 = ok(await as(f.orgKey).post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'svc', project_name: 'default' })).api_key;
      expect(sortedKeys(k2)).toEqual(API_KEY_KEYS);
      expect(k2).toMatchObject({ name: 'svc', organisation_id: f.orgId, project_name: 'default', invalidated: false });
      expect(k2.key).not.toBe(k1.key);
      expect(k2.id).not.toBe(k1.id);

      const list = ok(await admin.get(`/v1/organisations/${f.orgId}/apikeys`));
      expect(list).toEqual({
        api_keys: [
          { id: f.orgKeyId, name: 'org key', organisation_id: f.orgId, project_name: '', created_at: expect.any(String), invalidated: false },
          { id: k1.id, name: k1.name, organisation_id: f.orgId, project_name: '', created_at: k1.created_at, invalidated: false },
          { id: k2.id, name: 'svc', organisation_id: f.orgId, project_name: 'default', created_at: k2.created_at, invalidated: false },
        ],
        next_page_token: '',
        total_items: 3,
      });
      for (const k of list.api_keys) expect(sortedKeys(k)).toEqual(LISTED_KEY_KEYS);
      expect(JSON.stringify(list)).not.toContain(k1.key);
      expect(JSON.stringify(list)).not.toContain('perms_api_');

      // Both keys work.
      expect(ok(await as(k1.key).get('/v1/permissions?project_name=default')).total_items).toBe(0);
      expect(ok(await as(k2.key).get('/v1/permissions?project_name=default')).total_items).toBe(0);
    });

    it('create errors: missing name, bad or unknown project, scopes', async () => {
      const f = await newOrg();
      const other = await newOrg();
      const project = await createKey(admin, f.orgId, 'p', 'default');
      expectError(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, {}), 400, ['name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 1 }), 400, ['name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'k', project_name: 5 }), 400, ['project_name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'k', project_name: 'Bad Name' }), 400, ['project_name']);
      expectError(await admin.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'k', project_name: 'nope' }), 404);
      expectError(await admin.post('/v1/organisations/org_doesnotexist/apikeys', { name: 'k' }), 404);
      for (const key of [other.orgKey, project.key]) {
        const api = as(key);
        expectError(await api.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'k' }), 403);
        expectError(await api.get(`/v1/organisations/${f.orgId}/apikeys`), 403);
        expectError(await api.del(`/v1/organisations/${f.orgId}/apikeys/${f.orgKeyId}`), 403);
      }
      // The organisation key still works: nothing was invalidated by the refused calls.
      expect(ok(await as(f.orgKey).get(`/v1/organisations/${f.orgId}/apikeys`)).total_items).toBe(2);
    });

    it('DELETE …/apikeys/{id} invalidates: 401 afterwards, listed with invalidated:true; unknown id 404', async () => {
      const f = await newOrg();
      const victim = await createKey(admin, f.orgId, 'victim');
      const victimProject = await createKey(admin, f.orgId, 'victim-p', 'default');
      const api = as(victim.key);
      expect(ok(await api.get('/v1/permissions?project_name=default')).total_items).toBe(0); // warm any key cache
      expect(ok(await as(victimProject.key).get('/v1/permissions')).total_items).toBe(0);

      expect(ok(await as(f.orgKey).del(`/v1/organisations/${f.orgId}/apikeys/${victim.id}`))).toEqual({});
      expect(ok(await admin.del(`/v1/organisations/${f.orgId}/apikeys/${victimProject.id}`))).toEqual({});
      expectError(await api.get('/v1/permissions?project_name=default'), 401);
      expectError(await api.get(`/v1/organisations/${f.orgId}`), 401);
      expectError(await api.post('/v1/check', { project_name: 'default', principal_id: 'a', resource_uris: ['/'], permissions: ['x'] }), 401);
      expectError(await as(victimProject.key).get('/v1/permissions'), 401);

      const list = ok(await admin.get(`/v1/organisations/${f.orgId}/apikeys`)).api_keys;
      expect(list.map((k: any) => [k.id, k.invalidated])).toEqual([
        [f.orgKeyId, false],
        [victim.id, true],
        [victimProject.id, true],
      ]);
      expect(list[1]).toMatchObject({ name: 'victim', project_name: '', organisation_id: f.orgId });
      expect(ok(await as(f.orgKey).get('/v1/permissions?project_name=default')).total_items).toBe(0);
      expectError(await admin.del(`/v1/organisations/${f.orgId}/apikeys/apikey_doesnotexist`), 404);
      // A key id of another organisation is unknown here.
      const other = await newOrg();
      expectError(await admin.del(`/v1/organisations/${f.orgId}/apikeys/${other.orgKeyId}`), 404);
      expect(ok(await as(other.orgKey).get('/v1/permissions?project_name=default')).total_items).toBe(0);
    });
  });

  describe('authentication and scopes', () => {
    it('missing or malformed Authorization → 401 with the error shape', async () => {
      const f = await newOrg();
      const path = '/v1/permissions?project_name=default';
      expectError(await anon.get(path), 401);
      const bad = [
        'Basic dXNlcjpwYXNz',
        'Bearer',
        'Bearer ',
        f.orgKey,
        `Token ${f.orgKey}`,
        `Bearer ${f.orgKey} extra`,
        `Bearer ${f.orgKey}x`,
        `Bearer ${f.orgKey.slice(0, -1)}`,
        'Bearer perms_api_doesnotexist',
        `Bearer ${'a'.repeat(5000)}`,
      ];
      for (const authorization of bad) {
        const res = await anon.call('GET', path, undefined, { authorization });
        expectError(res, 401);
      }
      expect(ok(await anon.call('GET', path, undefined, { authorization: `Bearer ${f.orgKey}` })).total_items).toBe(0);
    });

    it('an organisation key acts on every project of its organisation, never on another organisation', async () => {
      const a = await newOrg('A');
      const b = await newOrg('B');
      ok(await admin.post(`/v1/organisations/${a.orgId}/projects`, { name: 'second' }));
      const keyA = as(a.orgKey);
      expect(ok(await keyA.post('/v1/permissions', { project_name: 'second', name: 'x' })).project_name).toBe('second');
      expect(ok(await keyA.post('/v1/permissions', { project_name: 'default', name: 'x', organisation_id: a.orgId })).organisation_id).toBe(a.orgId);
      // Naming another organisation → 403 (body for writes, query for reads and deletes).
      expectError(await keyA.post('/v1/permissions', { project_name: 'default', name: 'y', organisation_id: b.orgId }), 403);
      expectError(await keyA.get(`/v1/permissions?project_name=default&organisation_id=${b.orgId}`), 403);
      expectError(await keyA.del(`/v1/permissions/perm_x?project_name=default&organisation_id=${b.orgId}`), 403);
      expectError(await keyA.post('/v1/check', { project_name: 'default', organisation_id: b.orgId, principal_id: 'u', resource_uris: ['/'], permissions: ['x'] }), 403);
      expectError(await keyA.post('/v1/grants', { project_name: 'default', organisation_id: b.orgId, user_id: 'u', resource_uri: '/', permissions: ['x'] }), 403);
      expectError(await keyA.get(`/v1/grants?project_name=default&user_id=u&organisation_id=${b.orgId}`), 403);
      expectError(await keyA.get(`/v1/roles?project_name=default&organisation_id=${b.orgId}`), 403);
      expect(ok(await admin.get(`/v1/permissions?project_name=default&organisation_id=${b.orgId}`)).total_items).toBe(0);
    });

    it('a project key acts on its own project only (project_name defaults to it) and may not manage the organisation', async () => {
      const f = await newOrg();
      ok(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name: 'other' }));
      const pk = await createKey(admin, f.orgId, 'p', 'default');
      const proj = as(pk.key);
      const created = ok(await proj.post('/v1/permissions', { name: 'doc.read' }));
      expect(created).toMatchObject({ name: 'doc.read', project_name: 'default', organisation_id: f.orgId });
      expect(ok(await proj.post('/v1/permissions', { project_name: 'default', name: 'doc.write' })).project_name).toBe('default');
      expect(ok(await proj.get('/v1/permissions')).total_items).toBe(2);
      expect(ok(await proj.get('/v1/permissions?project_name=default')).total_items).toBe(2);

      expectError(await proj.get('/v1/permissions?project_name=other'), 403);
      expectError(await proj.post('/v1/permissions', { project_name: 'other', name: 'x' }), 403);
      expectError(await proj.post('/v1/roles', { project_name: 'other', name: 'x' }), 403);
      expectError(await proj.post('/v1/grants', { project_name: 'other', user_id: 'u', resource_uri: '/', permissions: ['x'] }), 403);
      expectError(await proj.get('/v1/grants?project_name=other&user_id=u'), 403);
      expectError(await proj.post('/v1/check', { project_name: 'other', principal_id: 'u', resource_uris: ['/'], permissions: ['x'] }), 403);
      expectError(await proj.get(`/v1/permissions/${created.id}?project_name=other`), 403);
      // A project of the same name in another organisation is still out of scope.
      const g = await newOrg();
      expectError(await proj.get(`/v1/permissions?project_name=default&organisation_id=${g.orgId}`), 403);

      expectError(await proj.post(`/v1/organisations/${f.orgId}/projects`, { name: 'x' }), 403);
      expectError(await proj.get(`/v1/organisations/${f.orgId}/projects`), 403);
      expectError(await proj.post(`/v1/organisations/${f.orgId}/apikeys`, { name: 'x' }), 403);
      expectError(await proj.get(`/v1/organisations/${f.orgId}/apikeys`), 403);
      expectError(await proj.post(`/v1/organisations/${f.orgId}/users`, { user_id: 'x', email: 'x@acme.test' }), 403);
      expectError(await proj.post(`/v1/organisations/${f.orgId}/invitations`, { email: 'x@acme.test' }), 403);
      expectError(await proj.patch(`/v1/organisations/${f.orgId}`, { name: 'x' }), 403);
      expectError(await proj.post('/v1/organisations', { name: 'x', user_id: 'x' }), 403);
    });

    it('the operator key must name the organisation on project-scoped calls (400), an unknown one → 404', async () => {
      const f = await newOrg();
      expectError(await admin.get('/v1/permissions?project_name=default'), 400, ['organisation_id']);
      expectError(await admin.post('/v1/permissions', { project_name: 'default', name: 'x' }), 400, ['organisation_id']);
      expectError(await admin.get('/v1/roles?project_name=default'), 400, ['organisation_id']);
      expectError(await admin.post('/v1/roles', { project_name: 'default', name: 'x' }), 400, ['organisation_id']);
      expectError(await admin.post('/v1/grants', { project_name: 'default', user_id: 'u', resource_uri: '/', permissions: ['x'] }), 400, ['organisation_id']);
      expectError(await admin.get('/v1/grants?project_name=default&user_id=u'), 400, ['organisation_id']);
      expectError(await admin.post('/v1/check', { project_name: 'default', principal_id: 'u', resource_uris: ['/'], permissions: ['x'] }), 400, ['organisation_id']);
      expectError(await admin.del('/v1/permissions/perm_x?project_name=default'), 400, ['organisation_id']);

      const created = ok(await admin.post('/v1/permissions', { organisation_id: f.orgId, project_name: 'default', name: 'op.made' }));
      expect(created).toMatchObject({ organisation_id: f.orgId, project_name: 'default', name: 'op.made' });
      expect(ok(await admin.get(`/v1/permissions/${created.id}?project_name=default&organisation_id=${f.orgId}`))).toEqual(created);
      expect(ok(await as(f.orgKey).get('/v1/permissions?project_name=default')).permissions).toEqual([created]);
      expectError(await admin.get('/v1/permissions?project_name=default&organisation_id=org_doesnotexist'), 404);
      expectError(await admin.post('/v1/permissions', { organisation_id: 'org_doesnotexist', project_name: 'default', name: 'x' }), 404);
      expect(ok(await admin.del(`/v1/permissions/${created.id}?project_name=default&organisation_id=${f.orgId}`))).toEqual({});
    });
  });

  describe('pagination', () => {
    it('page_size 2 walks projects, API keys, users and organisations completely, in creation order, without duplicates', async () => {
      const f = await newOrg('Pages', 'u0');
      const projectNames = ['default'];
      for (let i = 1; i <= 6; i++) {
        const name = `p${i}`;
        ok(await admin.post(`/v1/organisations/${f.orgId}/projects`, { name }));
        projectNames.push(name);
      }
      const keyIds = [f.orgKeyId];
      for (let i = 1; i <= 4; i++) keyIds.push((await createKey(admin, f.orgId, `k${i}`)).id);
      const userIds = ['u0'];
      for (let i = 1; i <= 4; i++) {
        ok(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: `u${i}`, email: `u${i}@acme.test` }));
        userIds.push(`u${i}`);
      }

      for (const size of [1, 2, 3]) {
        const projects = await collectPages(admin, `/v1/organisations/${f.orgId}/projects`, 'projects', size);
        expect(projects.map((p) => p.name)).toEqual(projectNames);
        const keys = await collectPages(admin, `/v1/organisations/${f.orgId}/apikeys`, 'api_keys', size);
        expect(keys.map((k) => k.id)).toEqual(keyIds);
        for (const k of keys) expect(k).not.toHaveProperty('key');
        const users = await collectPages(admin, `/v1/organisations/${f.orgId}/users`, 'users', size);
        expect(users.map((u) => u.id)).toEqual(userIds);
      }
      const orgs = await collectPages(admin, '/v1/organisations', 'organisations', 2);
      expect(orgs.map((o) => o.id)).toEqual(createdOrgIds);
      expect(new Set(orgs.map((o) => o.id)).size).toBe(orgs.length);

      const first = ok(await admin.get(`/v1/organisations/${f.orgId}/projects?page_size=2`));
      expect(first.projects.map((p: any) => p.name)).toEqual(['default', 'p1']);
      expect(first.total_items).toBe(7);
      expect(first.next_page_token).not.toBe('');
      // Without page_size every item fits the default page of 50.
      expect(ok(await admin.get(`/v1/organisations/${f.orgId}/projects`))).toMatchObject({ next_page_token: '', total_items: 7 });
    });

    it('page_size ≤ 0 or not a number → 400; an unknown page_token → 400', async () => {
      const f = await newOrg();
      const lists = [
        `/v1/organisations/${f.orgId}/projects`,
        `/v1/organisations/${f.orgId}/apikeys`,
        `/v1/organisations/${f.orgId}/users`,
        `/v1/organisations/${f.orgId}/logs`,
        '/v1/organisations',
        '/v1/permissions?project_name=default',
        '/v1/roles?project_name=default',
        '/v1/grants?project_name=default&user_id=u',
      ];
      const api = as(f.orgKey);
      for (const path of lists) {
        const sep = path.includes('?') ? '&' : '?';
        for (const size of ['0', '-1', 'abc', '1.5', '2x']) expectError(await api.get(`${path}${sep}page_size=${size}`), 400, ['page_size']);
        for (const token of ['nope', 'AAAA', '%00%01']) expectError(await api.get(`${path}${sep}page_token=${token}`), 400, ['page_token']);
        expect(ok(await api.get(`${path}${sep}page_size=1`))).toHaveProperty('total_items');
      }
    });

    it('page_size above 1000 is clamped to 1000; the default page is 50', async () => {
      const f = await newOrg('Big', 'user-0000');
      const ids = Array.from({ length: 1001 }, (_, i) => `user-${String(i + 1).padStart(4, '0')}`);
      await inBatches(ids, 32, async (id) => ok(await admin.post(`/v1/organisations/${f.orgId}/users`, { user_id: id, email: `${id}@acme.test` })));
      const path = `/v1/organisations/${f.orgId}/users`;
      const big = ok(await admin.get(`${path}?page_size=5000`));
      expect(big.users.length).toBe(1000);
      expect(big.total_items).toBe(1002);
      expect(big.next_page_token).not.toBe('');
      const rest = ok(await admin.get(`${path}?page_size=5000&page_token=${encodeURIComponent(big.next_page_token)}`));
      expect(rest.users.length).toBe(2);
      expect(rest.next_page_token).toBe('');
      const all = [...big.users, ...rest.users].map((u: any) => u.id);
      expect(new Set(all).size).toBe(1002);
      expect(all[0]).toBe('user-0000');

      const def = ok(await admin.get(path));
      expect(def.users.length).toBe(50);
      expect(def.total_items).toBe(1002);
      expect(def.next_page_token).not.toBe('');
      const exact = ok(await admin.get(`${path}?page_size=1000`));
      expect(exact.users.map((u: any) => u.id)).toEqual(big.users.map((u: any) => u.id));
    });
  });
});
