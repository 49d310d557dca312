// SPEC §8 over both transports: ExplainCheck, LookupResources, LookupSubjects and time-bounded grants (windows judged
// at evaluation time with the test clock, ListGrants windows, the expiry sweep and GRANT_EXPIRED), and their bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { createOrg, expectError, ok, show } from '../helpers/expect-api.js';
import { openWatch } from '../helpers/watch.js';

const HOUR = 3_600_000;
let server: RunningServer;
let t0: number; // the server's clock starts between t0 and t0 + its startup time, then moves only when told
let advanced = 0;
let orgKey: string;
let ids: Record<string, string> = {};

const iso = (ms: number) => new Date(ms).toISOString();
/** A time `h` hours after the server's start (give bounds whole hours apart: its start is known to seconds). */
const at = (h: number) => iso(t0 + h * HOUR);

async function advanceTo(h: number): Promise<void> {
  const target = Math.round(h * HOUR);
  if (target <= advanced) return;
  ok(await apiClient(server, 'rest', server.adminKey).post(`/debug/clock?advance_ms=${target - advanced}`));
  advanced = target;
}

beforeAll(async () => {
  t0 = Date.now();
  server = await startServer({ env: { PERMIO_TEST_CLOCK: '1' } });
  const admin = apiClient(server, 'rest', server.adminKey);
  orgKey = (await createOrg(admin, 'Lookup Org')).orgKey;
  const api = apiClient(server, 'rest', orgKey);
  for (const name of ['doc.read', 'doc.write', 'doc.admin']) ids[name] = ok(await api.post('/v1/permissions', { project_name: 'default', name })).id;
  // role names sort differently from their ids: explanations order roles by name
  ids.zeta = ok(await api.post('/v1/roles', { project_name: 'default', name: 'Zeta', permissions: [ids['doc.read']] })).id;
  ids.alpha = ok(await api.post('/v1/roles', { project_name: 'default', name: 'Alpha', permissions: [ids['doc.read'], ids['doc.write']] })).id;
});

afterAll(async () => {
  closeApiClients();
  await server?.stop();
  server?.cleanup();
});

describe.each(TRANSPORTS)('over %s', (transport) => {
  let api: ApiClient;
  const p = (name: string) => `${transport}-${name}`; // principals of this transport's cases
  const grant = async (user: string, uri: string, body: object) =>
    ok(await api.post('/v1/grants', { project_name: 'default', user_id: user, resource_uri: uri, ...body }));
  const check = async (user: string, uris: string[], permissions: string[]) =>
    ok(await api.post('/v1/check', { project_name: 'default', principal_id: user, resource_uris: uris, permissions }));
  const explain = async (user: string, uris: string[], permissions: string[]) =>
    ok(await api.post('/v1/explain', { project_name: 'default', principal_id: user, resource_uris: uris, permissions }));
  const resources = async (user: string, permission: string, extra: object = {}) =>
    ok(await api.post('/v1/lookup/resources', { project_name: 'default', principal_id: user, permission, ...extra }));
  const subjects = async (uri: string, permission: string, extra: object = {}) =>
    ok(await api.post('/v1/lookup/subjects', { project_name: 'default', resource_uri: uri, permission, ...extra }));

  beforeAll(() => {
    api = apiClient(server, transport, orgKey);
  });

  describe('ExplainCheck', () => {
    it('lists every supplying entry: nearest granted URI first, direct before roles, roles by name; denied pairs have no sources', async () => {
      const u = p('explained');
      await grant(u, '/docs', { roles: [ids.zeta!, ids.alpha!] });
      await grant(u, '/docs/a', { permissions: ['doc.read'] });
      await grant(u, '/', { roles: ['Zeta'] });
      const body = await explain(u, ['/docs/a/b/', '/other', '/docs/a/b'], ['doc.read', 'doc.admin', 'doc.read', 'nope']);
      expect(body).toEqual({
        passed: false,
        missing_permissions: [
          { resource_uri: '/docs/a/b/', missing_permissions: ['doc.admin', 'nope'] },
          { resource_uri: '/other', missing_permissions: ['doc.admin', 'nope'] },
        ],
        explanations: [
          {
            resource_uri: '/docs/a/b/',
            permission: 'doc.read',
            allowed: true,
            sources: [
              { resource_uri: '/docs/a', role: null },
              { resource_uri: '/docs', role: { id: ids.alpha, name: 'Alpha' } },
              { resource_uri: '/docs', role: { id: ids.zeta, name: 'Zeta' } },
              { resource_uri: '/', role: { id: ids.zeta, name: 'Zeta' } },
            ],
          },
          { resource_uri: '/docs/a/b/', permission: 'doc.admin', allowed: false, sources: [] },
          { resource_uri: '/docs/a/b/', permission: 'nope', allowed: false, sources: [] },
          { resource_uri: '/other', permission: 'doc.read', allowed: true, sources: [{ resource_uri: '/', role: { id: ids.zeta, name: 'Zeta' } }] },
          { resource_uri: '/other', permission: 'doc.admin', allowed: false, sources: [] },
          { resource_uri: '/other', permission: 'nope', allowed: false, sources: [] },
        ],
      });
      // the Check part is Check's answer
      const { explanations: _, ...verdict } = body;
      expect(verdict).toEqual(await check(u, ['/docs/a/b/', '/other', '/docs/a/b'], ['doc.read', 'doc.admin', 'doc.read', 'nope']));
      ok(await api.del('/v1/grants', { project_name: 'default', user_id: u, resource_uri: '/', roles: ['Zeta'] })); // the root reaches every later case
    });

    it('more than 1,000 pairs → 400 naming the limit; exactly 1,000 is answered', async () => {
      const uris = Array.from({ length: 501 }, (_, i) => `/r/${i}`);
      const res = await api.post('/v1/explain', { project_name: 'default', principal_id: 'x', resource_uris: uris, permissions: ['a', 'b'] });
      expectError(res, 400, ['1000', '1002']);
      const fine = await api.post('/v1/explain', { project_name: 'default', principal_id: 'x', resource_uris: uris.slice(0, 500), permissions: ['a', 'b'] });
      expect(ok(fine).explanations).toHaveLength(1000);
      expect(fine.headers.get('permio-revision')).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    });
  });

  describe('LookupResources', () => {
    it('maximal subtrees in byte order, through roles; a passing prefix answers itself; unknown names answer []', async () => {
      const u = p('reach');
      await grant(u, '/a', { permissions: ['doc.write'] });
      await grant(u, '/a/b', { roles: ['Zeta'] });
      await grant(u, '/a/b/c', { permissions: ['doc.read'] }); // under /a/b: not maximal
      await grant(u, '/a-c', { roles: ['Alpha'] });
      await grant(u, '/a0/x', { permissions: ['doc.read'] });
      await grant(u, '/\u{1F600}', { permissions: ['doc.read'] });
      await grant(u, '/\uffff', { permissions: ['doc.read'] });
      await grant(u, '/ab', { permissions: ['doc.write'] });
      const all = await resources(u, 'doc.read');
      expect(all).toEqual({ resource_uris: ['/a-c', '/a/b', '/a0/x', '/\uffff', '/\u{1F600}'], next_page_token: '', total_items: 5 });
      expect((await resources(u, 'doc.read', { resource_prefix: '/a' })).resource_uris).toEqual(['/a/b']);
      expect((await resources(u, 'doc.read', { resource_prefix: '/a/b/c/d/' })).resource_uris).toEqual(['/a/b/c/d']);
      expect((await resources(u, 'doc.write', { resource_prefix: '/a/' })).resource_uris).toEqual(['/a']);
      expect((await resources(u, 'doc.write')).resource_uris).toEqual(['/a', '/a-c', '/ab']);
      expect(await resources(u, 'no.such')).toEqual({ resource_uris: [], next_page_token: '', total_items: 0 });
      expect(await resources(p('nobody'), 'doc.read')).toEqual({ resource_uris: [], next_page_token: '', total_items: 0 });
      // pages of 2 cover the set exactly once
      const first = await resources(u, 'doc.read', { page_size: 2 });
      expect(first.resource_uris).toEqual(['/a-c', '/a/b']);
      const second = await resources(u, 'doc.read', { page_size: 2, page_token: first.next_page_token });
      expect(second.resource_uris).toEqual(['/a0/x', '/\uffff']);
      const third = await resources(u, 'doc.read', { page_size: 2, page_token: second.next_page_token });
      expect(third).toEqual({ resource_uris: ['/\u{1F600}'], next_page_token: '', total_items: 5 });
    });
  });

  describe('LookupSubjects', () => {
    it('every principal whose check passes, in byte order, through roles and ancestors', async () => {
      const uri = `/subjects-${transport}/x/y`;
      await grant('zed', `/subjects-${transport}`, { roles: ['Alpha'] });
      await grant('Ann', `/subjects-${transport}/x`, { permissions: ['doc.read'] });
      await grant('ann', uri, { roles: ['Zeta'] });
      await grant('\u{1F600}', uri, { permissions: ['doc.read'] });
      await grant('\uffff', uri, { permissions: ['doc.read'] });
      await grant('writer', uri, { permissions: ['doc.write'] });
      await grant('sibling', `/subjects-${transport}/xy`, { permissions: ['doc.read'] });
      const body = await subjects(`${uri}/z/`, 'doc.read');
      expect(body).toEqual({ principal_ids: ['Ann', 'ann', 'zed', '\uffff', '\u{1F600}'], next_page_token: '', total_items: 5 });
      expect((await subjects(uri, 'doc.write')).principal_ids).toEqual(['writer', 'zed']);
      expect(await subjects(uri, 'no.such')).toEqual({ principal_ids: [], next_page_token: '', total_items: 0 });
      const page = await subjects(uri, 'doc.read', { page_size: 3 });
      expect(page.principal_ids).toEqual(['Ann', 'ann', 'zed']);
      expect((await subjects(uri, 'doc.read', { page_size: 3, page_token: page.next_page_token })).principal_ids).toEqual(['\uffff', '\u{1F600}']);
    });
  });

  describe('time-bounded grants', () => {
    it('a window is judged at evaluation time by checks, explain and lookups, whatever the cache', async () => {
      const u = p('windowed');
      const base = advanced / HOUR;
      await grant(u, '/w', { permissions: ['doc.read'], starts_at: at(base + 1), expires_at: at(base + 2) });
      await grant(u, '/w', { permissions: ['doc.write'] }); // permanent beside it
      const readOn = async () => (await check(u, ['/w/doc'], ['doc.read'])).passed;
      expect(await readOn()).toBe(false); // pending
      expect(await readOn()).toBe(false); // asked twice: a cache would answer the second
      expect((await resources(u, 'doc.read')).resource_uris).toEqual([]);
      expect((await subjects('/w/doc', 'doc.read')).principal_ids).not.toContain(u);
      const listed = ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants;
      expect(listed).toEqual([
        {
          user_id: u,
          resource_uri: '/w',
          permissions: [ids['doc.read'], ids['doc.write']],
          roles: [],
          windows: [{ permission_id: ids['doc.read'], starts_at: at(base + 1), expires_at: at(base + 2) }],
        },
      ]);
      await advanceTo(base + 1.5);
      expect(await readOn()).toBe(true);
      expect(await readOn()).toBe(true);
      expect((await resources(u, 'doc.read')).resource_uris).toEqual(['/w']);
      expect((await subjects('/w/doc', 'doc.read')).principal_ids).toContain(u);
      expect((await explain(u, ['/w/doc'], ['doc.read'])).explanations[0].sources).toEqual([
        { resource_uri: '/w', role: null, starts_at: at(base + 1), expires_at: at(base + 2) },
      ]);
      await advanceTo(base + 2.5);
      expect(await readOn()).toBe(false);
      expect((await explain(u, ['/w/doc'], ['doc.read'])).explanations[0]).toEqual({ resource_uri: '/w/doc', permission: 'doc.read', allowed: false, sources: [] });
      // the sweep removes the ended entry (within a second): the permanent one stays
      await expect.poll(async () => ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants, { timeout: 3000 }).toEqual([
        { user_id: u, resource_uri: '/w', permissions: [ids['doc.write']], roles: [], windows: [] },
      ]);
      expect((await check(u, ['/w/doc'], ['doc.write'])).passed).toBe(true);
    });

    it('granting again replaces the window; no times makes the entry permanent; revoke removes it whatever its window', async () => {
      const u = p('regrant');
      const base = advanced / HOUR;
      await grant(u, '/r', { roles: ['Zeta'], expires_at: at(base + 1) });
      await grant(u, '/r', { roles: ['Zeta'], starts_at: at(base + 2), expires_at: at(base + 3) });
      expect((await check(u, ['/r'], ['doc.read'])).passed).toBe(false); // the new window is pending
      expect(ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants[0].windows).toEqual([
        { role_id: ids.zeta, starts_at: at(base + 2), expires_at: at(base + 3) },
      ]);
      await grant(u, '/r', { roles: ['Zeta'] });
      expect((await check(u, ['/r'], ['doc.read'])).passed).toBe(true);
      expect(ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants[0].windows).toEqual([]);
      await grant(u, '/r', { roles: ['Zeta'], expires_at: at(base + 5) });
      ok(await api.del('/v1/grants', { project_name: 'default', user_id: u, resource_uri: '/r', roles: ['Zeta'] }));
      expect((await check(u, ['/r'], ['doc.read'])).passed).toBe(false);
      expect(ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants).toEqual([]);
    });

    it('a GRANT carries the window; when it ends, GRANT_EXPIRED follows with its own revision', async () => {
      const u = p('watched');
      const base = advanced / HOUR;
      const stream = await openWatch(server, transport, { project_name: 'default', user_id: u }, { key: orgKey });
      await stream.next(); // live
      await grant(u, '/e', { permissions: ['doc.read'], roles: ['Alpha'], expires_at: at(base + 1) });
      const granted = await stream.next();
      expect(granted.events).toEqual([
        { type: 'GRANT', user_id: u, resource_uri: '/e', permissions: [ids['doc.read']], roles: [ids.alpha], expires_at: at(base + 1) },
      ]);
      await advanceTo(base + 1.5);
      const expired = await stream.until((m) => m.events.length > 0, 3000);
      expect(expired[expired.length - 1].events).toEqual([
        { type: 'GRANT_EXPIRED', user_id: u, resource_uri: '/e', permissions: [ids['doc.read']], roles: [ids.alpha], expires_at: at(base + 1) },
      ]);
      expect(expired[expired.length - 1].revision).not.toBe(granted.revision);
      stream.close();
    });

    it('bad windows → 400 naming the field, nothing applied', async () => {
      const u = p('bad-window');
      const body = (extra: object) => ({ project_name: 'default', user_id: u, resource_uri: '/bad', permissions: ['doc.read'], ...extra });
      const now = t0 + advanced;
      const cases: [object, string][] = [
        [{ expires_at: iso(now - HOUR) }, 'expires_at'],
        [{ expires_at: at(advanced / HOUR + 2), starts_at: at(advanced / HOUR + 2) }, 'expires_at'],
        [{ expires_at: at(advanced / HOUR + 2), starts_at: at(advanced / HOUR + 3) }, 'expires_at'],
        [{ expires_at: 'tomorrow' }, 'expires_at'],
        [{ starts_at: '2030-02-30T00:00:00Z' }, 'starts_at'],
        [{ starts_at: '2030-01-01T00:00:00' }, 'starts_at'],
        [{ expires_at: '2030-01-01T25:00:00Z' }, 'expires_at'],
      ];
      for (const [extra, field] of cases) expectError(await api.post('/v1/grants', body(extra)), 400, [field], JSON.stringify(extra));
      expect(ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants).toEqual([]);
      // an offset is accepted and stored in UTC
      await grant(u, '/ok', { permissions: ['doc.read'], expires_at: '2099-01-01T02:00:00+02:00' });
      expect(ok(await api.get(`/v1/grants?project_name=default&user_id=${u}`)).grants[0].windows).toEqual([
        { permission_id: ids['doc.read'], expires_at: '2099-01-01T00:00:00Z' },
      ]);
    });
  });

  describe('bad input', () => {
    const cases: [string, string, object, string[]][] = [
      ['resource_prefix not a URI', '/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read', resource_prefix: 'a/b' }, ['resource_prefix']],
      ['a dot segment', '/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read', resource_prefix: '/a/../b' }, ['resource_prefix']],
      ['page_size 0', '/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read', page_size: -1 }, ['page_size']],
      ['unknown page token', '/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read', page_token: 'nope' }, ['page_token']],
      ['a ListGrants token', '/v1/lookup/subjects', { resource_uri: '/a', permission: 'doc.read', page_token: Buffer.from('["p1","grants",3]').toString('base64url') }, ['page_token']],
      ['resource_uri empty segment', '/v1/lookup/subjects', { resource_uri: '/a//b', permission: 'doc.read' }, ['resource_uri']],
      ['a malformed consistency token', '/v1/lookup/subjects', { resource_uri: '/a', permission: 'doc.read', consistency: { at_least_revision: '!!' } }, ['at_least_revision']],
      ['a never-issued token', '/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read', consistency: { at_least_revision: 'zzzzzzzzzz' } }, ['at_least_revision']],
      ['a control character in principal_id', '/v1/explain', { principal_id: 'a\u0001', resource_uris: ['/a'], permissions: ['doc.read'] }, ['principal_id']],
      ['empty resource_uris', '/v1/explain', { principal_id: 'u', resource_uris: [], permissions: ['doc.read'] }, ['resource_uris']],
      ['a bad URI', '/v1/explain', { principal_id: 'u', resource_uris: ['/ok', 'bad'], permissions: ['doc.read'] }, ['resource_uris']],
    ];
    it.each(cases)('%s → 400', async (_name, path, body, mentions) => {
      expectError(await api.post(path, { project_name: 'default', ...body }), 400, mentions);
    });

    it('an unknown project → 404; another organisation → 403', async () => {
      const admin = apiClient(server, transport, server.adminKey);
      const other = await createOrg(apiClient(server, 'rest', server.adminKey), `Other ${transport}`);
      for (const [path, body] of [
        ['/v1/explain', { principal_id: 'u', resource_uris: ['/a'], permissions: ['doc.read'] }],
        ['/v1/lookup/resources', { principal_id: 'u', permission: 'doc.read' }],
        ['/v1/lookup/subjects', { resource_uri: '/a', permission: 'doc.read' }],
      ] as const) {
        expectError(await api.post(path, { ...body, project_name: 'nope' }), 404, ['nope']);
        expectError(await admin.post(path, { ...body, project_name: 'default', organisation_id: other.orgId.replace(/.$/, 'x') }), 404);
        expectError(await apiClient(server, transport, other.orgKey).post(path, { ...body, project_name: 'default', organisation_id: 'org_else' }), 403);
        expectError(await admin.post(path, { ...body, project_name: 'default' }), 400, ['organisation_id']);
      }
      void show;
    });
  });
});

describe('with the real clock', () => {
  let real: RunningServer;
  beforeAll(async () => {
    real = await startServer();
  });
  afterAll(async () => {
    await real?.stop();
    real?.cleanup();
  });

  it.each(TRANSPORTS)('over %s a repeated identical check flips at expires_at, never a second late; the sweep removes the entry', async (transport) => {
    const admin = apiClient(real, 'rest', real.adminKey);
    const { orgKey: key } = await createOrg(admin, `Real ${transport}`);
    const api = apiClient(real, transport, key);
    ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));
    const expires = Date.now() + 1500;
    ok(await api.post('/v1/grants', { project_name: 'default', user_id: 'tick', resource_uri: '/t', permissions: ['doc.read'], expires_at: new Date(expires).toISOString() }));
    const req = { project_name: 'default', principal_id: 'tick', resource_uris: ['/t/x'], permissions: ['doc.read'] };
    let flippedAt = 0;
    for (;;) {
      const before = Date.now();
      const passed = ok(await api.post('/v1/check', req)).passed;
      if (before >= expires) expect(passed, 'a check asked after expires_at').toBe(false);
      if (!passed) {
        flippedAt = before;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(flippedAt).toBeGreaterThan(expires - 1000); // it did pass until shortly before
    await expect.poll(async () => ok(await api.get('/v1/grants?project_name=default&user_id=tick')).grants, { timeout: 2500, interval: 100 }).toEqual([]);
  });
});
