// REST ↔ gRPC parity on one real server: what one transport writes the other reads identically; same answers, same errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/api/operations.js';
import { GRPC_CODE_BY_STATUS } from '../../src/errors.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client, type HttpResult } from '../helpers/http.js';
import { grpcClient, type GrpcClient, type GrpcResult } from '../helpers/grpc-client.js';
import { ok, show } from '../helpers/expect-api.js';

let server: RunningServer;
const grpcClients: GrpcClient[] = [];

/** Both transports with one key. */
interface Transports {
  rest: Client;
  grpc: GrpcClient;
}

function transports(key: string): Transports {
  const g = grpcClient(server.grpcAddress, key);
  grpcClients.push(g);
  return { rest: client(server.httpUrl, key), grpc: g };
}

/** The REST request of `rpc` with `input`, transcoded by the route table: path parameters, then a JSON body or a query. */
function restCall(api: Client, rpc: string, input: Record<string, unknown>): Promise<HttpResult> {
  const route = ROUTES.find((r) => r.rpc === rpc)!;
  const rest = { ...input };
  const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = String(rest[name]);
    delete rest[name];
    return encodeURIComponent(value);
  });
  if (route.body === '*') return api.call(route.method, path, rest);
  const query = new URLSearchParams(Object.entries(rest).map(([k, v]) => [k, String(v)])).toString();
  return api.call(route.method, query ? `${path}?${query}` : path);
}

/** Asserts both transports answer alike: the same body on success, the mapped code and the same error body otherwise. */
function expectSame(rest: HttpResult, grpc: GrpcResult): void {
  const context = `REST ${show(rest)}\ngRPC ${show(grpc)}`;
  expect(grpc.code, context).toBe(rest.status === 200 ? 0 : GRPC_CODE_BY_STATUS[rest.status]);
  expect(grpc.body, context).toEqual(rest.body);
}

/** Runs `rpc` on both transports and asserts parity; returns the (common) body. */
async function both(t: Transports, rpc: string, input: Record<string, unknown> = {}): Promise<any> {
  const [r, g] = await Promise.all([restCall(t.rest, rpc, input), t.grpc.call(rpc, input)]);
  expectSame(r, g);
  return r.body;
}

let admin: Transports;
let api: Transports; // organisation key
let orgId: string;

beforeAll(async () => {
  server = await startServer();
  admin = transports(server.adminKey);
  const { organisation } = ok(await admin.grpc.call('CreateOrganisation', { name: 'Parity Org', user_id: 'owner' }));
  orgId = organisation.id;
  const { api_key } = ok(await admin.rest.post(`/v1/organisations/${orgId}/apikeys`, { name: 'org key' }));
  api = transports(api_key.key);
});

afterAll(async () => {
  for (const c of grpcClients) c.close();
  await server?.stop();
  server?.cleanup();
});

describe('written on one transport, read identically on both', () => {
  it('organisations, users, projects, invitations and API keys', async () => {
    const viaRest = ok(await admin.rest.post('/v1/organisations', { name: 'Made over REST', user_id: 'u1' })).organisation;
    const viaGrpc = ok(await admin.grpc.call('CreateOrganisation', { name: 'Made over gRPC', user_id: 'u2', plan: 'pro' })).organisation;
    expect(await both(admin, 'GetOrganisation', { organisation_id: viaRest.id })).toEqual({ organisation: viaRest });
    expect(await both(admin, 'GetOrganisation', { organisation_id: viaGrpc.id })).toEqual({ organisation: viaGrpc });
    await both(admin, 'ListOrganisations', { page_size: 2 });
    await both(api, 'ListOrganisations');

    const updated = ok(await admin.grpc.call('UpdateOrganisation', { organisation_id: viaRest.id, plan: 'free' })).organisation;
    expect(await both(admin, 'GetOrganisation', { organisation_id: viaRest.id })).toEqual({ organisation: updated });

    ok(await api.grpc.call('AddUser', { organisation_id: orgId, user_id: 'bob', email: 'bob@acme.test' }));
    ok(await api.rest.post(`/v1/organisations/${orgId}/users`, { user_id: 'carol', email: 'carol@acme.test' }));
    const users = await both(api, 'ListUsers', { organisation_id: orgId });
    expect(users.users.map((u: any) => u.id)).toEqual(['owner', 'bob', 'carol']);

    const project = ok(await api.grpc.call('CreateProject', { organisation_id: orgId, name: 'via-grpc' })).project;
    ok(await api.rest.post(`/v1/organisations/${orgId}/projects`, { name: 'via-rest' }));
    expect((await both(api, 'ListProjects', { organisation_id: orgId })).projects).toContainEqual(project);

    const invitation = ok(await api.grpc.call('CreateInvitation', { organisation_id: orgId, email: 'dan@acme.test' })).invitation;
    const joined = ok(await admin.rest.post(`/v1/invitations/${invitation.token}:accept`, { user_id: 'dan' })).organisation;
    expect(await both(api, 'GetOrganisation', { organisation_id: orgId })).toEqual({ organisation: joined });

    const grpcKey = ok(await api.grpc.call('CreateApiKey', { organisation_id: orgId, name: 'g', project_name: 'via-grpc' })).api_key;
    const restKey = ok(await api.rest.post(`/v1/organisations/${orgId}/apikeys`, { name: 'r' })).api_key;
    expect(Object.keys(grpcKey).sort()).toEqual(Object.keys(restKey).sort());
    ok(await api.rest.del(`/v1/organisations/${orgId}/apikeys/${grpcKey.id}`));
    const keys = await both(api, 'ListApiKeys', { organisation_id: orgId });
    const { key: _secret, ...listed } = grpcKey;
    expect(keys.api_keys).toContainEqual({ ...listed, invalidated: true });
  });

  it('permissions, roles and grants', async () => {
    const project = 'default';
    const read = ok(await api.grpc.call('CreatePermission', { project_name: project, name: 'doc.read', description: 'Read' }));
    const write = ok(await api.rest.post('/v1/permissions', { project_name: project, name: 'doc.write' }));
    expect(await both(api, 'GetPermission', { project_name: project, permission_id: read.id })).toEqual(read);
    expect(await both(api, 'GetPermission', { project_name: project, permission_id: write.id })).toEqual(write);

    const renamed = ok(await api.rest.patch(`/v1/permissions/${read.id}`, { project_name: project, description: '' }));
    expect(await both(api, 'GetPermission', { project_name: project, permission_id: read.id })).toEqual(renamed);

    const editor = ok(await api.grpc.call('CreateRole', { project_name: project, name: 'Editor', permissions: [read.id, write.id] }));
    const viewer = ok(await api.rest.post('/v1/roles', { project_name: project, name: 'Viewer', permissions: [read.id] }));
    expect(await both(api, 'GetRole', { project_name: project, role_id: editor.id })).toEqual(editor);
    expect(await both(api, 'GetRole', { project_name: project, role_id: viewer.id })).toEqual(viewer);
    const emptied = ok(await api.grpc.call('UpdateRole', { project_name: project, role_id: viewer.id, update_mask: { paths: ['permissions'] } }));
    expect(ok(await api.rest.get(`/v1/roles/${viewer.id}?project_name=${project}`))).toEqual(emptied);
    const refilled = ok(await api.rest.patch(`/v1/roles/${viewer.id}`, { project_name: project, permissions: [write.id] }));
    expect(ok(await api.grpc.call('GetRole', { project_name: project, role_id: viewer.id }))).toEqual(refilled);
    await both(api, 'ListPermissions', { project_name: project });
    await both(api, 'ListRoles', { project_name: project, page_size: 1 });

    ok(await api.grpc.call('Grant', { project_name: project, user_id: 'alice', resource_uri: '/teams/eng', roles: ['Editor'] }));
    ok(await api.rest.post('/v1/grants', { project_name: project, user_id: 'alice', resource_uri: '/docs/1', permissions: [read.id] }));
    const grants = await both(api, 'ListGrants', { project_name: project, user_id: 'alice' });
    expect(grants.grants.map((g: any) => g.resource_uri)).toEqual(['/teams/eng', '/docs/1']);
    await both(api, 'ListGrants', { project_name: project, user_id: 'alice', resource_uri: '/docs/1' });
    await both(admin, 'ListGrants', { organisation_id: orgId, project_name: project, user_id: 'alice', page_size: 1 });
  });
});

describe('the same Check batch answers the same on both', () => {
  const CASES: [string, string[], string[]][] = [
    ['alice', ['/teams/eng', '/teams/eng/projects/app1', '/teams/engineering', '/teams/eng/'], ['doc.read', 'doc.write', 'doc.delete']],
    ['alice', ['/docs/1', '/docs/1', '/docs/2', '/'], ['doc.read', 'doc.read', 'nope']],
    ['bob', ['/teams/eng'], ['doc.read']],
    ['alice', ['/teams/eng/x'], ['doc.read']],
  ];

  it.each(CASES)('%s on %j × %j', async (principal, uris, permissions) => {
    await both(api, 'Check', { project_name: 'default', principal_id: principal, resource_uris: uris, permissions });
    await both(admin, 'Check', { organisation_id: orgId, project_name: 'default', principal_id: principal, resource_uris: uris, permissions });
  });
});

describe('the same error body on both', () => {
  const other = () => transports(server.adminKey);

  it.each([
    ['GetPermission 404', 'GetPermission', { project_name: 'default', permission_id: 'perm_doesnotexist' }],
    ['GetRole 404', 'GetRole', { project_name: 'default', role_id: 'role_doesnotexist' }],
    ['project 404', 'ListPermissions', { project_name: 'nope' }],
    ['missing project_name 400', 'ListRoles', {}],
    ['bad page token 400', 'ListPermissions', { project_name: 'default', page_token: 'bogus' }],
    ['bad page size 400', 'ListPermissions', { project_name: 'default', page_size: -5 }],
    ['duplicate 409', 'CreatePermission', { project_name: 'default', name: 'doc.read' }],
    ['unknown grant 400', 'Grant', { project_name: 'default', user_id: 'u', resource_uri: '/x', permissions: ['ghost.perm', 'perm_ghost'] }],
    ['empty grant 400', 'Revoke', { project_name: 'default', user_id: 'u', resource_uri: '/x' }],
    ['bad URI 400', 'Check', { project_name: 'default', principal_id: 'u', resource_uris: ['/a/./b'], permissions: ['p'] }],
    ['too many pairs 400', 'Check', { project_name: 'default', principal_id: 'u', resource_uris: Array.from({ length: 101 }, (_, i) => `/r/${i}`), permissions: Array.from({ length: 100 }, (_, i) => `p${i}`) }],
    ['operator-only 403', 'CreateOrganisation', { name: 'X', user_id: 'u' }],
    ['other organisation 403', 'GetOrganisation', { organisation_id: 'org_doesnotexist' }],
    ['unknown invitation 404', 'AcceptInvitation', { token: 'not-a-token', user_id: 'x' }],
  ])('%s', async (_name, rpc, input) => {
    await both(api, rpc, input as Record<string, unknown>);
  });

  it('oversized request 413 (1 MiB outside Check)', async () => {
    await both(api, 'CreatePermission', { project_name: 'default', name: 'big', description: 'x'.repeat(1024 * 1024 + 1) });
  });

  it('operator without organisation_id 400; unknown key 401', async () => {
    await both(other(), 'ListPermissions', { project_name: 'default' });
    await both(transports('perms_api_unknown'), 'ListPermissions', { project_name: 'default' });
  });
});
