// Revisions and consistency tokens (SPEC §7) on a real server over both transports: every write answers its revision,
// increasing; Check and ListGrants answer the revision they reflect and accept a token to reflect at least; malformed
// and never-issued tokens get the error shape. Then the change log against the acknowledged writes, across kill -9.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevisionTokens } from '../../src/service/revision-token.js';
import { ChangeLog } from '../../src/store/change-log.js';
import { openStore } from '../../src/store/env.js';
import { StoreReader } from '../../src/store/read.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client } from '../helpers/http.js';
import { grpcClient, type GrpcClient } from '../helpers/grpc-client.js';
import { rpcCaller, type RpcAnswer, type TransportName } from '../helpers/rpc.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** This server's tokens lead with the revision in base36 (tests may look; clients must not). */
const revisionOf = (token: string | null) => parseInt(String(token).split('_')[0]!, 36);

let server: RunningServer;
const grpcClients: GrpcClient[] = [];

function caller(transport: TransportName, key: string) {
  const g = grpcClient(server.grpcAddress, key);
  grpcClients.push(g);
  return rpcCaller(transport, client(server.httpUrl, key), g);
}

/** Asserts a 200 with a well-formed revision token; returns the answer. */
function written(a: RpcAnswer, what: string): RpcAnswer {
  expect(a.status, `${what}: ${JSON.stringify(a.body)}`).toBe(200);
  expect(a.revision, what).toMatch(TOKEN);
  return a;
}

/** Asserts the §5 error shape with `status`, naming `field`, and no revision. */
function refused(a: RpcAnswer, status: number, field: string): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(Object.keys(a.body)).toEqual(['error']);
  expect(a.body.error.code).toBe(status);
  expect(a.body.error.message).toContain(field);
  expect(a.body.error.details).toEqual([expect.objectContaining({ field })]);
  expect(a.revision).toBeNull();
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of grpcClients) c.close();
  await server?.kill();
  server?.cleanup();
});

describe.each(['rest', 'grpc'] as const)('revisions over %s', (transport) => {
  let admin: ReturnType<typeof caller>;
  let api: ReturnType<typeof caller>;
  let orgId: string;
  let last = 0;
  /** Runs a write, asserts its token is well-formed and later than every token before it. */
  const write = async (call: ReturnType<typeof caller>, rpc: string, input: Record<string, unknown>) => {
    const a = written(await call(rpc, input), rpc);
    expect(revisionOf(a.revision), rpc).toBeGreaterThan(last);
    last = revisionOf(a.revision);
    return a.body;
  };
  const scope = () => ({ organisation_id: orgId, project_name: 'default' });

  beforeAll(async () => {
    admin = caller(transport, server.adminKey);
    orgId = (await write(admin, 'CreateOrganisation', { name: `rev ${transport}`, user_id: 'owner' })).organisation.id;
    const key = (await write(admin, 'CreateApiKey', { organisation_id: orgId, name: 'org key' })).api_key.key;
    api = caller(transport, key);
  });

  it('every write route answers Permio-Revision, each later than the one before', async () => {
    await write(admin, 'UpdateOrganisation', { organisation_id: orgId, name: 'renamed' });
    await write(api, 'AddUser', { organisation_id: orgId, user_id: 'bob', email: 'bob@acme.test' });
    await write(api, 'RemoveUser', { organisation_id: orgId, user_id: 'bob' });
    const { invitation } = await write(api, 'CreateInvitation', { organisation_id: orgId, email: 'dana@acme.test' });
    await write(api, 'AcceptInvitation', { token: invitation.token, user_id: 'dana' });
    await write(api, 'CreateProject', { organisation_id: orgId, name: 'scratch' });
    const projectKey = (await write(api, 'CreateApiKey', { organisation_id: orgId, name: 'pk', project_name: 'scratch' })).api_key;
    await write(api, 'InvalidateApiKey', { organisation_id: orgId, apikey_id: projectKey.id });
    await write(api, 'DeleteProject', { organisation_id: orgId, project_name: 'scratch' });
    const perm = await write(api, 'CreatePermission', { ...scope(), name: 'doc.read' });
    await write(api, 'UpdatePermission', { ...scope(), permission_id: perm.id, description: 'read documents' });
    const role = await write(api, 'CreateRole', { ...scope(), name: 'reader', permissions: [perm.id] });
    await write(api, 'UpdateRole', { ...scope(), role_id: role.id, description: 'reads' });
    await write(api, 'Grant', { ...scope(), user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] });
    await write(api, 'Grant', { ...scope(), user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] }); // held: a revision all the same
    await write(api, 'Revoke', { ...scope(), user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] });
    await write(api, 'Revoke', { ...scope(), user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] }); // not held: the same
    await write(api, 'DeleteRole', { ...scope(), role_id: role.id });
    await write(api, 'DeletePermission', { ...scope(), permission_id: perm.id });
    // a refused write changes nothing and carries no revision
    const dup = await api('CreateProject', { organisation_id: orgId, name: 'default' });
    expect(dup.status).toBe(409);
    expect(dup.revision).toBeNull();
  });

  it('Check and ListGrants answer the revision they reflect, never older than the one asked for', async () => {
    await write(api, 'CreatePermission', { ...scope(), name: 'doc.edit' });
    const grant = written(await api('Grant', { ...scope(), user_id: 'carol', resource_uri: '/a', permissions: ['doc.edit'] }), 'Grant');
    const check = { ...scope(), principal_id: 'carol', resource_uris: ['/a/b'], permissions: ['doc.edit'] };
    for (const consistency of [undefined, { at_least_revision: grant.revision }, { fully_consistent: true }]) {
      const a = written(await api('Check', { ...check, ...(consistency ? { consistency } : {}) }), 'Check');
      expect(a.body).toEqual({ passed: true, missing_permissions: [] });
      expect(revisionOf(a.revision)).toBeGreaterThanOrEqual(revisionOf(grant.revision));
      const again = written(await api('Check', { ...check, ...(consistency ? { consistency } : {}) }), 'Check (cached)');
      expect(revisionOf(again.revision)).toBeGreaterThanOrEqual(revisionOf(a.revision));
    }
    const list = written(await api('ListGrants', { ...scope(), user_id: 'carol', at_least_revision: grant.revision }), 'ListGrants');
    expect(list.body.grants).toHaveLength(1);
    expect(revisionOf(list.revision)).toBeGreaterThanOrEqual(revisionOf(grant.revision));
    // a later write that changes carol's answer: a check after it reflects it, cached or not
    const revoke = written(await api('Revoke', { ...scope(), user_id: 'carol', resource_uri: '/a', permissions: ['doc.edit'] }), 'Revoke');
    const after = written(await api('Check', { ...check, consistency: { at_least_revision: revoke.revision } }), 'Check');
    expect(after.body.passed).toBe(false);
    expect(revisionOf(after.revision)).toBeGreaterThanOrEqual(revisionOf(revoke.revision));
  });

  it('a malformed token → 400', async () => {
    const check = { ...scope(), principal_id: 'carol', resource_uris: ['/a'], permissions: ['doc.edit'] };
    for (const token of ['has space', 'dots.are.out', 'x'.repeat(65), 'é_12345678', '_']) {
      refused(await api('Check', { ...check, consistency: { at_least_revision: token } }), 400, 'consistency.at_least_revision');
      refused(await api('ListGrants', { ...scope(), user_id: 'carol', at_least_revision: token }), 400, 'at_least_revision');
    }
  });

  it('a well-formed token this server never issued → 400: a made-up one, a wrong tag, one ahead of every write', async () => {
    const grant = written(await api('Grant', { ...scope(), user_id: 'dave', resource_uri: '/d', permissions: ['doc.edit'] }), 'Grant');
    const real = grant.revision!;
    const wrongTag = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
    const store = openStore(server.dataDir, { readOnly: true }); // the test reads the store id as only a server could
    const ahead = new RevisionTokens(new StoreReader(store).storeId()).encode(revisionOf(real) + 1_000_000);
    await store.close();
    const foreign = new RevisionTokens('another store').encode(revisionOf(real));
    const check = { ...scope(), principal_id: 'dave', resource_uris: ['/d'], permissions: ['doc.edit'] };
    for (const token of ['abc', '1_abcdefgh', wrongTag, ahead, foreign, '0' + real]) {
      refused(await api('Check', { ...check, consistency: { at_least_revision: token } }), 400, 'consistency.at_least_revision');
      refused(await api('ListGrants', { ...scope(), user_id: 'dave', at_least_revision: token }), 400, 'at_least_revision');
    }
    expect(written(await api('Check', { ...check, consistency: { at_least_revision: real } }), 'Check').body.passed).toBe(true);
  });

  it('consistency must be one requirement', async () => {
    const check = { ...scope(), principal_id: 'dave', resource_uris: ['/d'], permissions: ['doc.edit'] };
    const token = written(await api('Check', check), 'Check').revision;
    refused(await api('Check', { ...check, consistency: { at_least_revision: token, fully_consistent: true } }), 400, 'consistency');
    if (transport === 'rest') {
      refused(await api('Check', { ...check, consistency: 'latest' }), 400, 'consistency');
      refused(await api('Check', { ...check, consistency: { at_least_revision: 7 } }), 400, 'consistency.at_least_revision');
      refused(await api('Check', { ...check, consistency: { fully_consistent: 'yes' } }), 400, 'consistency.fully_consistent');
    }
    // no requirement: an empty object, an empty token (proto3: the empty string is "not set"), fully_consistent false
    for (const consistency of [{}, { at_least_revision: '' }, { fully_consistent: false }]) {
      expect(written(await api('Check', { ...check, consistency }), 'Check').body.passed).toBe(true);
    }
    expect(written(await api('ListGrants', { ...scope(), user_id: 'dave', at_least_revision: '' }), 'ListGrants').body.grants).toHaveLength(1);
  });
});

describe('/openapi.json', () => {
  it('documents consistency on Check, at_least_revision on ListGrants and the Permio-Revision header', async () => {
    const doc = await (await fetch(`${server.httpUrl}/openapi.json`)).json();
    expect(doc.paths['/v1/check'].post.requestBody.content['application/json'].schema.properties.consistency.allOf).toEqual([
      { $ref: '#/components/schemas/Consistency' },
    ]);
    expect(Object.keys(doc.components.schemas.Consistency.properties)).toEqual(['at_least_revision', 'fully_consistent']);
    expect(doc.paths['/v1/grants'].get.parameters.map((p: { name: string }) => p.name)).toContain('at_least_revision');
    for (const [path, method] of [['/v1/check', 'post'], ['/v1/grants', 'get'], ['/v1/grants', 'post'], ['/v1/grants', 'delete'], ['/v1/organisations', 'post']]) {
      expect(doc.paths[path!][method!].responses['200'].headers['Permio-Revision'], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/v1/permissions'].get.responses['200'].headers['Permio-Revision']).toBeUndefined();
  });
});

describe('the change log holds exactly the acknowledged writes, across kill -9', () => {
  it('each write with an effect is one entry at its revision, cascades one event; no-ops and refusals none', async () => {
    const s = await startServer();
    try {
      const api = rpcCaller('rest', client(s.httpUrl, s.adminKey));
      const orgId = (await api('CreateOrganisation', { name: 'log', user_id: 'u' })).body.organisation.id;
      const scope = { organisation_id: orgId, project_name: 'default' };
      /** [revision, event types] of every acknowledged write that changed the project. */
      const expected: [number, string[]][] = [];
      const run = async (rpc: string, input: Record<string, unknown>, types: string[]) => {
        const a = written(await api(rpc, input), rpc);
        if (types.length > 0) expected.push([revisionOf(a.revision), types]);
        return a.body;
      };
      const perm = await run('CreatePermission', { ...scope, name: 'read' }, ['PERMISSION_CREATED']);
      const role = await run('CreateRole', { ...scope, name: 'r', permissions: [perm.id] }, ['ROLE_CREATED']);
      await run('Grant', { ...scope, user_id: 'a', resource_uri: '/x/', permissions: ['read'], roles: [role.id] }, ['GRANT']);
      await run('Grant', { ...scope, user_id: 'a', resource_uri: '/x', permissions: ['read'] }, []);
      await run('UpdatePermission', { ...scope, permission_id: perm.id, name: 'read' }, []); // the same name: nothing changed
      await run('UpdatePermission', { ...scope, permission_id: perm.id, name: 'view' }, ['PERMISSION_UPDATED']);
      await run('Revoke', { ...scope, user_id: 'nobody', resource_uri: '/x', permissions: ['view'] }, []);
      expect((await api('CreatePermission', { ...scope, name: 'view' })).status).toBe(409);
      await run('CreateApiKey', { organisation_id: orgId, name: 'k' }, []);
      await run('DeletePermission', { ...scope, permission_id: perm.id }, ['PERMISSION_DELETED']);
      await run('DeleteRole', { ...scope, role_id: role.id }, ['ROLE_DELETED']);
      const projectId = () => {
        const store = openStore(s.dataDir, { readOnly: true });
        const id = new StoreReader(store).project(orgId, 'default')!.id;
        void store.close();
        return id;
      };
      const pid = projectId();
      await run('DeleteProject', { organisation_id: orgId, project_name: 'default' }, ['PROJECT_DELETED']);
      const grant = await api('Grant', { ...scope, user_id: 'a', resource_uri: '/x', permissions: [] });
      expect(grant.status).toBe(400);
      await s.kill(); // kill -9 right after the last 200

      const read = async () => {
        const store = openStore(s.dataDir, { readOnly: true });
        const log = new ChangeLog(store);
        const entries = log.projectChanges(pid, 0, 1000).map((c) => [c.revision, c.events.map((e) => e.type)] as [number, string[]]);
        const first = log.projectChanges(pid, 0, 1)[0]!;
        await store.close();
        return { entries, first };
      };
      const before = await read();
      expect(before.entries).toEqual(expected);
      expect(before.first.events[0]).toMatchObject({ type: 'PERMISSION_CREATED', permission: { id: perm.id, name: 'read', organisation_id: orgId } });

      const again = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
      try {
        const after = rpcCaller('rest', client(again.httpUrl, again.adminKey));
        const more = written(await after('CreateOrganisation', { name: 'after restart', user_id: 'u' }), 'CreateOrganisation');
        expect(revisionOf(more.revision)).toBeGreaterThan(expected[expected.length - 1]![0]);
        await again.stop();
      } finally {
        await again.kill();
      }
      expect((await read()).entries).toEqual(expected);
    } finally {
      await s.kill();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
