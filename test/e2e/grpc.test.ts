// What only gRPC has, against the real server: health, authentication by metadata, requests a REST body cannot
// spell (UpdateRole's update_mask). Every API case also runs over gRPC: test/e2e/{permissions,grants-check,organisations}.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoRoutes } from '../../src/api/grpc/proto.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { grpcClient, type GrpcClient } from '../helpers/grpc-client.js';
import { expectError, ok } from '../helpers/expect-api.js';

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
  const { organisation } = ok(await admin.call('CreateOrganisation', { name: `gRPC Org ${++orgSeq}`, user_id: owner }));
  const { api_key } = ok(await admin.call('CreateApiKey', { organisation_id: organisation.id, name: 'org key' }));
  return { id: organisation.id, org: organisation, api: as(api_key.key), keyId: api_key.id };
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
    const { api_key } = ok(await admin.call('CreateApiKey', { organisation_id: org.id, name: 'doomed' }));
    ok(await admin.call('InvalidateApiKey', { organisation_id: org.id, apikey_id: api_key.id }));
    const anon = as();
    for (const { rpc } of protoRoutes()) {
      expectError(await anon.call(rpc, {}), 401);
      expectError(await anon.call(rpc, {}, { authorization: `Basic ${server.adminKey}` }), 401);
      expectError(await anon.call(rpc, {}, { authorization: `Bearer ${server.adminKey} extra` }), 401);
      expectError(await anon.call(rpc, {}, { key: 'perms_api_unknown' }), 401);
      expectError(await anon.call(rpc, {}, { key: api_key.key }), 401);
    }
  });
});

describe('gRPC-native requests', () => {
  let org: Org;
  let projectSeq = 0;

  beforeAll(async () => {
    org = await newOrg();
  });

  async function newProject(): Promise<string> {
    const name = `g${++projectSeq}`;
    ok(await org.api.call('CreateProject', { organisation_id: org.id, name }));
    return name;
  }

  it('UpdateRole over gRPC: an empty permissions list keeps the set, replaces it when given, clears it with update_mask', async () => {
    const project = await newProject();
    const read = ok(await org.api.call('CreatePermission', { project_name: project, name: 'doc.read' }));
    const write = ok(await org.api.call('CreatePermission', { project_name: project, name: 'doc.write' }));
    const role = ok(await org.api.call('CreateRole', { project_name: project, name: 'Document Editor', description: 'Edits', permissions: [write.id, read.id] }));
    expect(role).toEqual({
      id: expect.stringMatching(/^role_/),
      organisation_id: org.id,
      name: 'Document Editor',
      description: 'Edits',
      permissions: [write, read],
      project_name: project,
    });
    expect(ok(await org.api.call('GetRole', { project_name: project, role_id: role.id }))).toEqual(role);
    const renamed = ok(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, name: 'Editor', permissions: [] }));
    expect(renamed).toEqual({ ...role, name: 'Editor' });
    const replaced = ok(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, permissions: [read.id] }));
    expect(replaced).toEqual({ ...role, name: 'Editor', permissions: [read] });
    const emptied = ok(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, update_mask: { paths: ['permissions'] } }));
    expect(emptied).toEqual({ ...role, name: 'Editor', permissions: [] });
    expect(ok(await org.api.call('ListRoles', { project_name: project }))).toEqual({ roles: [emptied], next_page_token: '', total_items: 1 });

    expectError(await org.api.call('CreateRole', { project_name: project, name: 'Editor' }), 409);
    expectError(await org.api.call('CreateRole', { project_name: project, name: 'Ghost', permissions: ['perm_ghost'] }), 400, ['perm_ghost']);
    expectError(await org.api.call('UpdateRole', { project_name: project, role_id: role.id, permissions: ['perm_ghost'] }), 400, ['perm_ghost']);
    expectError(await org.api.call('GetRole', { project_name: project, role_id: 'role_doesnotexist' }), 404);
    expect(ok(await org.api.call('DeleteRole', { project_name: project, role_id: role.id }))).toEqual({});
    expectError(await org.api.call('DeleteRole', { project_name: project, role_id: role.id }), 404);
  });
});
