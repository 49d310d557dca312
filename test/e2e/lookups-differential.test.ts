// ExplainCheck, LookupResources, LookupSubjects and Check against a naive model of SPEC §8 on random grant trees:
// prefix-named segments (/a, /a-c, /a0, /a/b, non-ASCII), roles and role edits, revokes, windows judged at several
// test-clock times; and pagination while writes happen (every item present for the whole walk comes exactly once).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { apiClient, closeApiClients, type ApiClient } from '../helpers/api.js';
import { createOrg, inBatches, ok } from '../helpers/expect-api.js';

const HOUR = 3_600_000;
const SEGMENTS = ['a', 'a-c', 'a0', 'b', 'é', '\u{1F600}'];
const USERS = ['u1', 'U1', 'u1x', 'ü', '\u{1F600}u', '\uffff'];
const PERMS = ['p0', 'p1', 'p2'];
const ROLES = ['r-b', 'r-a', 'r-c']; // created in this order: ids and names sort differently

interface Entry {
  user: string;
  uri: string;
  ref: string; // permission or role name
  isRole: boolean;
  s?: number; // window bounds, in hours after the server's start
  e?: number;
}

let server: RunningServer;
let t0: number;
let advanced = 0;
let api: ApiClient;
let admin: ApiClient;
const idOf: Record<string, string> = {};

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const segs = (uri: string) => (uri === '/' ? [] : uri.slice(1).split('/'));
const covers = (granted: string, uri: string) => {
  const g = segs(granted);
  const u = segs(uri);
  return g.length <= u.length && g.every((s, i) => s === u[i]);
};
const hoursIso = (h: number) => new Date(t0 + h * HOUR).toISOString();

/** The naive model: a flat list of entries and the roles' permission names. */
class Model {
  entries: Entry[] = [];
  roles: Record<string, string[]> = { 'r-b': ['p0'], 'r-a': ['p0', 'p1'], 'r-c': [] };

  grant(e: Entry): void {
    this.entries = this.entries.filter((x) => !(x.user === e.user && x.uri === e.uri && x.ref === e.ref && x.isRole === e.isRole));
    this.entries.push(e);
  }
  revoke(user: string, uri: string, ref: string, isRole: boolean): void {
    this.entries = this.entries.filter((x) => !(x.user === user && x.uri === uri && x.ref === ref && x.isRole === isRole));
  }
  active(e: Entry, h: number): boolean {
    return (e.s === undefined || e.s <= h) && (e.e === undefined || h < e.e);
  }
  supplies(e: Entry, perm: string, h: number): boolean {
    return this.active(e, h) && (e.isRole ? this.roles[e.ref]!.includes(perm) : e.ref === perm);
  }
  holds(user: string, uri: string, perm: string, h: number): boolean {
    return this.entries.some((e) => e.user === user && covers(e.uri, uri) && this.supplies(e, perm, h));
  }
  lookupResources(user: string, perm: string, prefix: string, h: number): string[] {
    if (this.holds(user, prefix, perm, h)) return [prefix];
    const set = [...new Set(this.entries.filter((e) => e.user === user && covers(prefix, e.uri) && this.supplies(e, perm, h)).map((e) => e.uri))];
    return set.filter((u) => !set.some((v) => v !== u && covers(v, u))).sort(byteOrder);
  }
  lookupSubjects(uri: string, perm: string, h: number): string[] {
    return USERS.filter((u) => this.holds(u, uri, perm, h)).sort(byteOrder);
  }
  explain(user: string, uris: string[], perms: string[], h: number) {
    const explanations = [];
    const missing = [];
    for (const uri of uris) {
      const lacking = [];
      for (const perm of perms) {
        const sources = this.entries
          .filter((e) => e.user === user && covers(e.uri, uri) && this.supplies(e, perm, h))
          .sort((a, b) => b.uri.length - a.uri.length || Number(a.isRole) - Number(b.isRole) || byteOrder(a.ref, b.ref))
          .map((e) => ({
            resource_uri: e.uri,
            role: e.isRole ? { id: idOf[e.ref], name: e.ref } : null,
            ...(e.s === undefined ? {} : { starts_at: hoursIso(e.s) }),
            ...(e.e === undefined ? {} : { expires_at: hoursIso(e.e) }),
          }));
        explanations.push({ resource_uri: uri, permission: perm, allowed: sources.length > 0, sources });
        if (sources.length === 0) lacking.push(perm);
      }
      if (lacking.length) missing.push({ resource_uri: uri, missing_permissions: lacking });
    }
    return { passed: missing.length === 0, missing_permissions: missing, explanations };
  }
}

const uriArb = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 0, maxLength: 3 }).map((s) => '/' + s.join('/'));
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('grant' as const), user: fc.constantFrom(...USERS), uri: uriArb, perm: fc.constantFrom(...PERMS, ...ROLES), window: fc.option(fc.tuple(fc.option(fc.integer({ min: 0, max: 3 })), fc.option(fc.integer({ min: 1, max: 4 })))) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), user: fc.constantFrom(...USERS), uri: uriArb, perm: fc.constantFrom(...PERMS, ...ROLES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('role' as const), role: fc.constantFrom(...ROLES), perms: fc.subarray(PERMS) }) },
);

async function advanceTo(hours: number): Promise<void> {
  const target = Math.round(hours * HOUR);
  if (target > advanced) ok(await admin.post(`/debug/clock?advance_ms=${target - advanced}`));
  advanced = Math.max(advanced, target);
}

async function collect(path: string, body: object, key: string, pageSize: number): Promise<string[]> {
  const out: string[] = [];
  let token = '';
  for (;;) {
    const page = ok(await api.post(path, { ...body, page_size: pageSize, ...(token ? { page_token: token } : {}) }));
    out.push(...page[key]);
    if (page.next_page_token === '') {
      expect(page.total_items).toBe(out.length);
      return out;
    }
    token = page.next_page_token;
  }
}

beforeAll(async () => {
  t0 = Date.now();
  server = await startServer({ env: { PERMIO_TEST_CLOCK: '1' } });
  admin = apiClient(server, 'rest', server.adminKey);
  const { orgKey } = await createOrg(admin, 'Differential Org');
  api = apiClient(server, 'rest', orgKey);
});

afterAll(async () => {
  closeApiClients();
  await server?.stop();
  server?.cleanup();
});

describe('against the naive model', () => {
  it('random trees, roles, revokes, role edits and windows: the three answers and Check agree with it at every time', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), fc.integer({ min: 0, max: 1_000_000 }), async (ops, seed) => {
        const project = `diff-${round++}`;
        const base = Math.ceil(advanced / HOUR) + 1; // window hours count from here; evaluated at base + k + 0.5
        ok(await api.post(`/v1/organisations/${(await orgOf())}/projects`, { name: project }));
        const pn = { project_name: project };
        for (const name of PERMS) idOf[name] = ok(await api.post('/v1/permissions', { ...pn, name })).id;
        const model = new Model();
        for (const name of ROLES) idOf[name] = ok(await api.post('/v1/roles', { ...pn, name, permissions: model.roles[name]!.map((p) => idOf[p]) })).id;
        for (const op of ops) {
          if (op.kind === 'role') {
            ok(await api.patch(`/v1/roles/${idOf[op.role]}`, { ...pn, permissions: op.perms.map((p) => idOf[p]) }));
            model.roles[op.role] = op.perms;
            continue;
          }
          const isRole = ROLES.includes(op.perm);
          const refs = isRole ? { roles: [op.perm] } : { permissions: [op.perm] };
          if (op.kind === 'revoke') {
            ok(await api.del('/v1/grants', { ...pn, user_id: op.user, resource_uri: op.uri, ...refs }));
            model.revoke(op.user, op.uri, op.perm, isRole);
            continue;
          }
          let s = op.window?.[0] ?? undefined;
          let e = op.window?.[1] ?? undefined;
          if (s !== undefined && e !== undefined && e <= s) e = s + 1;
          const window = { ...(s === undefined ? {} : { starts_at: hoursIso(base + s) }), ...(e === undefined ? {} : { expires_at: hoursIso(base + e) }) };
          ok(await api.post('/v1/grants', { ...pn, user_id: op.user, resource_uri: op.uri, ...refs, ...window }));
          model.grant({ user: op.user, uri: op.uri, ref: op.perm, isRole, ...(s === undefined ? {} : { s: base + s }), ...(e === undefined ? {} : { e: base + e }) });
        }
        const rnd = fc.sample(fc.array(uriArb, { minLength: 1, maxLength: 4 }), { seed, numRuns: 1 })[0]!;
        for (const k of [0, 2, 4]) {
          const h = base + k - 0.5;
          await advanceTo(h);
          for (const user of USERS) {
            const got = ok(await api.post('/v1/explain', { ...pn, principal_id: user, resource_uris: rnd, permissions: PERMS }));
            const want = model.explain(user, [...new Set(rnd)], PERMS, h);
            expect(got, `explain ${user} ${rnd} at +${k}`).toEqual(want);
            const { explanations: _, ...verdict } = got;
            expect(ok(await api.post('/v1/check', { ...pn, principal_id: user, resource_uris: rnd, permissions: PERMS }))).toEqual(verdict);
            for (const perm of PERMS) {
              for (const prefix of ['/', '/a', rnd[0]!]) {
                const all = await collect('/v1/lookup/resources', { ...pn, principal_id: user, permission: perm, resource_prefix: prefix }, 'resource_uris', 2);
                expect(all, `resources ${user} ${perm} ${prefix} at +${k}`).toEqual(model.lookupResources(user, perm, prefix, h));
              }
            }
          }
          for (const perm of PERMS) {
            for (const uri of ['/', '/a', '/a/b', ...rnd]) {
              const all = await collect('/v1/lookup/subjects', { ...pn, resource_uri: uri, permission: perm }, 'principal_ids', 2);
              expect(all, `subjects ${uri} ${perm} at +${k}`).toEqual(model.lookupSubjects(uri, perm, h));
            }
          }
        }
      }),
      { numRuns: 8 },
    );
  });
});

let orgIdCache: string | undefined;
async function orgOf(): Promise<string> {
  orgIdCache ??= ok(await api.get('/v1/organisations')).organisations[0].id;
  return orgIdCache!;
}

describe('pagination while writes happen', () => {
  it('LookupResources and LookupSubjects pages return every item present for the whole walk exactly once', async () => {
    const pn = { project_name: 'default' };
    ok(await api.post('/v1/permissions', { ...pn, name: 'walk' }));
    const stable = Array.from({ length: 120 }, (_, i) => `/w/${String(i).padStart(3, '0')}`);
    const users = Array.from({ length: 120 }, (_, i) => `walker-${String(i).padStart(3, '0')}`);
    await inBatches(stable, 8, (uri) => api.post('/v1/grants', { ...pn, user_id: 'walker', resource_uri: uri, permissions: ['walk'] }));
    await inBatches(users, 8, (u) => api.post('/v1/grants', { ...pn, user_id: u, resource_uri: '/shared', permissions: ['walk'] }));
    let writing = true;
    const churn = (async () => {
      for (let i = 0; writing; i++) {
        const uri = `/w/${String(i % 130).padStart(3, '0')}x`; // between the stable items in byte order
        const user = `walker-${String(i % 130).padStart(3, '0')}y`;
        await api.post('/v1/grants', { ...pn, user_id: 'walker', resource_uri: uri, permissions: ['walk'] });
        await api.post('/v1/grants', { ...pn, user_id: user, resource_uri: '/shared', permissions: ['walk'] });
        if (i % 3 === 0) await api.del('/v1/grants', { ...pn, user_id: 'walker', resource_uri: `/w/${String((i * 7) % 130).padStart(3, '0')}x`, permissions: ['walk'] });
      }
    })();
    const walk = async (path: string, body: object, key: string) => {
      const out: string[] = [];
      let token = '';
      do {
        const page = ok(await api.post(path, { ...pn, ...body, page_size: 7, ...(token ? { page_token: token } : {}) }));
        out.push(...page[key]);
        token = page.next_page_token;
      } while (token !== '');
      return out;
    };
    const uris = await walk('/v1/lookup/resources', { principal_id: 'walker', permission: 'walk', resource_prefix: '/w' }, 'resource_uris');
    const principals = await walk('/v1/lookup/subjects', { resource_uri: '/shared/doc', permission: 'walk' }, 'principal_ids');
    writing = false;
    await churn;
    expect(new Set(uris).size).toBe(uris.length);
    expect(uris.filter((u) => stable.includes(u))).toEqual(stable);
    expect([...uris].sort(byteOrder)).toEqual(uris);
    expect(new Set(principals).size).toBe(principals.length);
    expect(principals.filter((u) => users.includes(u))).toEqual(users);
  });
});
