// Every RPC over real gRPC against the real server: REST-shaped answers, SPEC §5 status codes, auth by metadata.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoRoutes } from '../../src/api/grpc/proto.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { grpcClient, type GrpcClient } from '../helpers/grpc-client.js';
import { expectGrpcError, grpcOk } from '../helpers/expect-grpc.js';
import { expectRecentTimestamp } from '../helpers/expect-api.js';

let server: RunningServer;
let admin: GrpcClient;
const clients: GrpcClient[] = [];

/** A client with `key` (undefined: no `authorization` metadata), closed after the suite. */
function as(key?: string): GrpcClient {
  const c = grpcClient(server.grpcAddress, key);
  clients.push(c);
  return c;
}

interface Org {
  id: string;
  org: any;
  /** An organisation key of it. */
  api: GrpcClient;
  keyId: string;
}

let orgSeq = 0;

/** A new organisation (operator key) with an organisation key. */
async function newOrg(owner = 'owner'): Promise<Org> {
  const { organisation } = grpcOk(await admin.call('CreateOrganisation', { name: `gRPC Org ${++orgSeq}`, user_id: owner }));
  const { api_key } = grpcOk(await admin.call('CreateApiKey', { organisation_id: organisation.id, name: 'org key' }));
  return { id: organisation.id, org: organisation, api: as(api_key.key), keyId: api_key.id };
}

/** A project key of `project` in `org`. */
async function projectKey(org: Org, project: string): Promise<GrpcClient> {
  const { api_key } = grpcOk(await admin.call('CreateApiKey', { organisation_id: org.id, project_name: project, name: 'project key' }));
  return as(api_key.key);
}

beforeAll(async () => {
  server = await startServer();
  admin = as(server.adminKey);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  server?.cleanup();
});

describe('transport', () => {
  it('health reports SERVING', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(server.grpcAddress, grpc.credentials.createInsecure()) as any;
    const res = await new Promise<any>((resolve, reject) => health.check({ service: '' }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    health.close();
    expect(res.status).toBe('SERVING');
  });

  it('every RPC refuses a missing, malformed, unknown or invalidated key with UNAUTHENTICATED', async () => {
    const org = await newOrg();
    const { api_key } = grpcOk(await admin.call('CreateApiKey', { organisation_id: org.id, name: 'doomed' }));
    grpcOk(await admin.call('InvalidateApiKey', { organisation_id: org.id, apikey_id: api_key.id }));
    const anon = as();
    for (const { rpc } of protoRoutes()) {
      expectGrpcError(await anon.call(rpc, {}), 401);
      expectGrpcError(await anon.call(rpc, {}, { authorization: `Basic ${server.adminKey}` }), 401);
      expectGrpcError(await anon.call(rpc, {}, { authorization: `Bearer ${server.adminKey} extra` }), 401);
      expectGrpcError(await anon.call(rpc, {}, { key: 'perms_api_unknown' }), 401);
      expectGrpcError(await anon.call(rpc, {}, { key: api_key.key }), 401);
    }
  });
});

describe('OrganisationService', () => {
  it('CreateOrganisation: the operator only; REST shape with a default project', async () => {
    const res = grpcOk(await admin.call('CreateOrganisation', { name: 'Acme Inc.', user_id: 'user_1234567890' }));
    expect(res).toEqual({
      organisation: {
        id: expect.stringMatching(/^org_/),
        name: 'Acme Inc.',
        plan: 'enterprise',
        rate_limit_per_minute: 0,
        users: [{ id: 'user_1234567890', email: '' }],
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    });
    expectRecentTimestamp(res.organisation.created_at);
    const projects = grpcOk(await admin.call('ListProjects', { organisation_id: res.organisation.id }));
    expect(projects).toEqual({
      projects: [{ organisation_id: res.organisation.id, name: 'default', created_at: expect.any(String) }],
      next_page_token: '',
      total_items: 1,
    });
    const org = await newOrg();
    expectGrpcError(await org.api.call('CreateOrganisation', { name: 'X', user_id: 'u' }), 403);
    expectGrpcError(await admin.call('CreateOrganisation', { user_id: 'u' }), 400, ['name']);
    expectGrpcError(await admin.call('CreateOrganisation', { name: 'X' }), 400, ['user_id']);
    expectGrpcError(await admin.call('CreateOrganisation', { name: 'X', user_id: 'bad\u0001id' }), 400, ['user_id']);
    expectGrpcError(await admin.call('CreateOrganisation', { name: 'X', user_id: 'u', plan: 'gold' }), 400, ['plan']);
    const free = grpcOk(await admin.call('CreateOrganisation', { name: 'Free', user_id: 'u', plan: 'free' }));
    expect(free.organisation.plan).toBe('free');
  });

  it('GetOrganisation: own 200, another 403, unknown 404 (operator) / 403 (key)', async () => {
    const a = await newOrg();
    const b = await newOrg();
    expect(grpcOk(await a.api.call('GetOrganisation', { organisation_id: a.id }))).toEqual({ organisation: a.org });
    expect(grpcOk(await admin.call('GetOrganisation', { organisation_id: a.id }))).toEqual({ organisation: a.org });
    expectGrpcError(await a.api.call('GetOrganisation', { organisation_id: b.id }), 403);
    expectGrpcError(await a.api.call('GetOrganisation', { organisation_id: 'org_doesnotexist' }), 403);
    expectGrpcError(await admin.call('GetOrganisation', { organisation_id: 'org_doesnotexist' }), 404);
    expectGrpcError(await admin.call('GetOrganisation', {}), 400, ['organisation_id']);
  });

  it('ListOrganisations: the operator pages through all, a key sees its own; bad page arguments 400', async () => {
    const a = await newOrg();
    expect(grpcOk(await a.api.call('ListOrganisations'))).toEqual({ organisations: [a.org], next_page_token: '', total_items: 1 });
    const first = grpcOk(await admin.call('ListOrganisations', { page_size: 1 }));
    expect(first.organisations).toHaveLength(1);
    expect(first.total_items).toBeGreaterThan(1);
    const second = grpcOk(await admin.call('ListOrganisations', { page_size: 1, page_token: first.next_page_token }));
    expect(second.organisations[0].id).not.toBe(first.organisations[0].id);
    expect(grpcOk(await admin.call('ListOrganisations', { page_size: 5000 })).organisations).toHaveLength(first.total_items);
    expectGrpcError(await admin.call('ListOrganisations', { page_size: -1 }), 400, ['page_size']);
    expectGrpcError(await admin.call('ListOrganisations', { page_token: 'bogus' }), 400, ['page_token']);
  });

  it('UpdateOrganisation: partial; operator only; invalid plan 400; unknown 404', async () => {
    const org = await newOrg();
    const renamed = grpcOk(await admin.call('UpdateOrganisation', { organisation_id: org.id, name: 'After' }));
    expect(renamed.organisation).toEqual({ ...org.org, name: 'After', updated_at: renamed.organisation.updated_at });
    const pro = grpcOk(await admin.call('UpdateOrganisation', { organisation_id: org.id, plan: 'pro', rate_limit_per_minute: 0 }));
    expect(pro.organisation).toMatchObject({ name: 'After', plan: 'pro', rate_limit_per_minute: 0 });
    const limited = grpcOk(await admin.call('UpdateOrganisation', { organisation_id: org.id, plan: 'enterprise', rate_limit_per_minute: 5000 }));
    expect(limited.organisation).toMatchObject({ plan: 'enterprise', rate_limit_per_minute: 5000 });
    expectGrpcError(await org.api.call('UpdateOrganisation', { organisation_id: org.id, name: 'N' }), 403);
    expectGrpcError(await admin.call('UpdateOrganisation', { organisation_id: 'org_doesnotexist', name: 'N' }), 404);
    expectGrpcError(await admin.call('UpdateOrganisation', { organisation_id: org.id, plan: 'gold' }), 400, ['plan']);
    expectGrpcError(await admin.call('UpdateOrganisation', { organisation_id: org.id, rate_limit_per_minute: -1 }), 400, ['rate_limit_per_minute']);
  });

  it('projects: create, list, duplicate 409, bad name 400, delete, unknown 404, project key 403', async () => {
    const org = await newOrg();
    const created = grpcOk(await org.api.call('CreateProject', { organisation_id: org.id, name: 'mobile-app' }));
    expect(created).toEqual({ project: { organisation_id: org.id, name: 'mobile-app', created_at: expect.any(String) } });
    expectGrpcError(await org.api.call('CreateProject', { organisation_id: org.id, name: 'mobile-app' }), 409);
    expectGrpcError(await org.api.call('CreateProject', { organisation_id: org.id, name: 'Bad Name' }), 400, ['name']);
    expectGrpcError(await org.api.call('CreateProject', { organisation_id: org.id }), 400, ['name']);
    expect(grpcOk(await org.api.call('ListProjects', { organisation_id: org.id })).projects.map((p: any) => p.name)).toEqual(['default', 'mobile-app']);
    const proj = await projectKey(org, 'mobile-app');
    expectGrpcError(await proj.call('CreateProject', { organisation_id: org.id, name: 'x' }), 403);
    expectGrpcError(await proj.call('ListProjects', { organisation_id: org.id }), 403);
    expectGrpcError(await proj.call('DeleteProject', { organisation_id: org.id, project_name: 'mobile-app' }), 403);
    expect(grpcOk(await org.api.call('DeleteProject', { organisation_id: org.id, project_name: 'mobile-app' }))).toEqual({});
    expectGrpcError(await org.api.call('DeleteProject', { organisation_id: org.id, project_name: 'mobile-app' }), 404);
    expectGrpcError(await proj.call('ListPermissions', { project_name: 'mobile-app' }), 401); // its project keys are invalidated
    expectGrpcError(await admin.call('CreateProject', { organisation_id: 'org_doesnotexist', name: 'x' }), 404);
  });

  it('API keys: the secret once, listed without it, invalidation keeps the key listed', async () => {
    const org = await newOrg();
    const created = grpcOk(await org.api.call('CreateApiKey', { organisation_id: org.id, name: 'Production Service Key', project_name: 'default' }));
    expect(created).toEqual({
      api_key: {
        id: expect.stringMatching(/^apikey_/),
        name: 'Production Service Key',
        organisation_id: org.id,
        project_name: 'default',
        key: expect.stringMatching(/^perms_api_/),
        created_at: expect.any(String),
        invalidated: false,
      },
    });
    const { key, ...listed } = created.api_key;
    expect(key).toBeTruthy();
    const list = grpcOk(await org.api.call('ListApiKeys', { organisation_id: org.id }));
    expect(list.total_items).toBe(2);
    expect(list.api_keys[1]).toEqual(listed);
    expect(list.api_keys[0]).toEqual({
      id: org.keyId,
      name: 'org key',
      organisation_id: org.id,
      project_name: '',
      created_at: expect.any(String),
      invalidated: false,
    });
    expect(grpcOk(await org.api.call('InvalidateApiKey', { organisation_id: org.id, apikey_id: created.api_key.id }))).toEqual({});
    expect(grpcOk(await org.api.call('ListApiKeys', { organisation_id: org.id })).api_keys[1]).toEqual({ ...listed, invalidated: true });
    expectGrpcError(await as(key).call('ListPermissions', { project_name: 'default' }), 401);
    expectGrpcError(await org.api.call('InvalidateApiKey', { organisation_id: org.id, apikey_id: 'apikey_doesnotexist' }), 404);
    expectGrpcError(await org.api.call('CreateApiKey', { organisation_id: org.id }), 400, ['name']);
    expectGrpcError(await org.api.call('CreateApiKey', { organisation_id: org.id, name: 'k', project_name: 'nope' }), 404);
    const other = await newOrg();
    expectGrpcError(await other.api.call('ListApiKeys', { organisation_id: org.id }), 403);
  });

  it('users: add, list, duplicate 409, remove, unknown 404, bad email 400', async () => {
    const org = await newOrg();
    expect(grpcOk(await org.api.call('AddUser', { organisation_id: org.id, user_id: 'bob', email: 'bob@acme.test' }))).toEqual({
      user: { id: 'bob', email: 'bob@acme.test' },
    });
    expect(grpcOk(await org.api.call('ListUsers', { organisation_id: org.id }))).toEqual({
      users: [
        { id: 'owner', email: '' },
        { id: 'bob', email: 'bob@acme.test' },
      ],
      next_page_token: '',
      total_items: 2,
    });
    expectGrpcError(await org.api.call('AddUser', { organisation_id: org.id, user_id: 'bob', email: 'other@acme.test' }), 409);
    expectGrpcError(await org.api.call('AddUser', { organisation_id: org.id, user_id: 'x', email: 'not-an-email' }), 400, ['email']);
    expectGrpcError(await org.api.call('AddUser', { organisation_id: org.id, email: 'x@acme.test' }), 400, ['user_id']);
    expect(grpcOk(await org.api.call('RemoveUser', { organisation_id: org.id, user_id: 'bob' }))).toEqual({});
    expectGrpcError(await org.api.call('RemoveUser', { organisation_id: org.id, user_id: 'bob' }), 404);
    const proj = await projectKey(org, 'default');
    expectGrpcError(await proj.call('ListUsers', { organisation_id: org.id }), 403);
  });

  it('invitations: create, accept adds the user with that email; unknown token 404', async () => {
    const org = await newOrg();
    const { invitation } = grpcOk(await org.api.call('CreateInvitation', { organisation_id: org.id, email: 'yann@acme.test' }));
    expect(invitation).toEqual({ id: expect.any(String), email: 'yann@acme.test', token: expect.any(String), expires_at: expect.any(String) });
    const accepted = grpcOk(await admin.call('AcceptInvitation', { token: invitation.token, user_id: 'yann' }));
    expect(accepted.organisation.id).toBe(org.id);
    expect(accepted.organisation.users).toContainEqual({ id: 'yann', email: 'yann@acme.test' });
    expectGrpcError(await admin.call('AcceptInvitation', { token: invitation.token, user_id: 'zoe' }), 404);
    expectGrpcError(await admin.call('AcceptInvitation', { token: 'not-a-token', user_id: 'x' }), 404);
    expectGrpcError(await admin.call('CreateInvitation', { organisation_id: org.id }), 400, ['email']);
    expectGrpcError(await admin.call('CreateInvitation', { organisation_id: 'org_doesnotexist', email: 'x@acme.test' }), 404);
  });
});

describe('PermissionsService', () => {
  let org: Org;
  let projectSeq = 0;

  beforeAll(async () => {
    org = await newOrg();
  });

  async function newProject(): Promise<string> {
    const name = `g${++projectSeq}`;
    grpcOk(await org.api.call('CreateProject', { organisation_id: org.id, name }));
    return name;
  }

  it('permissions: create, get, update (partial), list, delete; 409, 400, 404', async () => {
    const project = await newProject();
    const p = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'document.read', description: 'Read' }));
    expect(p).toEqual({ id: expect.stringMatching(/^perm_/), organisation_id: org.id, name: 'document.read', description: 'Read', project_name: project });
    const q = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'document.write' }));
    expect(q.description).toBe('');
    expect(grpcOk(await org.api.call('GetPermission', { project_name: project, permission_id: p.id }))).toEqual(p);
    const named = grpcOk(await org.api.call('UpdatePermission', { project_name: project, permission_id: p.id, name: 'doc.read' }));
    expect(named).toEqual({ ...p, name: 'doc.read' });
    const cleared = grpcOk(await org.api.call('UpdatePermission', { project_name: project, permission_id: p.id, description: '' }));
    expect(cleared).toEqual({ ...p, name: 'doc.read', description: '' });
    expect(grpcOk(await org.api.call('ListPermissions', { project_name: project }))).toEqual({ permissions: [cleared, q], next_page_token: '', total_items: 2 });
    const page = grpcOk(await org.api.call('ListPermissions', { project_name: project, page_size: 1 }));
    expect(page.permissions).toEqual([cleared]);
    expect(grpcOk(await org.api.call('ListPermissions', { project_name: project, page_size: 1, page_token: page.next_page_token })).permissions).toEqual([q]);

    expectGrpcError(await org.api.call('CreatePermission', { project_name: project, name: 'document.write' }), 409);
    expectGrpcError(await org.api.call('UpdatePermission', { project_name: project, permission_id: p.id, name: 'document.write' }), 409);
    expectGrpcError(await org.api.call('CreatePermission', { project_name: project, name: 'bad name' }), 400, ['name']);
    expectGrpcError(await org.api.call('CreatePermission', { project_name: project }), 400, ['name']);
    expectGrpcError(await org.api.call('UpdatePermission', { project_name: project, permission_id: p.id, name: '' }), 400, ['name']);
    expectGrpcError(await org.api.call('CreatePermission', { name: 'x' }), 400, ['project_name']);
    expectGrpcError(await org.api.call('GetPermission', { project_name: project, permission_id: 'perm_doesnotexist' }), 404);
    expectGrpcError(await org.api.call('ListPermissions', { project_name: 'nope' }), 404);
    expect(grpcOk(await org.api.call('DeletePermission', { project_name: project, permission_id: q.id }))).toEqual({});
    expectGrpcError(await org.api.call('DeletePermission', { project_name: project, permission_id: q.id }), 404);
  });

  it('roles: embedded permissions; UpdateRole keeps, replaces or (with update_mask) clears the set', async () => {
    const project = await newProject();
    const read = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'doc.read' }));
    const write = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'doc.write' }));
    const role = grpcOk(await org.api.call('CreateRole', { project_name: project, name: 'Document Editor', description: 'Edits', permissions: [write.id, read.id] }));
    expect(role).toEqual({
      id: expect.stringMatching(/^role_/),
      organisation_id: org.id,
      name: 'Document Editor',
      description: 'Edits',
      permissions: [write, read],
      project_name: project,
    });
    expect(grpcOk(await org.api.call('GetRole', { project_name: project, role_id: role.id }))).toEqual(role);
    const renamed = grpcOk(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, name: 'Editor', permissions: [] }));
    expect(renamed).toEqual({ ...role, name: 'Editor' });
    const replaced = grpcOk(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, permissions: [read.id] }));
    expect(replaced).toEqual({ ...role, name: 'Editor', permissions: [read] });
    const emptied = grpcOk(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, update_mask: { paths: ['permissions'] } }));
    expect(emptied).toEqual({ ...role, name: 'Editor', permissions: [] });
    expect(grpcOk(await org.api.call('ListRoles', { project_name: project }))).toEqual({ roles: [emptied], next_page_token: '', total_items: 1 });

    expectGrpcError(await org.api.call('CreateRole', { project_name: project, name: 'Editor' }), 409);
    expectGrpcError(await org.api.call('CreateRole', { project_name: project, name: 'Ghost', permissions: ['perm_ghost'] }), 400, ['perm_ghost']);
    expectGrpcError(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, permissions: ['perm_ghost'] }), 400, ['perm_ghost']);
    expectGrpcError(await org.api.call('GetRole', { project_name: project, role_id: 'role_doesnotexist' }), 404);
    expect(grpcOk(await org.api.call('DeleteRole', { project_name: project, role_id: role.id }))).toEqual({});
    expectGrpcError(await org.api.call('DeleteRole', { project_name: project, role_id: role.id }), 404);
  });

  it('grants and checks: grant by id or name, list, check, revoke; bad input 400', async () => {
    const project = await newProject();
    const read = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'doc.read' }));
    const write = grpcOk(await org.api.call('CreatePermission', { project_name: project, name: 'doc.write' }));
    const editor = grpcOk(await org.api.call('CreateRole', { project_name: project, name: 'editor', permissions: [write.id] }));
    const grant = { project_name: project, user_id: 'alice', resource_uri: '/teams/eng' };
    expect(grpcOk(await org.api.call('Grant', { ...grant, permissions: ['doc.read'], roles: [editor.id] }))).toEqual({});
    expect(grpcOk(await org.api.call('ListGrants', { project_name: project, user_id: 'alice' }))).toEqual({
      grants: [{ user_id: 'alice', resource_uri: '/teams/eng', permissions: [read.id], roles: [editor.id] }],
      next_page_token: '',
      total_items: 1,
    });
    const check = { project_name: project, principal_id: 'alice', permissions: ['doc.read', 'doc.write', 'doc.delete'] };
    expect(grpcOk(await org.api.call('Check', { ...check, resource_uris: ['/teams/eng/projects/app1', '/teams/engineering'] }))).toEqual({
      passed: false,
      missing_permissions: [
        { resource_uri: '/teams/eng/projects/app1', missing_permissions: ['doc.delete'] },
        { resource_uri: '/teams/engineering', missing_permissions: ['doc.read', 'doc.write', 'doc.delete'] },
      ],
    });
    expect(grpcOk(await org.api.call('Check', { ...check, permissions: ['doc.read'], resource_uris: ['/teams/eng/x'] }))).toEqual({
      passed: true,
      missing_permissions: [],
    });
    expect(grpcOk(await org.api.call('Revoke', { ...grant, roles: ['editor'] }))).toEqual({});
    expect(grpcOk(await org.api.call('Check', { ...check, permissions: ['doc.write'], resource_uris: ['/teams/eng'] })).passed).toBe(false);

    expectGrpcError(await org.api.call('Grant', { ...grant, permissions: ['doc.ghost'] }), 400, ['doc.ghost']);
    expectGrpcError(await org.api.call('Grant', grant), 400);
    expectGrpcError(await org.api.call('Grant', { ...grant, resource_uri: '/a/../b', permissions: ['doc.read'] }), 400, ['resource_uri']);
    expectGrpcError(await org.api.call('Check', { ...check, resource_uris: [] }), 400, ['resource_uris']);
    expectGrpcError(await org.api.call('Check', { ...check, resource_uris: ['/x'], permissions: [] }), 400, ['permissions']);
    const tooMany = await org.api.call('Check', { ...check, resource_uris: Array.from({ length: 5001 }, (_, i) => `/r/${i}`), permissions: ['a', 'b'] });
    expectGrpcError(tooMany, 400);
    expect(tooMany.body.error.details).toEqual([{ limit: 10_000, count: 10_002 }]);
  });

  it('scopes: the operator names the organisation, other organisations 403, project keys stay in their project', async () => {
    const project = await newProject();
    expectGrpcError(await admin.call('ListPermissions', { project_name: project }), 400, ['organisation_id']);
    expect(grpcOk(await admin.call('ListPermissions', { organisation_id: org.id, project_name: project })).total_items).toBe(0);
    const other = await newOrg();
    expectGrpcError(await other.api.call('ListPermissions', { organisation_id: org.id, project_name: project }), 403);
    const proj = await projectKey(org, project);
    const p = grpcOk(await proj.call('CreatePermission', { name: 'scoped' }));
    expect(p.project_name).toBe(project);
    expectGrpcError(await proj.call('ListPermissions', { project_name: 'default' }), 403);
    expectGrpcError(await proj.call('CreateApiKey', { organisation_id: org.id, name: 'k' }), 403);
  });
});
