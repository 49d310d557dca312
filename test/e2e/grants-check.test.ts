// Grants and checks over both transports: grant/revoke/list, check semantics from test/cases/*.json plus hostile probes,
// URI validation, pair limits and read-your-writes (SPEC §3, §4).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { collectPages, createOrg, expectError, inBatches, ok, show, type OrgFixture } from '../helpers/expect-api.js';

// ── the JSON scenarios ───────────────────────────────────────────────────────

interface CaseGrant {
  user_id: string;
  resource_uri: string;
  permissions?: string[];
  roles?: string[];
}
interface CaseCheck {
  principal_id: string;
  resource_uris: string[];
  permissions: string[];
  passed: boolean;
  missing: { resource_uri: string; missing_permissions: string[] }[];
}
interface CheckCase {
  name: string;
  permissions: string[];
  roles: Record<string, string[]>;
  grants: CaseGrant[];
  checks: CaseCheck[];
}

const CASES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cases');
const CASE_FILES = fs
  .readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, cases: (JSON.parse(fs.readFileSync(path.join(CASES_DIR, f), 'utf8')) as { cases: CheckCase[] }).cases }));

/**
 * The reference model of SPEC §4, deliberately naive: split on '/', compare whole segments, answer each
 * distinct URI and permission once at its first position, nonexistent names are missing.
 */
function segmentsOf(uri: string): string[] {
  const trimmed = uri.length > 1 && uri.endsWith('/') ? uri.slice(0, -1) : uri;
  return trimmed === '/' ? [] : trimmed.slice(1).split('/');
}

function modelCheck(c: CheckCase, principal: string, uris: readonly string[], permissions: readonly string[]) {
  const missing: { resource_uri: string; missing_permissions: string[] }[] = [];
  const seenUris = new Set<string>();
  for (const uri of uris) {
    if (seenUris.has(uri)) continue;
    seenUris.add(uri);
    const target = segmentsOf(uri);
    const held = new Set<string>();
    for (const g of c.grants) {
      if (g.user_id !== principal) continue;
      const at = segmentsOf(g.resource_uri);
      if (at.length > target.length || !at.every((s, i) => s === target[i])) continue;
      for (const p of g.permissions ?? []) held.add(p);
      for (const r of g.roles ?? []) for (const p of c.roles[r] ?? []) held.add(p);
    }
    const seenNames = new Set<string>();
    const miss: string[] = [];
    for (const p of permissions) {
      if (seenNames.has(p)) continue;
      seenNames.add(p);
      if (!c.permissions.includes(p) || !held.has(p)) miss.push(p);
    }
    if (miss.length) missing.push({ resource_uri: uri, missing_permissions: miss });
  }
  return { passed: missing.length === 0, missing_permissions: missing };
}

/** URIs that must be refused (400) next to a granted URI `r`. */
function invalidProbes(r: string): string[] {
  const base = segmentsOf(r).length ? '/' + segmentsOf(r).join('/') : '';
  return [
    `${base}/..`,
    `${base}/.`,
    `${base}/../x`,
    `${base}/./x`,
    `${base}//x`,
    `${base}//`,
    `${base}/x\u0000`,
    `${base}/x\ty`,
    `${base}/x\u001f`,
    `${base}/\u007f`,
    `${base}/x\ny`,
    `${base}/%2e%2e`, // SPEC §13: segments that percent-decode to '.' or '..'
    `${base}/%2E%2e/x`,
    `${base}/.%2e`,
    `${base}/%2e`,
    `${base}/x\ud800`, // SPEC §13: a lone surrogate
    base === '' ? 'x' : base.slice(1), // no leading '/'
  ];
}

/** Valid but hostile URIs next to a granted URI `r`: percent-encoded dots, prefix-siblings, case, trailing '/'. */
function validProbes(r: string): string[] {
  const segs = segmentsOf(r);
  const base = segs.length ? '/' + segs.join('/') : '';
  const out = [`${base}/`, `${base}/%2e%2e%2e`, `${base}/%2E%2Ex/x`, `${base}/%252e`, `${base}/...`, `${base}/..x`, `${base}/.x`, `${base}/child/deeper`];
  if (segs.length) {
    const last = segs[segs.length - 1]!;
    const parent = segs.length > 1 ? '/' + segs.slice(0, -1).join('/') : '/';
    out.push(`${base}ineering`, `${base}x`, `${base}-old/x`, parent, base.toUpperCase(), base.toLowerCase());
    if (last.length > 1) out.push(base.slice(0, -1));
    const code = last.charCodeAt(0);
    if (code < 0x80) out.push(`${parent === '/' ? '' : parent}/%${code.toString(16).toUpperCase().padStart(2, '0')}${last.slice(1)}`);
  }
  return out;
}

/** SPEC §4 validity, naively: leading '/', ≤1024 bytes, no control characters, no empty/'.'/'..' segments. */
function isValidUri(uri: string): boolean {
  if (!uri.startsWith('/') || Buffer.byteLength(uri) > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(uri)) return false;
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(uri)) return false; // a lone surrogate
  if (uri === '/') return true;
  const trimmed = uri.endsWith('/') ? uri.slice(0, -1) : uri;
  return trimmed.slice(1).split('/').every((s) => s !== '' && !/^(?:\.|%2e){1,2}$/i.test(s));
}

/** Distinct by the resource they denote (a trailing '/' is ignored), first spelling kept. */
function distinctResources(uris: readonly string[]): string[] {
  const seen = new Set<string>();
  return uris.filter((u) => {
    const k = '/' + segmentsOf(u).join('/');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ── server and fixtures ──────────────────────────────────────────────────────

let server: RunningServer;
/** A client of the transport under test. */
let as: (key?: string) => ApiClient;
let admin: ApiClient;
let fx: OrgFixture;
let api: ApiClient;
let projectSeq = 0;

beforeAll(async () => {
  server = await startServer();
  admin = apiClient(server, 'rest', server.adminKey);
  fx = await createOrg(admin, 'Grants Org', 'owner');
  api = apiClient(server, 'rest', fx.orgKey);
});

afterAll(async () => {
  closeApiClients();
  await server?.stop();
  server?.cleanup();
});

async function newProject(): Promise<string> {
  const name = `g${++projectSeq}`;
  ok(await admin.post(`/v1/organisations/${fx.orgId}/projects`, { name }));
  return name;
}

function checkBody(project: string, principal: string, uris: readonly string[], permissions: readonly string[]) {
  return { project_name: project, principal_id: principal, resource_uris: uris, permissions };
}

async function check(project: string, principal: string, uris: readonly string[], permissions: readonly string[]) {
  const res = await api.post('/v1/check', checkBody(project, principal, uris, permissions));
  const body = ok(res);
  expect(Object.keys(body).sort(), show(res)).toEqual(['missing_permissions', 'passed']);
  return body;
}

const PASS = { passed: true, missing_permissions: [] };
const missingAll = (uris: string[], permissions: string[]) => ({
  passed: false,
  missing_permissions: uris.map((resource_uri) => ({ resource_uri, missing_permissions: permissions })),
});

/** Creates the case's permissions, roles and grants in a fresh project; grants alternate ids and names. */
async function loadCase(c: CheckCase): Promise<string> {
  const project = await newProject();
  const permIds = new Map<string, string>();
  for (const name of c.permissions) permIds.set(name, ok(await api.post('/v1/permissions', { project_name: project, name })).id);
  const roleIds = new Map<string, string>();
  for (const [name, perms] of Object.entries(c.roles)) {
    const ids = perms.map((p) => permIds.get(p)!);
    roleIds.set(name, ok(await api.post('/v1/roles', { project_name: project, name, permissions: ids })).id);
  }
  for (const [i, g] of c.grants.entries()) {
    const byId = i % 2 === 0;
    const body = {
      project_name: project,
      user_id: g.user_id,
      resource_uri: g.resource_uri,
      permissions: (g.permissions ?? []).map((p) => (byId ? permIds.get(p)! : p)),
      roles: (g.roles ?? []).map((r) => (byId ? roleIds.get(r)! : r)),
    };
    expect(ok(await api.post('/v1/grants', body))).toEqual({});
  }
  return project;
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  beforeAll(() => {
    as = (key) => apiClient(server, transport, key);
    admin = as(server.adminKey);
    api = as(fx.orgKey);
  });

  describe.each(CASE_FILES)('check cases: $file', ({ cases }) => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      // The case file must agree with the reference model before it judges the server.
      for (const chk of c.checks) {
        expect(modelCheck(c, chk.principal_id, chk.resource_uris, chk.permissions), `case file vs model: ${JSON.stringify(chk)}`).toEqual({
          passed: chk.passed,
          missing_permissions: chk.missing,
        });
      }
      const project = await loadCase(c);
      for (const chk of c.checks) {
        const got = await check(project, chk.principal_id, chk.resource_uris, chk.permissions);
        expect(got, JSON.stringify(chk)).toEqual({ passed: chk.passed, missing_permissions: chk.missing });
      }

      // Hostile probes around every granted URI, judged by the model.
      const allNames = [...c.permissions, 'no.such.permission'];
      const principals = [...new Set(c.grants.map((g) => g.user_id))];
      const granted = [...new Set(c.grants.map((g) => g.resource_uri))];
      const probes = distinctResources(granted.flatMap(validProbes)).filter(isValidUri);
      for (const principal of principals) {
        const got = await check(project, principal, probes, allNames);
        expect(got, `probes for ${principal}: ${JSON.stringify(probes)}`).toEqual(modelCheck(c, principal, probes, allNames));
      }
      for (const r of granted) {
        for (const bad of invalidProbes(r)) {
          expect(isValidUri(bad), `model: ${JSON.stringify(bad)} is invalid`).toBe(false);
          const ctx = `probe ${JSON.stringify(bad)}`;
          expectError(await api.post('/v1/check', checkBody(project, principals[0]!, [bad], allNames)), 400, [], ctx);
          // One invalid URI among valid ones still refuses the whole request.
          expectError(await api.post('/v1/check', checkBody(project, principals[0]!, [r, bad, '/ok'], allNames)), 400, [], ctx);
          // Grants refuse it too, and nothing is written.
          expectError(await api.post('/v1/grants', { project_name: project, user_id: 'probe', resource_uri: bad, permissions: [c.permissions[0]] }), 400, [], ctx);
        }
      }
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=probe`)).total_items).toBe(0);
    });
  });

  // ── grants ───────────────────────────────────────────────────────────────────

  describe('grants', () => {
    it('grant → {}; listed per (user, exact URI) in creation order with permission and role ids; names and ids both accepted', async () => {
      const project = await newProject();
      const read = ok(await api.post('/v1/permissions', { project_name: project, name: 'document.read' }));
      const comment = ok(await api.post('/v1/permissions', { project_name: project, name: 'document.comment' }));
      const editor = ok(await api.post('/v1/roles', { project_name: project, name: 'Document Editor', permissions: [read.id] }));
      const g = (uri: string, permissions: string[], roles: string[]) =>
        api.post('/v1/grants', { project_name: project, user_id: 'user_1234', resource_uri: uri, permissions, roles });
      expect(ok(await g('/documents/1234', [comment.id], [editor.id]))).toEqual({});
      expect(ok(await g('/documents', ['document.read'], []))).toEqual({});
      expect(ok(await g('/a', [], ['Document Editor']))).toEqual({});
      // The same again, by the other reference: a no-op.
      expect(ok(await g('/documents/1234', ['document.comment'], ['Document Editor']))).toEqual({});
      // Adding to an entry keeps its place and merges.
      expect(ok(await g('/documents', [comment.id, read.id], []))).toEqual({});

      const list = ok(await api.get(`/v1/grants?project_name=${project}&user_id=user_1234`));
      expect(list).toEqual({
        grants: [
          { user_id: 'user_1234', resource_uri: '/documents/1234', permissions: [comment.id], roles: [editor.id], windows: [] },
          { user_id: 'user_1234', resource_uri: '/documents', permissions: [read.id, comment.id], roles: [], windows: [] },
          { user_id: 'user_1234', resource_uri: '/a', permissions: [], roles: [editor.id], windows: [] },
        ],
        next_page_token: '',
        total_items: 3,
      });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=user_1234&resource_uri=${encodeURIComponent('/documents')}`))).toEqual({
        grants: [list.grants[1]],
        next_page_token: '',
        total_items: 1,
      });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=user_1234&resource_uri=/nothing`))).toEqual({
        grants: [],
        next_page_token: '',
        total_items: 0,
      });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=someone-else`))).toEqual({ grants: [], next_page_token: '', total_items: 0 });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=USER_1234`)).total_items).toBe(0);
      expect(await check(project, 'user_1234', ['/documents/1234/page'], ['document.read', 'document.comment'])).toEqual(PASS);
    });

    it('unknown permissions or roles → 400 listing them, and nothing of the request is applied', async () => {
      const project = await newProject();
      const read = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const base = { project_name: project, user_id: 'u', resource_uri: '/x' };
      expectError(await api.post('/v1/grants', { ...base, permissions: [read.id, 'doc.nope'] }), 400, ['doc.nope']);
      expectError(await api.post('/v1/grants', { ...base, permissions: ['doc.read'], roles: ['Ghost Role'] }), 400, ['Ghost Role']);
      expectError(await api.post('/v1/grants', { ...base, permissions: ['perm_missing', 'doc.read', 'other.missing'] }), 400, ['perm_missing', 'other.missing']);
      expectError(await api.post('/v1/grants', { ...base, permissions: ['p.missing'], roles: ['r.missing'] }), 400, ['p.missing', 'r.missing']);
      // A role name is not a permission name.
      ok(await api.post('/v1/roles', { project_name: project, name: 'Reader', permissions: [read.id] }));
      expectError(await api.post('/v1/grants', { ...base, permissions: ['Reader'] }), 400, ['Reader']);
      expectError(await api.post('/v1/grants', { ...base, roles: ['doc.read'] }), 400, ['doc.read']);
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=u`)).total_items).toBe(0);
      expect(await check(project, 'u', ['/x'], ['doc.read'])).toEqual(missingAll(['/x'], ['doc.read']));

      ok(await api.post('/v1/grants', { ...base, permissions: ['doc.read'] }));
      expectError(await api.del('/v1/grants', { ...base, permissions: ['doc.read', 'doc.nope'] }), 400, ['doc.nope']);
      expect(await check(project, 'u', ['/x'], ['doc.read'])).toEqual(PASS);
    });

    it('both lists empty or absent → 400; wrong types → 400', async () => {
      const project = await newProject();
      ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const base = { project_name: project, user_id: 'u', resource_uri: '/x' };
      for (const method of ['POST', 'DELETE'] as const) {
        expectError(await api.call(method, '/v1/grants', base), 400);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: [], roles: [] }), 400);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: 'doc.read' }), 400, ['permissions']);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: [1] }), 400, ['permissions']);
        expectError(await api.call(method, '/v1/grants', { ...base, roles: 'Reader' }), 400, ['roles']);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: ['doc.read'], user_id: undefined }), 400, ['user_id']);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: ['doc.read'], resource_uri: undefined }), 400, ['resource_uri']);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: ['doc.read'], resource_uri: 5 }), 400, ['resource_uri']);
        expectError(await api.call(method, '/v1/grants', { ...base, permissions: ['doc.read'], user_id: 5 }), 400, ['user_id']);
      }
    });

    it('revoke: partial, idempotent for known-but-not-granted, the entry disappears once empty', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const w = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.write' }));
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Editor', permissions: [w.id] }));
      const base = { project_name: project, user_id: 'kim', resource_uri: '/docs' };
      ok(await api.post('/v1/grants', { ...base, permissions: [r.id, w.id], roles: [role.id] }));
      expect(ok(await api.del('/v1/grants', { ...base, permissions: ['doc.write'] }))).toEqual({});
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=kim`)).grants).toEqual([
        { user_id: 'kim', resource_uri: '/docs', permissions: [r.id], roles: [role.id], windows: [] },
      ]);
      expect(await check(project, 'kim', ['/docs/1'], ['doc.read', 'doc.write'])).toEqual(PASS); // doc.write via the role
      expect(ok(await api.del('/v1/grants', { ...base, roles: ['Editor'] }))).toEqual({});
      expect(await check(project, 'kim', ['/docs/1'], ['doc.read', 'doc.write'])).toEqual(missingAll(['/docs/1'], ['doc.write']));
      // Not granted (any more), or granted elsewhere: a no-op.
      expect(ok(await api.del('/v1/grants', { ...base, permissions: [w.id], roles: [role.id] }))).toEqual({});
      expect(ok(await api.del('/v1/grants', { ...base, resource_uri: '/never', permissions: [r.id] }))).toEqual({});
      expect(ok(await api.del('/v1/grants', { ...base, user_id: 'stranger', permissions: [r.id] }))).toEqual({});
      // Revoking on a descendant does not carve out a hole in the ancestor's grant.
      expect(ok(await api.del('/v1/grants', { ...base, resource_uri: '/docs/1', permissions: [r.id] }))).toEqual({});
      expect(await check(project, 'kim', ['/docs/1'], ['doc.read'])).toEqual(PASS);
      expect(ok(await api.del('/v1/grants', { ...base, permissions: ['doc.read'] }))).toEqual({});
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=kim`))).toEqual({ grants: [], next_page_token: '', total_items: 0 });
      expect(await check(project, 'kim', ['/docs', '/docs/1'], ['doc.read'])).toEqual(missingAll(['/docs', '/docs/1'], ['doc.read']));
    });

    it('a trailing / is ignored: /x/ and /x are one grant entry', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const w = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.write' }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'lee', resource_uri: '/x/', permissions: [r.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'lee', resource_uri: '/x', permissions: [w.id] }));
      const list = ok(await api.get(`/v1/grants?project_name=${project}&user_id=lee`));
      expect(list).toEqual({ grants: [{ user_id: 'lee', resource_uri: '/x', permissions: [r.id, w.id], roles: [], windows: [] }], next_page_token: '', total_items: 1 });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=lee&resource_uri=${encodeURIComponent('/x/')}`)).total_items).toBe(1);
      expect(await check(project, 'lee', ['/x/y'], ['doc.read', 'doc.write'])).toEqual(PASS);
      ok(await api.del('/v1/grants', { project_name: project, user_id: 'lee', resource_uri: '/x/', permissions: [r.id, w.id] }));
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=lee`)).total_items).toBe(0);
      // The root is its own resource.
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'lee', resource_uri: '/', permissions: [r.id] }));
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=lee`)).grants).toEqual([
        { user_id: 'lee', resource_uri: '/', permissions: [r.id], roles: [], windows: [] },
      ]);
    });

    it('principal ids: 1–256 bytes without control characters', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const grant = (user_id: unknown) => api.post('/v1/grants', { project_name: project, user_id, resource_uri: '/x', permissions: [r.id] });
      for (const id of ['a', 'x'.repeat(256), '\u00e9'.repeat(128), 'user:alice@example.com', 'Ünïcødé ✓', 'has space']) {
        expect(ok(await grant(id))).toEqual({});
        expect(await check(project, id, ['/x'], ['doc.read'])).toEqual(PASS);
      }
      for (const id of ['', 'x'.repeat(257), '\u00e9'.repeat(129), 'nul\u0000', 'new\nline', 'tab\t', 'esc\u001b']) {
        expectError(await grant(id), 400, ['user_id']);
        expectError(await api.post('/v1/check', checkBody(project, id, ['/x'], ['doc.read'])), 400, ['principal_id']);
      }
      expectError(await api.get(`/v1/grants?project_name=${project}&user_id=${'x'.repeat(257)}`), 400, ['user_id']);
    });

    it('resource URIs: invalid forms → 400 on grant, revoke and list; ≤1024 bytes as sent', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      const bad = ['', 'x', 'teams/eng', '//', '/a//b', '/a/', '/..', '/.', '/a/../b', '/a/./b', '/a/..', '/a/.', '/a\u0000', '/a\nb', '/a\u007f', '/a\u001b[31m', '/' + 'x'.repeat(1024), '/' + '\u00e9'.repeat(512)];
      const refused = bad.filter((u) => u !== '/a/'); // '/a/' is valid: a trailing slash is ignored
      for (const uri of refused) {
        const ctx = `resource_uri ${JSON.stringify(uri)}`;
        expectError(await api.post('/v1/grants', { project_name: project, user_id: 'u', resource_uri: uri, permissions: [r.id] }), 400, ['resource_uri'], ctx);
        expectError(await api.del('/v1/grants', { project_name: project, user_id: 'u', resource_uri: uri, permissions: [r.id] }), 400, ['resource_uri'], ctx);
        if (uri !== '') expectError(await api.get(`/v1/grants?project_name=${project}&user_id=u&resource_uri=${encodeURIComponent(uri)}`), 400, ['resource_uri'], ctx);
      }
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=u`)).total_items).toBe(0);
      // Exactly 1024 bytes is accepted (ASCII and multi-byte), one more is not.
      const ascii1024 = '/' + 'x'.repeat(1023);
      const utf1024 = '/' + '\u00e9'.repeat(511) + 'x'; // 1 + 1022 + 1
      const emoji1024 = '/' + '\u{1F600}'.repeat(255) + 'xxx'; // 1 + 1020 + 3
      for (const uri of [ascii1024, utf1024, emoji1024]) {
        expect(Buffer.byteLength(uri)).toBe(1024);
        expect(ok(await api.post('/v1/grants', { project_name: project, user_id: 'u', resource_uri: uri, permissions: [r.id] }))).toEqual({});
        expect(await check(project, 'u', [uri], ['doc.read'])).toEqual(PASS);
      }
      for (const uri of [ascii1024 + 'x', utf1024 + 'x', '/' + '\u{1F600}'.repeat(256)]) {
        expectError(await api.post('/v1/grants', { project_name: project, user_id: 'u', resource_uri: uri, permissions: [r.id] }), 400, ['resource_uri']);
        expectError(await api.post('/v1/check', checkBody(project, 'u', [uri], ['doc.read'])), 400);
      }
      // 1024 bytes as sent: a trailing '/' counts.
      expectError(await api.post('/v1/check', checkBody(project, 'u', [ascii1024 + '/'], ['doc.read'])), 400);
      expect(await check(project, 'u', ['/' + 'x'.repeat(1022) + '/'], ['doc.read'])).toEqual(missingAll(['/' + 'x'.repeat(1022) + '/'], ['doc.read']));
    });

    it('C1 control characters (U+0080–U+009F) in a resource URI → 400, as for principal ids', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      for (const uri of ['/a\u0085', '/a\u0080b', '/\u009f']) {
        expectError(await api.post('/v1/grants', { project_name: project, user_id: 'u', resource_uri: uri, permissions: [r.id] }), 400, ['resource_uri']);
        expectError(await api.post('/v1/check', checkBody(project, 'u', [uri], ['doc.read'])), 400, ['resource_uris']);
      }
    });

    it('list grants: user_id is required; pages of 2 cover every entry once, in creation order', async () => {
      const project = await newProject();
      const r = ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      expectError(await api.get(`/v1/grants?project_name=${project}`), 400, ['user_id']);
      expectError(await api.get(`/v1/grants?project_name=${project}&user_id=`), 400, ['user_id']);
      const uris = ['/z', '/a', '/m/n', '/', '/a/b', '/b', '/c'];
      for (const uri of uris) ok(await api.post('/v1/grants', { project_name: project, user_id: 'pager', resource_uri: uri, permissions: [r.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'other', resource_uri: '/q', permissions: [r.id] }));
      for (const size of [1, 2, 3]) {
        const walked = await collectPages(api, `/v1/grants?project_name=${project}&user_id=pager`, 'grants', size);
        expect(walked.map((g) => g.resource_uri)).toEqual(uris);
        for (const g of walked) expect(g).toEqual({ user_id: 'pager', resource_uri: g.resource_uri, permissions: [r.id], roles: [], windows: [] });
      }
      // Grants live in their project.
      const other = await newProject();
      ok(await api.post('/v1/permissions', { project_name: other, name: 'doc.read' }));
      expect(ok(await api.get(`/v1/grants?project_name=${other}&user_id=pager`)).total_items).toBe(0);
      expect(await check(other, 'pager', ['/z'], ['doc.read'])).toEqual(missingAll(['/z'], ['doc.read']));
    });
  });

  // ── check ────────────────────────────────────────────────────────────────────

  describe('check', () => {
    it('request validation: empty or missing lists, missing principal, wrong types → 400', async () => {
      const project = await newProject();
      const good = checkBody(project, 'u', ['/a'], ['x']);
      expectError(await api.post('/v1/check', { ...good, resource_uris: [] }), 400, ['resource_uris']);
      expectError(await api.post('/v1/check', { ...good, permissions: [] }), 400, ['permissions']);
      expectError(await api.post('/v1/check', { ...good, resource_uris: undefined }), 400, ['resource_uris']);
      expectError(await api.post('/v1/check', { ...good, permissions: undefined }), 400, ['permissions']);
      expectError(await api.post('/v1/check', { ...good, principal_id: undefined }), 400, ['principal_id']);
      expectError(await api.post('/v1/check', { ...good, principal_id: '' }), 400, ['principal_id']);
      expectError(await api.post('/v1/check', { ...good, principal_id: 7 }), 400, ['principal_id']);
      expectError(await api.post('/v1/check', { ...good, resource_uris: '/a' }), 400, ['resource_uris']);
      expectError(await api.post('/v1/check', { ...good, resource_uris: [1] }), 400, ['resource_uris']);
      expectError(await api.post('/v1/check', { ...good, permissions: 'x' }), 400, ['permissions']);
      expectError(await api.post('/v1/check', { ...good, permissions: [null] }), 400, ['permissions']);
      expectError(await api.post('/v1/check', { ...good, project_name: 3 }), 400, ['project_name']);
      expect(await check(project, 'u', ['/a'], ['x'])).toEqual(missingAll(['/a'], ['x']));
    });

    it('any invalid resource URI anywhere in the request → 400', async () => {
      const project = await newProject();
      for (const bad of ['/a/../b', '/a//b', '/.', 'rel', '/x\u0001']) {
        expectError(await api.post('/v1/check', checkBody(project, 'u', [bad, '/ok', '/ok2'], ['x'])), 400, ['resource_uris']);
        expectError(await api.post('/v1/check', checkBody(project, 'u', ['/ok', bad, '/ok2'], ['x'])), 400, ['resource_uris']);
        expectError(await api.post('/v1/check', checkBody(project, 'u', ['/ok', '/ok2', bad], ['x'])), 400, ['resource_uris']);
      }
    });

    it('10,000 pairs are answered; 10,001 (as sent, duplicates included) → 400 giving the limit and the count', async () => {
      const project = await newProject();
      const perms = Array.from({ length: 100 }, (_, i) => `perm.${i}`);
      const uris = Array.from({ length: 100 }, (_, i) => `/res/${i}`);
      // Hold every permission on the even resources.
      for (const p of perms) ok(await api.post('/v1/permissions', { project_name: project, name: p }));
      for (let i = 0; i < 100; i += 2) ok(await api.post('/v1/grants', { project_name: project, user_id: 'big', resource_uri: uris[i], permissions: perms }));
      const got = await check(project, 'big', uris, perms);
      expect(got).toEqual({
        passed: false,
        missing_permissions: uris.filter((_, i) => i % 2 === 1).map((resource_uri) => ({ resource_uri, missing_permissions: perms })),
      });
      expect(await check(project, 'big', uris.filter((_, i) => i % 2 === 0), perms)).toEqual(PASS);
      expect((await check(project, 'nobody', Array.from({ length: 10_000 }, (_, i) => `/n/${i}`), ['perm.0'])).missing_permissions.length).toBe(10_000);

      const tooMany = [
        { uris: Array.from({ length: 10_001 }, (_, i) => `/n/${i}`), perms: ['perm.0'], count: 10_001 },
        { uris: ['/a'], perms: Array.from({ length: 10_001 }, (_, i) => `p.${i}`), count: 10_001 },
        { uris: Array.from({ length: 101 }, (_, i) => `/n/${i}`), perms: [...perms, 'perm.0'].slice(0, 100), count: 10_100 },
        { uris: Array.from({ length: 10_001 }, () => '/same'), perms: ['perm.0'], count: 10_001 },
        { uris: Array.from({ length: 5_001 }, () => '/same'), perms: ['perm.0', 'perm.0'], count: 10_002 },
      ];
      for (const t of tooMany) {
        const res = await api.post('/v1/check', checkBody(project, 'big', t.uris, t.perms));
        expectError(res, 400);
        expect(res.body.error.details, show(res)).toEqual([{ limit: 10_000, count: t.count }]);
        expect(res.body.error.message).toContain('10000');
        expect(res.body.error.message).toContain(String(t.count));
      }
    });

    it('a URI repeated with and without its trailing / is one resource, answered once at its first position, echoed as sent', async () => {
      const project = await newProject();
      ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      expect(await check(project, 'u', ['/x/', '/y', '/x', '/y/'], ['doc.read'])).toEqual(missingAll(['/x/', '/y'], ['doc.read']));
      expect(await check(project, 'u', ['/', '/'], ['doc.read', 'doc.read'])).toEqual(missingAll(['/'], ['doc.read']));
    });

    it('read-your-writes: every check after a 200 sees the write, across projects and workers', async () => {
      const projects = [await newProject(), await newProject(), await newProject(), await newProject()];
      for (const p of projects) ok(await api.post('/v1/permissions', { project_name: p, name: 'doc.read' }));
      for (let i = 0; i < 15; i++) {
        for (const p of projects) {
          const uri = `/ryw/${i}`;
          ok(await api.post('/v1/grants', { project_name: p, user_id: 'ryw', resource_uri: uri, permissions: ['doc.read'] }));
          expect(await check(p, 'ryw', [`${uri}/x`], ['doc.read'])).toEqual(PASS);
          ok(await api.del('/v1/grants', { project_name: p, user_id: 'ryw', resource_uri: uri, permissions: ['doc.read'] }));
          expect(await check(p, 'ryw', [`${uri}/x`], ['doc.read'])).toEqual(missingAll([`${uri}/x`], ['doc.read']));
        }
      }
      // Concurrent writes: once all have answered, one check sees every one of them.
      const uris = Array.from({ length: 60 }, (_, i) => `/burst/${i}`);
      await inBatches(uris, 20, async (uri, i) =>
        ok(await api.post('/v1/grants', { project_name: projects[i % 4], user_id: 'burst', resource_uri: uri, permissions: ['doc.read'] })),
      );
      for (const [k, p] of projects.entries()) {
        expect(await check(p, 'burst', uris.filter((_, i) => i % 4 === k), ['doc.read'])).toEqual(PASS);
      }
      // A new permission is checkable at once; a deleted one is missing at once.
      const p0 = projects[0]!;
      const fresh = ok(await api.post('/v1/permissions', { project_name: p0, name: 'doc.fresh' }));
      ok(await api.post('/v1/grants', { project_name: p0, user_id: 'ryw', resource_uri: '/', permissions: [fresh.id] }));
      expect(await check(p0, 'ryw', ['/anything'], ['doc.fresh'])).toEqual(PASS);
      ok(await api.del(`/v1/permissions/${fresh.id}?project_name=${p0}`));
      expect(await check(p0, 'ryw', ['/anything'], ['doc.fresh'])).toEqual(missingAll(['/anything'], ['doc.fresh']));
    });

    it('the operator key and a project key check with organisation_id / their own project', async () => {
      const project = await newProject();
      ok(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'op', resource_uri: '/a', permissions: ['doc.read'] }));
      expect(ok(await admin.post('/v1/check', { ...checkBody(project, 'op', ['/a/b'], ['doc.read']), organisation_id: fx.orgId }))).toEqual(PASS);
      const pk = ok(await admin.post(`/v1/organisations/${fx.orgId}/apikeys`, { name: 'pk', project_name: project })).api_key.key;
      expect(ok(await as(pk).post('/v1/check', { principal_id: 'op', resource_uris: ['/a/b'], permissions: ['doc.read'] }))).toEqual(PASS);
    });
  });
});
