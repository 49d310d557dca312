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
import { client, type HttpResult } from '../helpers/http.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { expectError, show } from '../helpers/expect-api.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** This server's tokens lead with the revision in base36 (tests may look; clients must not). */
const revisionOf = (token: string | null) => parseInt(String(token).split('_')[0]!, 36);
const tokenOf = (res: HttpResult) => res.headers.get('permio-revision');

let server: RunningServer;

/** Asserts a 200 with a well-formed revision token; returns the answer. */
function written<T extends HttpResult>(res: T): T {
  expect(res.status, show(res)).toBe(200);
  expect(tokenOf(res), show(res)).toMatch(TOKEN);
  return res;
}

/** Asserts the §5 error shape (both transports) with `status`, naming `field`, and no revision. */
function refused(res: HttpResult, status: number, field: string): void {
  expectError(res, status, [field]);
  expect(res.body.error.details, show(res)).toEqual([expect.objectContaining({ field })]);
  expect(tokenOf(res)).toBeNull();
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  closeApiClients();
  await server?.kill();
  server?.cleanup();
});

describe.each(TRANSPORTS)('revisions over %s', (transport) => {
  let admin: ApiClient;
  let api: ApiClient;
  let orgId: string;
  let last = 0;
  /** Asserts a write's token is well-formed and later than every token before it; returns the body. */
  const write = async (res: Promise<HttpResult>) => {
    const r = written(await res);
    expect(revisionOf(tokenOf(r)), show(r)).toBeGreaterThan(last);
    last = revisionOf(tokenOf(r));
    return r.body;
  };
  const P = { project_name: 'default' };
  const ORG = () => `/v1/organisations/${orgId}`;

  beforeAll(async () => {
    admin = apiClient(server, transport, server.adminKey);
    orgId = (await write(admin.post('/v1/organisations', { name: `rev ${transport}`, user_id: 'owner' }))).organisation.id;
    const key = (await write(admin.post(`${ORG()}/apikeys`, { name: 'org key' }))).api_key.key;
    api = apiClient(server, transport, key);
  });

  it('every write route answers Permio-Revision, each later than the one before', async () => {
    await write(admin.patch(ORG(), { name: 'renamed' }));
    await write(api.post(`${ORG()}/users`, { user_id: 'bob', email: 'bob@acme.test' }));
    await write(api.del(`${ORG()}/users/bob`));
    const { invitation } = await write(api.post(`${ORG()}/invitations`, { email: 'dana@acme.test' }));
    await write(api.post(`/v1/invitations/${encodeURIComponent(invitation.token)}:accept`, { user_id: 'dana' }));
    await write(api.post(`${ORG()}/projects`, { name: 'scratch' }));
    const projectKey = (await write(api.post(`${ORG()}/apikeys`, { name: 'pk', project_name: 'scratch' }))).api_key;
    await write(api.del(`${ORG()}/apikeys/${projectKey.id}`));
    await write(api.del(`${ORG()}/projects/scratch`));
    const perm = await write(api.post('/v1/permissions', { ...P, name: 'doc.read' }));
    await write(api.patch(`/v1/permissions/${perm.id}`, { ...P, description: 'read documents' }));
    const role = await write(api.post('/v1/roles', { ...P, name: 'reader', permissions: [perm.id] }));
    await write(api.patch(`/v1/roles/${role.id}`, { ...P, description: 'reads' }));
    const grant = { ...P, user_id: 'alice', resource_uri: '/docs', permissions: ['doc.read'] };
    await write(api.post('/v1/grants', grant));
    await write(api.post('/v1/grants', grant)); // held: a revision all the same
    await write(api.del('/v1/grants', grant));
    await write(api.del('/v1/grants', grant)); // not held: the same
    await write(api.del(`/v1/roles/${role.id}?project_name=default`));
    await write(api.del(`/v1/permissions/${perm.id}?project_name=default`));
    // a refused write changes nothing and carries no revision
    const dup = await api.post(`${ORG()}/projects`, { name: 'default' });
    expectError(dup, 409);
    expect(tokenOf(dup)).toBeNull();
  });

  it('Check and ListGrants answer the revision they reflect, never older than the one asked for', async () => {
    await write(api.post('/v1/permissions', { ...P, name: 'doc.edit' }));
    const grant = written(await api.post('/v1/grants', { ...P, user_id: 'carol', resource_uri: '/a', permissions: ['doc.edit'] }));
    const check = { ...P, principal_id: 'carol', resource_uris: ['/a/b'], permissions: ['doc.edit'] };
    for (const consistency of [undefined, { at_least_revision: tokenOf(grant) }, { fully_consistent: true }]) {
      const body = consistency ? { ...check, consistency } : check;
      const a = written(await api.post('/v1/check', body));
      expect(a.body).toEqual({ passed: true, missing_permissions: [] });
      expect(revisionOf(tokenOf(a))).toBeGreaterThanOrEqual(revisionOf(tokenOf(grant)));
      const again = written(await api.post('/v1/check', body)); // answered from the cache
      expect(revisionOf(tokenOf(again))).toBeGreaterThanOrEqual(revisionOf(tokenOf(a)));
    }
    const list = written(await api.get(`/v1/grants?project_name=default&user_id=carol&at_least_revision=${tokenOf(grant)}`));
    expect(list.body.grants).toHaveLength(1);
    expect(revisionOf(tokenOf(list))).toBeGreaterThanOrEqual(revisionOf(tokenOf(grant)));
    // a later write that changes carol's answer: a check at its token reflects it
    const revoke = written(await api.del('/v1/grants', { ...P, user_id: 'carol', resource_uri: '/a', permissions: ['doc.edit'] }));
    const after = written(await api.post('/v1/check', { ...check, consistency: { at_least_revision: tokenOf(revoke) } }));
    expect(after.body.passed).toBe(false);
    expect(revisionOf(tokenOf(after))).toBeGreaterThanOrEqual(revisionOf(tokenOf(revoke)));
  });

  it('a malformed token → 400', async () => {
    const check = { ...P, principal_id: 'carol', resource_uris: ['/a'], permissions: ['doc.edit'] };
    for (const token of ['has space', 'dots.are.out', 'x'.repeat(65), 'é_12345678', '%2F']) {
      refused(await api.post('/v1/check', { ...check, consistency: { at_least_revision: token } }), 400, 'consistency.at_least_revision');
      refused(await api.get(`/v1/grants?project_name=default&user_id=carol&at_least_revision=${encodeURIComponent(token)}`), 400, 'at_least_revision');
    }
  });

  it('a well-formed token this server never issued → 400: a made-up one, a wrong tag, one ahead of every write', async () => {
    const real = tokenOf(written(await api.post('/v1/grants', { ...P, user_id: 'dave', resource_uri: '/d', permissions: ['doc.edit'] })))!;
    const wrongTag = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
    const store = openStore(server.dataDir, { readOnly: true }); // the test reads the store id as only a server could
    const ahead = new RevisionTokens(new StoreReader(store).storeId()).encode(revisionOf(real) + 1_000_000);
    await store.close();
    const foreign = new RevisionTokens('another store').encode(revisionOf(real));
    const check = { ...P, principal_id: 'dave', resource_uris: ['/d'], permissions: ['doc.edit'] };
    for (const token of ['abc', '1_abcdefgh', wrongTag, ahead, foreign, '0' + real]) {
      refused(await api.post('/v1/check', { ...check, consistency: { at_least_revision: token } }), 400, 'consistency.at_least_revision');
      refused(await api.get(`/v1/grants?project_name=default&user_id=dave&at_least_revision=${token}`), 400, 'at_least_revision');
    }
    expect(written(await api.post('/v1/check', { ...check, consistency: { at_least_revision: real } })).body.passed).toBe(true);
  });

  it('consistency is one requirement, or none', async () => {
    const check = { ...P, principal_id: 'dave', resource_uris: ['/d'], permissions: ['doc.edit'] };
    const token = tokenOf(written(await api.post('/v1/check', check)));
    refused(await api.post('/v1/check', { ...check, consistency: { at_least_revision: token, fully_consistent: true } }), 400, 'consistency');
    // wrong JSON types (gRPC cannot carry them: not sent there)
    for (const [consistency, field] of [
      ['latest', 'consistency'],
      [{ at_least_revision: 7 }, 'consistency.at_least_revision'],
      [{ fully_consistent: 'yes' }, 'consistency.fully_consistent'],
    ] as const) {
      const res = await api.post('/v1/check', { ...check, consistency });
      if (transport === 'rest') refused(res, 400, field);
    }
    // no requirement: an empty object, an empty token (proto3: the empty string is "not set"), fully_consistent false
    for (const consistency of [{}, { at_least_revision: '' }, { fully_consistent: false }]) {
      expect(written(await api.post('/v1/check', { ...check, consistency })).body.passed).toBe(true);
    }
    expect(written(await api.get('/v1/grants?project_name=default&user_id=dave&at_least_revision=')).body.grants).toHaveLength(1);
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
      const admin = client(s.httpUrl, s.adminKey);
      const orgId = (await admin.post('/v1/organisations', { name: 'log', user_id: 'u' })).body.organisation.id;
      const scope = { organisation_id: orgId, project_name: 'default' };
      const q = `?organisation_id=${orgId}&project_name=default`;
      /** [revision, event types] of every acknowledged write that changed the project. */
      const expected: [number, string[]][] = [];
      const run = async (res: Promise<HttpResult>, types: string[]) => {
        const r = written(await res);
        if (types.length > 0) expected.push([revisionOf(tokenOf(r)), types]);
        return r.body;
      };
      const perm = await run(admin.post('/v1/permissions', { ...scope, name: 'read' }), ['PERMISSION_CREATED']);
      const role = await run(admin.post('/v1/roles', { ...scope, name: 'r', permissions: [perm.id] }), ['ROLE_CREATED']);
      await run(admin.post('/v1/grants', { ...scope, user_id: 'a', resource_uri: '/x/', permissions: ['read'], roles: [role.id] }), ['GRANT']);
      await run(admin.post('/v1/grants', { ...scope, user_id: 'a', resource_uri: '/x', permissions: ['read'] }), []);
      await run(admin.patch(`/v1/permissions/${perm.id}`, { ...scope, name: 'read' }), []); // the same name: nothing changed
      await run(admin.patch(`/v1/permissions/${perm.id}`, { ...scope, name: 'view' }), ['PERMISSION_UPDATED']);
      await run(admin.del('/v1/grants', { ...scope, user_id: 'nobody', resource_uri: '/x', permissions: ['view'] }), []);
      expectError(await admin.post('/v1/permissions', { ...scope, name: 'view' }), 409);
      await run(admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'k' }), []);
      await run(admin.del(`/v1/permissions/${perm.id}${q}`), ['PERMISSION_DELETED']);
      await run(admin.del(`/v1/roles/${role.id}${q}`), ['ROLE_DELETED']);
      const projectId = () => {
        const store = openStore(s.dataDir, { readOnly: true });
        const id = new StoreReader(store).project(orgId, 'default')!.id;
        void store.close();
        return id;
      };
      const pid = projectId();
      await run(admin.del(`/v1/organisations/${orgId}/projects/default`), ['PROJECT_DELETED']);
      expectError(await admin.post('/v1/grants', { ...scope, user_id: 'a', resource_uri: '/x', permissions: [] }), 400);
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
        const more = written(await client(again.httpUrl, again.adminKey).post('/v1/organisations', { name: 'after restart', user_id: 'u' }));
        expect(revisionOf(tokenOf(more))).toBeGreaterThan(expected[expected.length - 1]![0]);
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
