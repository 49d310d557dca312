// Lazy loading in the check workers: after a restart nothing is in memory; a project's permissions and roles load on
// its first use and a principal's grants on that principal's first check, while the change feed keeps whatever is
// loaded current and skips principals not loaded yet. Every step must answer as if everything were loaded.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { createOrg, ok } from '../helpers/expect-api.js';

const started: RunningServer[] = [];
let api: Client;
let perm: Record<string, string>; // name → id
let roleId: string;

const PROJECT = 'default';

async function check(principal: string, uris: string[], permissions: string[]) {
  return ok(await api.post('/v1/check', { project_name: PROJECT, principal_id: principal, resource_uris: uris, permissions }));
}

async function grant(user: string, uri: string, permissions: string[], roles: string[] = []) {
  ok(await api.post('/v1/grants', { project_name: PROJECT, user_id: user, resource_uri: uri, permissions, roles }));
}

const PASS = { passed: true, missing_permissions: [] };

beforeAll(async () => {
  const first = await startServer();
  started.push(first);
  const fixture = await createOrg(client(first.httpUrl, first.adminKey));
  let a = client(first.httpUrl, fixture.orgKey);
  perm = {};
  for (const name of ['read', 'write', 'share']) {
    perm[name] = ok(await a.post('/v1/permissions', { project_name: PROJECT, name })).id;
  }
  roleId = ok(await a.post('/v1/roles', { project_name: PROJECT, name: 'editor', permissions: [perm.read, perm.write] })).id;
  api = a;
  await grant('alice', '/docs', ['read', 'write']);
  await grant('alice', '/docs/private', ['share']);
  await grant('bob', '/teams/eng', [], ['editor']);
  for (let i = 0; i < 200; i++) await grant(`filler-${i % 20}`, `/f/${i}`, ['read']); // others' grants stay unloaded
  await grant('u1', '/a', ['share']); // 'u1' is a prefix of 'u10': their grant ranges must not mix
  await grant('u10', '/b', ['share']);

  // restart on the same data: the workers start empty
  await first.stop();
  const second = await startServer({ dataDir: first.dataDir, adminKey: first.adminKey });
  started.push(second);
  a = client(second.httpUrl, fixture.orgKey);
  api = a;
}, 60_000);

afterAll(async () => {
  for (const s of started) await s.kill();
  fs.rmSync(started[0]!.dataDir, { recursive: true, force: true });
});

describe('lazy loading after a restart', () => {
  it('answers a principal’s first check from its stored grants', async () => {
    expect(await check('alice', ['/docs/a', '/docs/private/x'], ['read', 'share'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/docs/a', missing_permissions: ['share'] }],
    });
    expect(await check('bob', ['/teams/eng/app'], ['read', 'write'])).toEqual(PASS);
  });

  it('sees a grant to a principal that was not loaded when the grant was applied', async () => {
    await grant('carol', '/x', ['read']); // carol is not loaded: the worker skips this delta
    expect(await check('carol', ['/x/y'], ['read'])).toEqual(PASS); // her first check reads it from LMDB
    await grant('carol', '/x', ['write']); // now loaded: the delta is applied
    expect(await check('carol', ['/x/y'], ['read', 'write'])).toEqual(PASS);
    // a stored principal granted again before its first check: the load must still read the stored grants
    await grant('filler-5', '/g', ['write']);
    expect(await check('filler-5', ['/f/5', '/g/1'], ['read', 'write'])).toEqual({
      passed: false,
      missing_permissions: [
        { resource_uri: '/f/5', missing_permissions: ['write'] },
        { resource_uri: '/g/1', missing_permissions: ['read'] },
      ],
    });
    expect(await check('filler-5', ['/f/5', '/f/25'], ['read'])).toEqual(PASS);
  });

  it('reads again a principal checked before holding anything', async () => {
    expect((await check('dave', ['/d'], ['read'])).passed).toBe(false);
    await grant('dave', '/', ['read']);
    expect(await check('dave', ['/d'], ['read'])).toEqual(PASS);
  });

  it('applies revokes, role edits and permission deletes to loaded principals', async () => {
    ok(await api.del('/v1/grants', { project_name: PROJECT, user_id: 'alice', resource_uri: '/docs', permissions: ['write'] }));
    expect(await check('alice', ['/docs/a'], ['read', 'write'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/docs/a', missing_permissions: ['write'] }],
    });
    ok(await api.patch(`/v1/roles/${roleId}`, { project_name: PROJECT, permissions: [perm.share] }));
    expect(await check('bob', ['/teams/eng/app'], ['read', 'share'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/teams/eng/app', missing_permissions: ['read'] }],
    });
    ok(await api.del(`/v1/permissions/${perm.read}?project_name=${PROJECT}`));
    expect(await check('carol', ['/x'], ['read', 'write'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/x', missing_permissions: ['read'] }],
    });
  });

  it('loads exactly one principal’s grants, not those of ids it prefixes', async () => {
    expect(await check('u1', ['/a/x', '/b/x'], ['share'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/b/x', missing_permissions: ['share'] }],
    });
    expect(await check('u10', ['/a/x', '/b/x'], ['share'])).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/a/x', missing_permissions: ['share'] }],
    });
  });

  it('loads a principal untouched until now with every edit above already applied', async () => {
    expect(await check('filler-3', ['/f/3', '/f/23', '/f/4'], ['share'])).toEqual({
      passed: false,
      missing_permissions: ['/f/3', '/f/23', '/f/4'].map((u) => ({ resource_uri: u, missing_permissions: ['share'] })),
    });
    await grant('filler-3', '/f', ['share']);
    expect(await check('filler-3', ['/f/3', '/f/4'], ['share'])).toEqual(PASS);
  });
});
