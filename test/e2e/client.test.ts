// The typed client (permio/client) against the real server: one scenario, run over REST and over gRPC, must behave alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Permio, PermioError } from '../../src/client/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const clients: Permio[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  server?.cleanup();
});

type Transport = 'rest' | 'grpc';

function permio(transport: Transport, apiKey: string, options: Partial<ConstructorParameters<typeof Permio>[0]> = {}): Permio {
  const c = new Permio({ url: server.httpUrl, grpcAddress: server.grpcAddress, apiKey, transport, ...options });
  clients.push(c);
  return c;
}

/** Every item of an async iterable. */
async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The PermioError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<PermioError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PermioError);
  return err as PermioError;
}

/** What each transport's run saw, compared at the end: the same program must give the same observations. */
const observed: Record<Transport, unknown[]> = { rest: [], grpc: [] };

describe.each(['rest', 'grpc'] as const)('the client over %s', (transport) => {
  let admin: Permio;
  let org: Permio; // organisation key, no organisationId: routes that name the organisation use the key's own
  let orgId: string;
  const see = (label: string, value: unknown) => observed[transport].push([label, value]);

  beforeAll(async () => {
    admin = permio(transport, server.adminKey);
    const { organisation } = await admin.organisations.create({ name: `Acme ${transport}`, user_id: 'owner' });
    orgId = organisation.id;
    const { api_key } = await admin.apiKeys.create({ organisation_id: orgId, name: 'org key' });
    expect(api_key.key).toMatch(/^perms_api_/);
    org = permio(transport, api_key.key!);
  });

  it('organisations: create, get, list (every page, or one), update', async () => {
    const { organisation } = await admin.organisations.get({ organisation_id: orgId });
    expect(organisation).toMatchObject({ id: orgId, name: `Acme ${transport}`, users: [{ id: 'owner', email: '' }] });
    expect((await org.organisations.get({ organisation_id: orgId })).organisation).toEqual(organisation);
    expect((await permio(transport, server.adminKey, { organisationId: orgId }).organisations.get()).organisation).toEqual(organisation);

    await admin.organisations.create({ name: `Second ${transport}`, user_id: 'x' });
    const listed = await all(admin.organisations.list());
    expect(listed.map((o) => o.id)).toContain(orgId);
    const first = await admin.organisations.list().page({ page_size: 1 });
    expect(first.organisations).toHaveLength(1);
    expect(first.next_page_token).not.toBe('');
    expect(first.total_items).toBe(listed.length);
    const second = await admin.organisations.list().page({ page_size: 1, page_token: first.next_page_token });
    expect(second.organisations[0]).toEqual(listed[1]);
    expect(await all(admin.organisations.list({ page_size: 1 }))).toEqual(listed); // iterates page after page
    expect((await all(org.organisations.list())).map((o) => o.id)).toEqual([orgId]);

    const { organisation: updated } = await admin.organisations.update({ organisation_id: orgId, plan: 'pro' });
    expect(updated.plan).toBe('pro');
    await admin.organisations.update({ organisation_id: orgId, plan: 'enterprise' });
    see('org keys', Object.keys(updated).sort());
  });

  it('projects, users, invitations and API keys with the key\'s own organisation', async () => {
    const { project } = await org.projects.create({ name: 'mobile' });
    expect(project).toMatchObject({ organisation_id: orgId, name: 'mobile' });
    expect((await all(org.projects.list())).map((p) => p.name)).toEqual(['default', 'mobile']);
    expect(await org.projects.delete({ project_name: 'mobile' })).toEqual({});
    expect((await all(org.projects.list())).map((p) => p.name)).toEqual(['default']);

    expect(await org.users.add({ user_id: 'bob', email: 'bob@acme.test' })).toEqual({ user: { id: 'bob', email: 'bob@acme.test' } });
    const { invitation } = await org.invitations.create({ email: 'carol@acme.test' });
    const { organisation } = await admin.invitations.accept({ token: invitation.token, user_id: 'carol' });
    expect(organisation.users.map((u) => u.id)).toEqual(['owner', 'bob', 'carol']);
    expect(await org.users.remove({ user_id: 'bob' })).toEqual({});
    expect((await all(org.users.list())).map((u) => u.id)).toEqual(['owner', 'carol']);

    const { api_key } = await org.apiKeys.create({ name: 'svc', project_name: 'default' });
    expect(api_key).toMatchObject({ project_name: 'default', invalidated: false });
    const { api_key: orgKey } = await org.apiKeys.create({ name: 'no project' }); // project_name is never defaulted here
    expect(orgKey.project_name).toBe('');
    expect(await org.apiKeys.invalidate({ apikey_id: api_key.id })).toEqual({});
    const keys = await all(org.apiKeys.list());
    expect(keys.find((k) => k.id === api_key.id)).toMatchObject({ invalidated: true });
    expect(keys.every((k) => k.key === undefined)).toBe(true);
    see('keys', keys.map((k) => [k.name, k.project_name, k.invalidated]));
  });

  it('permissions, roles, grants and checks in the default project', async () => {
    const read = await org.permissions.create({ name: 'doc.read', description: 'Read' });
    const write = await org.permissions.create({ name: 'doc.write' });
    await org.permissions.create({ name: 'doc.delete' });
    expect(read).toMatchObject({ name: 'doc.read', description: 'Read', project_name: 'default', organisation_id: orgId });
    expect(await org.permissions.get({ permission_id: read.id })).toEqual(read);
    expect(await org.permissions.update({ permission_id: write.id, description: 'Write' })).toMatchObject({ name: 'doc.write', description: 'Write' });
    const page = await org.permissions.list().page({ page_size: 2 });
    expect(page.permissions.map((p) => p.name)).toEqual(['doc.read', 'doc.write']);
    expect(page.total_items).toBe(3);
    expect((await all(org.permissions.list({ page_size: 2 }))).map((p) => p.name)).toEqual(['doc.read', 'doc.write', 'doc.delete']);

    const editor = await org.roles.create({ name: 'Editor', permissions: [read.id, write.id] });
    expect(editor.permissions.map((p) => p.name)).toEqual(['doc.read', 'doc.write']);
    expect(await org.roles.get({ role_id: editor.id })).toEqual(editor);
    const viewer = await org.roles.create({ name: 'Viewer', permissions: [read.id] });
    expect((await org.roles.update({ role_id: viewer.id, name: 'Reader' })).name).toBe('Reader');
    expect((await all(org.roles.list())).map((r) => r.name)).toEqual(['Editor', 'Reader']);
    expect(await org.roles.delete({ role_id: viewer.id })).toEqual({});

    expect(await org.grants.grant({ user_id: 'alice', resource_uri: '/teams/eng', roles: ['Editor'] })).toEqual({});
    await org.grants.grant({ user_id: 'alice', resource_uri: '/docs/1', permissions: ['doc.delete'] });
    const grants = await all(org.grants.list({ user_id: 'alice' }));
    expect(grants.map((g) => [g.resource_uri, g.permissions, g.roles])).toEqual([
      ['/teams/eng', [], [editor.id]],
      ['/docs/1', [expect.stringMatching(/^perm_/)], []],
    ]);
    expect(await org.allowed('alice', 'doc.write', '/teams/eng/app1')).toBe(true);
    expect(await org.allowed('alice', 'doc.write', '/teams/engineering')).toBe(false);
    const answer = await org.check({ principal_id: 'alice', resource_uris: ['/teams/eng', '/docs/1'], permissions: ['doc.read', 'doc.delete'] });
    expect(answer).toEqual({
      passed: false,
      missing_permissions: [
        { resource_uri: '/teams/eng', missing_permissions: ['doc.delete'] },
        { resource_uri: '/docs/1', missing_permissions: ['doc.read'] },
      ],
    });
    expect(await org.grants.revoke({ user_id: 'alice', resource_uri: '/teams/eng', roles: ['Editor'] })).toEqual({});
    expect(await org.allowed('alice', 'doc.write', '/teams/eng/app1')).toBe(false);
    expect(await org.permissions.delete({ permission_id: write.id })).toEqual({});
    see('check', answer);
  });

  it('explain, lookups (every page, or one) and a windowed grant (SPEC §8)', async () => {
    await org.projects.create({ name: 'query' });
    const q = permio(transport, server.adminKey, { organisationId: orgId, project: 'query' });
    const read = await q.permissions.create({ name: 'q.read' });
    await q.roles.create({ name: 'Reader', permissions: [read.id] });
    for (const uri of ['/a-c', '/a/b', '/a/b/c', '/z/1', '/z/2']) await q.grants.grant({ user_id: 'lu', resource_uri: uri, permissions: ['q.read'] });
    await q.grants.grant({ user_id: 'lv', resource_uri: '/a', roles: ['Reader'], expires_at: '2099-01-01T00:00:00Z' });
    const resources = q.lookupResources({ principal_id: 'lu', permission: 'q.read', page_size: 2 });
    expect(await all(resources)).toEqual(['/a-c', '/a/b', '/z/1', '/z/2']); // maximal subtrees, byte order
    const first = await q.lookupResources({ principal_id: 'lu', permission: 'q.read' }).page({ page_size: 3 });
    expect(first).toEqual({ resource_uris: ['/a-c', '/a/b', '/z/1'], next_page_token: expect.any(String), total_items: 4 });
    expect(await all(q.lookupSubjects({ resource_uri: '/a/b/x', permission: 'q.read', page_size: 1 }))).toEqual(['lu', 'lv']);
    const why = await q.explain({ principal_id: 'lv', resource_uris: ['/a/b'], permissions: ['q.read'] });
    expect(why.explanations).toEqual([
      { resource_uri: '/a/b', permission: 'q.read', allowed: true, sources: [{ resource_uri: '/a', role: { id: expect.stringMatching(/^role_/), name: 'Reader' }, expires_at: '2099-01-01T00:00:00Z' }] },
    ]);
    const [grant] = await all(q.grants.list({ user_id: 'lv' }));
    expect(grant!.windows).toEqual([{ role_id: expect.stringMatching(/^role_/), expires_at: '2099-01-01T00:00:00Z' }]);
    see('explain', why.explanations.map((e) => e.sources.map((src) => [src.resource_uri, src.role?.name, src.expires_at])));
  });

  it('the constructor\'s project and organisation are defaults a request may override', async () => {
    await org.projects.create({ name: 'other' });
    const other = permio(transport, server.adminKey, { organisationId: orgId, project: 'other' });
    await other.permissions.create({ name: 'only.here' });
    expect((await all(other.permissions.list())).map((p) => p.name)).toEqual(['only.here']);
    expect((await all(org.permissions.list({ project_name: 'other' }))).map((p) => p.name)).toEqual(['only.here']);
    expect((await all(other.permissions.list({ project_name: 'default' }))).map((p) => p.name)).not.toContain('only.here');
  });

  it('errors: PermioError with the HTTP status, the gRPC code name, the server\'s message and details', async () => {
    const missing = await failure(org.permissions.get({ permission_id: 'perm_nope' }));
    expect([missing.status, missing.code, missing.message, missing.details]).toEqual([
      404,
      'NOT_FOUND',
      "Not found: permission 'perm_nope' does not exist",
      [{ resource: 'permission', id: 'perm_nope' }],
    ]);
    const duplicate = await failure(org.permissions.create({ name: 'doc.read' }));
    expect([duplicate.status, duplicate.code]).toEqual([409, 'ALREADY_EXISTS']);
    const unknown = await failure(org.grants.grant({ user_id: 'a', resource_uri: '/x', permissions: ['nope'] }));
    expect([unknown.status, unknown.code, unknown.details]).toEqual([400, 'INVALID_ARGUMENT', [{ unknown_permissions: ['nope'] }]]);
    const noId = await failure(org.permissions.get({}));
    expect([noId.status, noId.code, noId.message]).toEqual([400, 'INVALID_ARGUMENT', "Invalid request: Missing required field 'permission_id'"]);
    const badKey = await failure(permio(transport, 'perms_api_wrong').permissions.list().page());
    expect([badKey.status, badKey.code, badKey.unreachable]).toEqual([401, 'UNAUTHENTICATED', false]);
    const forbidden = await failure(org.organisations.create({ name: 'x', user_id: 'y' }));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'PERMISSION_DENIED']);
    see('errors', [missing, duplicate, unknown, noId, badKey, forbidden].map((e) => [e.status, e.code, e.message, e.details]));
  });

  it('a server that cannot be reached: 503 UNAVAILABLE, unreachable, with the network error as cause', async () => {
    const nowhere = permio(transport, server.adminKey, { url: 'http://127.0.0.1:9', grpcAddress: '127.0.0.1:9', retries: 0 });
    const err = await failure(nowhere.organisations.list().page());
    expect([err.status, err.code, err.unreachable]).toEqual([503, 'UNAVAILABLE', true]);
    expect(err.cause).toBeDefined();
  });

  it('the call log (entries are written about once a second: poll for them)', async () => {
    let logs = await org.logs.list({ route: 'CreatePermission' }).page();
    for (let i = 0; i < 50 && logs.logs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = await org.logs.list({ route: 'CreatePermission' }).page();
    }
    expect(logs.logs[0]).toMatchObject({ organisation_id: orgId, transport, rpc: 'CreatePermission' });
    expect((await all(org.logs.list({ route: 'CreatePermission' }))).length).toBe(logs.total_items);
  });
});

describe('REST and gRPC runs of the scenario', () => {
  it('observed the same answers', () => {
    expect(observed.grpc).toEqual(observed.rest);
    expect(observed.rest.length).toBeGreaterThan(3);
  });
});
