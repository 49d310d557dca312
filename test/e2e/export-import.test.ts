// Export and import (SPEC §9) against the real server: NDJSON over REST and streams over gRPC, round trips into another
// organisation, merge and replace, every kind of bad line (with its physical line number, nothing applied), the body
// limit, scopes, and checks answered while a large import runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Permio, PermioError } from '../../src/client/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { createKey, createOrg, expectErrorBody, ok } from '../helpers/expect-api.js';
import { grpcClient } from '../helpers/grpc-client.js';
import { openWatch } from '../helpers/watch.js';

let server: RunningServer;
let admin: Client;
const clients: Permio[] = [];

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_IMPORT_MAX_MB: '16' } });
  admin = client(server.httpUrl, server.adminKey);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  server?.cleanup();
});

function permio(transport: 'rest' | 'grpc', apiKey: string, organisationId?: string, project = 'default'): Permio {
  const c = new Permio({ url: server.httpUrl, grpcAddress: server.grpcAddress, apiKey, transport, organisationId, project });
  clients.push(c);
  return c;
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** `GET …:export` as text lines (the header's exported_at dropped, as two exports differ only there). */
async function exportLines(orgId: string, project = 'default', key = server.adminKey): Promise<{ status: number; type: string | null; lines: any[]; revision: string | null }> {
  const res = await fetch(`${server.httpUrl}/v1/organisations/${orgId}/projects/${project}:export`, { headers: auth(key) });
  const text = await res.text();
  const lines = text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l));
  return { status: res.status, type: res.headers.get('content-type'), lines, revision: res.headers.get('permio-revision') };
}

/** The records after the header: what must be equal between two projects holding the same state. */
const records = (lines: any[]) => lines.filter((l) => l.type !== 'header');

async function importText(orgId: string, body: string | Uint8Array, opts: { project?: string; mode?: string; key?: string } = {}) {
  const query = opts.mode === undefined ? '' : `?mode=${opts.mode}`;
  const res = await fetch(`${server.httpUrl}/v1/organisations/${orgId}/projects/${opts.project ?? 'default'}:import${query}`, {
    method: 'POST',
    headers: { ...auth(opts.key ?? server.adminKey), 'content-type': 'application/x-ndjson' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), revision: res.headers.get('permio-revision') };
}

const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

/** A project with permissions, a role, direct and role grants on several principals. */
async function seed(orgId: string): Promise<void> {
  const ref = { organisation_id: orgId, project_name: 'default' };
  ok(await admin.post('/v1/permissions', { ...ref, name: 'doc.read', description: 'Read documents' }));
  ok(await admin.post('/v1/permissions', { ...ref, name: 'doc.write' }));
  const del = ok(await admin.post('/v1/permissions', { ...ref, name: 'doc.delete' }));
  ok(await admin.post('/v1/roles', { ...ref, name: 'Editor', description: 'Edits', permissions: [del.id] }));
  const editor = ok(await admin.get(`/v1/roles?organisation_id=${orgId}&project_name=default`)).roles[0];
  ok(await admin.patch(`/v1/roles/${editor.id}`, { ...ref, permissions: [del.id] }));
  ok(await admin.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: '/teams/eng', permissions: ['doc.read'], roles: ['Editor'] }));
  ok(await admin.post('/v1/grants', { ...ref, user_id: 'bob', resource_uri: '/teams/eng/app1/', permissions: ['doc.write'] }));
  ok(await admin.post('/v1/grants', { ...ref, user_id: 'alice', resource_uri: '/', permissions: ['doc.write'] }));
  ok(await admin.post('/v1/grants', { ...ref, user_id: 'carol ü', resource_uri: '/a b/ü', roles: ['Editor'] }));
}

describe('export', () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = (await createOrg(admin, 'Export Co')).orgId;
    await seed(orgId);
  });

  it('streams NDJSON: the header, then permissions, roles and grants by name (not id)', async () => {
    const { status, type, lines, revision } = await exportLines(orgId);
    expect(status).toBe(200);
    expect(type).toBe('application/x-ndjson');
    const [header, ...rest] = lines;
    expect(Object.keys(header)).toEqual(['type', 'format', 'project_name', 'revision', 'exported_at']);
    expect(header).toMatchObject({ type: 'header', format: 'permio.export.v1', project_name: 'default', revision });
    expect(Date.parse(header.exported_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(rest).toEqual([
      { type: 'permission', name: 'doc.read', description: 'Read documents' },
      { type: 'permission', name: 'doc.write', description: '' },
      { type: 'permission', name: 'doc.delete', description: '' },
      { type: 'role', name: 'Editor', description: 'Edits', permissions: ['doc.delete'] },
      { type: 'grant', user_id: 'alice', resource_uri: '/', permissions: ['doc.write'], roles: [] },
      { type: 'grant', user_id: 'alice', resource_uri: '/teams/eng', permissions: ['doc.read'], roles: ['Editor'] },
      { type: 'grant', user_id: 'bob', resource_uri: '/teams/eng/app1', permissions: ['doc.write'], roles: [] },
      { type: 'grant', user_id: 'carol ü', resource_uri: '/a b/ü', permissions: [], roles: ['Editor'] },
    ]);
    expect(JSON.stringify(rest)).not.toMatch(/perm_|role_/);
  });

  it('an empty project exports its header alone; a project key exports its own project', async () => {
    const other = await createOrg(admin, 'Empty Co');
    const { lines } = await exportLines(other.orgId);
    expect(lines.map((l) => l.type)).toEqual(['header']);
    const projectKey = await createKey(admin, orgId, 'svc', 'default');
    expect(records((await exportLines(orgId, 'default', projectKey.key)).lines)).toHaveLength(8);
  });

  it('gRPC ExportProject streams the same records, one message each (the client reads both alike)', async () => {
    const viaRest = await all(permio('rest', server.adminKey, orgId).projects.export());
    const viaGrpc = await all(permio('grpc', server.adminKey, orgId).projects.export());
    // the call log's own writes may move the revision between the two exports: compare everything else
    expect(viaGrpc.map(withoutTime)).toEqual(viaRest.map(withoutTime).map((r: any) => (r.type === 'header' ? { ...r, revision: viaGrpc[0]!.revision } : r)));
    expect(viaGrpc).toHaveLength(9);
  });
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

const withoutTime = (r: any) => (r.type === 'header' ? { ...r, exported_at: undefined } : r);

describe.each(['rest', 'grpc'] as const)('import over %s', (transport) => {
  let source: string;
  beforeAll(async () => {
    source = (await createOrg(admin, `Source ${transport}`)).orgId;
    await seed(source);
  });

  it('export → import into another organisation gives an identical export (apart from exported_at) and the same checks', async () => {
    const target = await createOrg(admin, `Target ${transport}`);
    const from = permio(transport, server.adminKey, source);
    const to = permio(transport, target.orgKey, undefined);
    const exported = await all(from.projects.export());
    const answer = await to.projects.import({}, exported);
    expect(answer).toEqual({ imported: { permissions: 3, roles: 1, grants: 4 } });
    const again = await all(to.projects.export());
    expect(again.slice(1)).toEqual(exported.slice(1));
    expect({ ...again[0], exported_at: 0, revision: 0 }).toEqual({ ...exported[0], exported_at: 0, revision: 0 });
    const probe = { principal_id: 'alice', resource_uris: ['/teams/eng/x', '/teams/engineering', '/z'], permissions: ['doc.read', 'doc.delete', 'doc.write'] };
    expect(await to.check(probe)).toEqual(await from.check(probe));
  });

  it('answers with Permio-Revision once durable: a session read right after sees the import', async () => {
    const target = await createOrg(admin, `Durable ${transport}`);
    const to = permio(transport, target.orgKey);
    await to.projects.import({}, [
      { type: 'permission', name: 'p' },
      { type: 'grant', user_id: 'u', resource_uri: '/x', permissions: ['p'], roles: [] },
    ]);
    expect(await to.allowed('u', 'p', '/x/y')).toBe(true);
  });

  it('merge adds to the project; replace makes it exactly the file, in one step', async () => {
    const target = await createOrg(admin, `Modes ${transport}`);
    const to = permio(transport, target.orgKey);
    await to.projects.import({}, [
      { type: 'permission', name: 'old', description: 'kept by merge' },
      { type: 'permission', name: 'shared' },
      { type: 'role', name: 'R', permissions: ['old'] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['old'], roles: ['R'] },
      { type: 'grant', user_id: 'v', resource_uri: '/b', permissions: ['shared'], roles: [] },
    ]);
    const file = [
      { type: 'permission', name: 'shared', description: 'now described' },
      { type: 'permission', name: 'new' },
      { type: 'role', name: 'R', permissions: ['new'] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['new'], roles: [] },
    ];
    await to.projects.import({ mode: 'merge' }, file);
    expect(records(await all(to.projects.export()))).toEqual([
      { type: 'permission', name: 'old', description: 'kept by merge' },
      { type: 'permission', name: 'shared', description: 'now described' },
      { type: 'permission', name: 'new', description: '' },
      { type: 'role', name: 'R', description: '', permissions: ['old', 'new'] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['old', 'new'], roles: ['R'] },
      { type: 'grant', user_id: 'v', resource_uri: '/b', permissions: ['shared'], roles: [] },
    ]);
    const answer = await to.projects.import({ mode: 'replace' }, file);
    expect(answer).toEqual({ imported: { permissions: 2, roles: 1, grants: 1 } });
    expect(records(await all(to.projects.export()))).toEqual([
      { type: 'permission', name: 'shared', description: 'now described' },
      { type: 'permission', name: 'new', description: '' },
      { type: 'role', name: 'R', description: '', permissions: ['new'] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['new'], roles: [] },
    ]);
    expect(await to.allowed('v', 'shared', '/b')).toBe(false);
    expect(await to.allowed('u', 'new', '/a/1')).toBe(true);
    await to.projects.import({ mode: 'replace' }, []); // an empty file empties the project
    expect(records(await all(to.projects.export()))).toEqual([]);
  });

  it('a bad line deep in the file is a 400 naming its line; nothing is applied', async () => {
    const target = await createOrg(admin, `Atomic ${transport}`);
    const to = permio(transport, target.orgKey);
    const lines: unknown[] = [{ type: 'permission', name: 'p' }];
    for (let i = 0; i < 5000; i++) lines.push({ type: 'grant', user_id: `u${i}`, resource_uri: `/r/${i}`, permissions: ['p'], roles: [] });
    lines.push({ type: 'grant', user_id: 'x', resource_uri: '/x', permissions: ['nope'], roles: [] });
    const err = await to.projects.import({}, lines).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermioError);
    expect([(err as PermioError).status, (err as PermioError).details]).toEqual([400, [{ line: 5002, reason: "unknown permission 'nope'" }]]);
    expect(records(await all(to.projects.export()))).toEqual([]);
  });
});

describe('time windows (SPEC §8) in the file', () => {
  it('grant lines keep their windows: one line per distinct window on a URI, permanent entries first, times in UTC', async () => {
    const { orgId } = await createOrg(admin, 'Windows');
    const starts = '2031-01-01T01:00:00+01:00'; // written back in UTC
    const lines = [
      { type: 'permission', name: 'p' },
      { type: 'permission', name: 'q' },
      { type: 'role', name: 'R', permissions: ['q'] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], roles: [], starts_at: starts, expires_at: '2032-01-01T00:00:00Z' },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['q'], roles: [] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: [], roles: ['R'], expires_at: '2033-01-01T00:00:00Z' },
    ];
    expect((await importText(orgId, ndjson(lines))).status).toBe(200);
    expect(records((await exportLines(orgId)).lines).filter((l) => l.type === 'grant')).toEqual([
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['q'], roles: [] },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], roles: [], starts_at: '2031-01-01T00:00:00Z', expires_at: '2032-01-01T00:00:00Z' },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: [], roles: ['R'], expires_at: '2033-01-01T00:00:00Z' },
    ]);
    // granting an entry again replaces its window: the permanent line makes p permanent
    expect((await importText(orgId, ndjson([{ type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'] }]))).status).toBe(200);
    expect(records((await exportLines(orgId)).lines).filter((l) => l.type === 'grant')[0]).toEqual({ type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p', 'q'], roles: [] });
  });
});

describe('one entry on several lines', () => {
  it('adds up, whether the lines are next to each other or far apart, sorted or not', async () => {
    const { orgId } = await createOrg(admin, 'Repeats');
    const g = (user_id: string, resource_uri: string, permissions: string[]) => ({ type: 'grant', user_id, resource_uri, permissions });
    const lines = [{ type: 'permission', name: 'p' }, { type: 'permission', name: 'q' }, { type: 'permission', name: 'r' },
      g('a', '/x', ['p']), g('a', '/x', ['q']), g('b', '/x', ['p']), g('c', '/z', ['p']), g('b', '/x', ['r']), g('a', '/x', ['r']), g('a', '/w', ['p'])];
    expect((await importText(orgId, ndjson(lines))).body).toEqual({ imported: { permissions: 3, roles: 0, grants: 7 } });
    expect(records((await exportLines(orgId)).lines).filter((l) => l.type === 'grant')).toEqual([
      { type: 'grant', user_id: 'a', resource_uri: '/w', permissions: ['p'], roles: [] },
      { type: 'grant', user_id: 'a', resource_uri: '/x', permissions: ['p', 'q', 'r'], roles: [] },
      { type: 'grant', user_id: 'b', resource_uri: '/x', permissions: ['p', 'r'], roles: [] },
      { type: 'grant', user_id: 'c', resource_uri: '/z', permissions: ['p'], roles: [] },
    ]);
  });
});

describe('an ended window', () => {
  let clocked: RunningServer;
  beforeAll(async () => {
    clocked = await startServer({ env: { PERMIO_TEST_CLOCK: '1' } });
  });
  afterAll(async () => {
    await clocked?.stop();
    clocked?.cleanup();
  });

  it('is no grant: an entry whose window ended is left out of the export', async () => {
    const a = client(clocked.httpUrl, clocked.adminKey);
    const { orgId } = await createOrg(a, 'Clocked');
    const expires = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = ndjson([
      { type: 'permission', name: 'p' },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], expires_at: expires },
      { type: 'grant', user_id: 'v', resource_uri: '/b', permissions: ['p'] },
    ]);
    const res = await fetch(`${clocked.httpUrl}/v1/organisations/${orgId}/projects/default:import`, { method: 'POST', headers: auth(clocked.adminKey), body });
    expect(res.status).toBe(200);
    const grants = async () => {
      const text = await (await fetch(`${clocked.httpUrl}/v1/organisations/${orgId}/projects/default:export`, { headers: auth(clocked.adminKey) })).text();
      return text.trimEnd().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'grant').map((l) => l.user_id);
    };
    expect(await grants()).toEqual(['u', 'v']);
    expect((await a.post('/debug/clock?advance_ms=7200000')).status).toBe(200);
    expect(await grants()).toEqual(['v']);
  });

  it('imported windows are judged like granted ones: checks, lookups and the expiry sweep see them', async () => {
    const a = client(clocked.httpUrl, clocked.adminKey);
    const { orgId } = await createOrg(a, 'Clocked windows');
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = ndjson([
      { type: 'permission', name: 'p' },
      // ten hours ahead of the real clock: still ahead of this server's, which other tests of the file moved on
      { type: 'grant', user_id: 'soon', resource_uri: '/a', permissions: ['p'], starts_at: at(36_000_000) },
      { type: 'grant', user_id: 'now', resource_uri: '/a', permissions: ['p'], expires_at: at(36_000_000) },
    ]);
    const res = await fetch(`${clocked.httpUrl}/v1/organisations/${orgId}/projects/default:import`, { method: 'POST', headers: auth(clocked.adminKey), body });
    expect(res.status).toBe(200);
    const ref = { organisation_id: orgId, project_name: 'default' };
    const passes = async (user: string) => ok(await a.post('/v1/check', { ...ref, principal_id: user, resource_uris: ['/a/x'], permissions: ['p'] })).passed;
    const subjects = async () => ok(await a.post('/v1/lookup/subjects', { ...ref, resource_uri: '/a/x', permission: 'p' })).principal_ids;
    expect([await passes('soon'), await passes('now')]).toEqual([false, true]);
    expect(await subjects()).toEqual(['now']);
    ok(await a.post('/debug/clock?advance_ms=43200000')); // past the start of one and the end of the other
    expect([await passes('soon'), await passes('now')]).toEqual([true, false]);
    expect(await subjects()).toEqual(['soon']);
    // the writer removes the ended entry (GRANT_EXPIRED) within a second
    const deadline = Date.now() + 5000;
    while (ok(await a.get(`/v1/grants?organisation_id=${orgId}&project_name=default&user_id=now`)).grants.length > 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('windows of an import too large to carry between threads are swept too', async () => {
    const a = client(clocked.httpUrl, clocked.adminKey);
    const { orgId } = await createOrg(a, 'Clocked large');
    const expires = new Date(Date.now() + 1000 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'); // ahead of the clock others moved
    const lines: unknown[] = [{ type: 'permission', name: 'p' }];
    for (let i = 0; i < 10_001; i++) lines.push({ type: 'grant', user_id: `e${String(i).padStart(5, '0')}`, resource_uri: '/x', permissions: ['p'], expires_at: expires });
    const res = await fetch(`${clocked.httpUrl}/v1/organisations/${orgId}/projects/default:import`, { method: 'POST', headers: auth(clocked.adminKey), body: ndjson(lines) });
    expect(res.status).toBe(200);
    const watcher = await openWatch(clocked, 'rest', { organisation_id: orgId, project_name: 'default' }, { key: clocked.adminKey });
    expect((await watcher.next()).events).toEqual([]);
    ok(await a.post(`/debug/clock?advance_ms=${2000 * 3_600_000}`));
    // listings and checks leave ended entries out by themselves; the sweep's GRANT_EXPIRED events show the removal
    const expired = new Set<string>();
    await watcher.until((m) => {
      for (const e of m.events) if (e.type === 'GRANT_EXPIRED') expired.add(e.user_id);
      return expired.size === 10_001;
    }, 10_000);
    watcher.close();
  });
});

describe('bad lines (REST): each is a 400 with its physical line number, and nothing is applied', () => {
  let orgId: string;
  const header = { type: 'header', format: 'permio.export.v1', project_name: 'x', revision: 'r', exported_at: '2020-01-01T00:00:00Z' };
  const perm = { type: 'permission', name: 'p' };
  const grant = (extra: object) => ({ type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], roles: [], ...extra });
  const future = new Date(Date.now() + 3_600_000).toISOString();

  beforeAll(async () => {
    orgId = (await createOrg(admin, 'Bad lines')).orgId;
  });

  const cases: [string, unknown[], number, RegExp][] = [
    ['not JSON', [header, perm, '{"type":'], 3, /not valid JSON/],
    ['not an object', [perm, '[1,2]'], 2, /not a JSON object/],
    ['no type', [perm, { name: 'x' }], 2, /type/],
    ['an unknown type', [perm, { type: 'user', name: 'x' }], 2, /unknown type 'user'/],
    ['a header after the first line', [perm, header], 2, /header/],
    ['a header of another format', [{ ...header, format: 'other.v9' }], 1, /permio\.export\.v1/],
    ['a bad permission name', [{ type: 'permission', name: 'has space' }], 1, /name/],
    ['a permission defined twice', [perm, '', perm], 3, /already defined on line 1/],
    ['a role with an unknown permission', [perm, { type: 'role', name: 'R', permissions: ['zzz'] }], 2, /unknown permission 'zzz'/],
    ['a grant with an unknown role', [perm, '  ', grant({ roles: ['Ghost'] })], 3, /unknown role 'Ghost'/],
    ['a bad URI', [perm, grant({ resource_uri: '/a/../b' })], 2, /resource_uri/],
    ['a URI without a leading /', [perm, grant({ resource_uri: 'a' })], 2, /resource_uri/],
    ['an encoded dot segment', [perm, grant({ resource_uri: '/a/%2e%2e/b' })], 2, /resource_uri/],
    ['no principal', [perm, grant({ user_id: '' })], 2, /user_id/],
    ['permissions not a list', [perm, grant({ permissions: 'p' })], 2, /permissions/],
    ['neither permissions nor roles', [perm, grant({ permissions: [] })], 2, /both empty/],
    ['an unparseable time', [perm, grant({ expires_at: 'tomorrow' })], 2, /expires_at/],
    ['an expired window', [perm, grant({ expires_at: '2001-01-01T00:00:00Z' })], 2, /expires_at/],
    ['expires before it starts', [perm, grant({ starts_at: future, expires_at: new Date(Date.now() + 60_000).toISOString() })], 2, /starts_at/],
    ['a lone surrogate', [perm, '{"type":"grant","user_id":"\\ud800","resource_uri":"/a","permissions":["p"]}'], 2, /well-formed/],
  ];

  it.each(cases)('%s', async (_name, lines, line, reason) => {
    const res = await importText(orgId, ndjson(lines));
    expectErrorBody(res.body, 400, [`line ${line}`], JSON.stringify(res.body));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toHaveLength(1);
    expect(res.body.error.details[0].line).toBe(line);
    expect(res.body.error.details[0].reason).toMatch(reason);
    expect(records((await exportLines(orgId)).lines)).toEqual([]);
  });

  it('CRLF line ends, blank lines and a last line without a newline are fine; bytes split anywhere still count lines', async () => {
    const text = `${JSON.stringify(header)}\r\n\r\n${JSON.stringify(perm)}\r\n${JSON.stringify(grant({}))}`;
    const res = await importText(orgId, text);
    expect(res).toMatchObject({ status: 200, body: { imported: { permissions: 1, roles: 0, grants: 1 } } });
    expect(res.revision).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    ok(await admin.del(`/v1/organisations/${orgId}/projects/default`));
    ok(await admin.post(`/v1/organisations/${orgId}/projects`, { name: 'default' }));
  });

  it('mode other than merge or replace → 400', async () => {
    const res = await importText(orgId, ndjson([perm]), { mode: 'overwrite' });
    expectErrorBody(res.body, 400, ['mode'], '');
  });
});

describe('limits', () => {
  it('the 1 MiB body limit does not apply to imports; PERMIO_IMPORT_MAX_MB does (413, nothing applied)', async () => {
    const { orgId } = await createOrg(admin, 'Big files');
    const lines: unknown[] = [{ type: 'permission', name: 'p' }];
    for (let i = 0; i < 30_000; i++) lines.push({ type: 'grant', user_id: `user-${i}`, resource_uri: `/tenants/${i % 100}/docs/${i}`, permissions: ['p'], roles: [] });
    const body = ndjson(lines);
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    expect((await importText(orgId, body)).body).toEqual({ imported: { permissions: 1, roles: 0, grants: 30_000 } });

    const grantsOnly = new TextEncoder().encode(ndjson(lines.slice(1))); // repeated: no line is a second definition
    const huge = Buffer.concat(Array.from({ length: 8 }, () => grantsOnly)); // > 16 MiB (the test server's limit)
    expect(huge.length).toBeGreaterThan(16 * 1024 * 1024);
    const { orgId: other } = await createOrg(admin, 'Too big');
    const res = await importText(other, huge);
    expect(res.status).toBe(413);
    expectErrorBody(res.body, 413, [], '');
    expect(records((await exportLines(other)).lines)).toEqual([]);
    // streamed without a length (chunked): refused as it passes the limit
    const chunked = await fetch(`${server.httpUrl}/v1/organisations/${other}/projects/default:import`, {
      method: 'POST',
      headers: auth(server.adminKey),
      body: (async function* () {
        for (let i = 0; i < 8; i++) yield grantsOnly;
      })(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(records((await exportLines(other)).lines)).toEqual([]);
  });
});

describe('a small PERMIO_IMPORT_MAX_MB', () => {
  let small: RunningServer;
  beforeAll(async () => {
    small = await startServer({ env: { PERMIO_IMPORT_MAX_MB: '0.05' } }); // 52,428 bytes
  });
  afterAll(async () => {
    await small?.stop();
    small?.cleanup();
  });

  it('bounds the gRPC stream in total (RESOURCE_EXHAUSTED) as it bounds the REST body (413); nothing is applied', async () => {
    const a = client(small.httpUrl, small.adminKey);
    const { orgId } = await createOrg(a, 'Small');
    const lines = [{ type: 'permission', name: 'p' }, ...Array.from({ length: 2000 }, (_, i) => ({ type: 'grant', user_id: `u${i}`, resource_uri: `/r/${i}`, permissions: ['p'] }))];
    const g = new Permio({ url: small.httpUrl, grpcAddress: small.grpcAddress, apiKey: small.adminKey, transport: 'grpc', organisationId: orgId });
    const r = new Permio({ url: small.httpUrl, apiKey: small.adminKey, organisationId: orgId });
    try {
      const viaGrpc = (await g.projects.import({}, lines).catch((e: unknown) => e)) as PermioError;
      expect([viaGrpc.status, viaGrpc.code]).toEqual([413, 'RESOURCE_EXHAUSTED']);
      const viaRest = (await r.projects.import({}, lines).catch((e: unknown) => e)) as PermioError;
      expect(viaRest.status).toBe(413);
      expect((await all(r.projects.export())).slice(1)).toEqual([]);
      expect(await g.projects.import({}, lines.slice(0, 100))).toEqual({ imported: { permissions: 1, roles: 0, grants: 99 } });
    } finally {
      g.close();
      r.close();
    }
  });
});

describe('scopes and errors', () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = (await createOrg(admin, 'Scopes')).orgId;
    ok(await admin.post(`/v1/organisations/${orgId}/projects`, { name: 'other' }));
  });

  it('a project key imports and exports its own project only (403 elsewhere); another organisation → 403', async () => {
    const projectKey = (await createKey(admin, orgId, 'svc', 'default')).key;
    expect((await importText(orgId, ndjson([{ type: 'permission', name: 'p' }]), { key: projectKey })).status).toBe(200);
    expect((await exportLines(orgId, 'default', projectKey)).status).toBe(200);
    const denied = await importText(orgId, ndjson([{ type: 'permission', name: 'p' }]), { key: projectKey, project: 'other' });
    expectErrorBody(denied.body, 403, [], '');
    expect((await exportLines(orgId, 'other', projectKey)).status).toBe(403);
    const stranger = await createOrg(admin, 'Stranger');
    expect((await exportLines(orgId, 'default', stranger.orgKey)).status).toBe(403);
    expect((await importText(orgId, ndjson([]), { key: stranger.orgKey })).status).toBe(403);
    expect(records((await exportLines(orgId, 'other')).lines)).toEqual([]);
  });

  it('unknown project or organisation → 404; no key → 401; wrong method → 405', async () => {
    expect((await exportLines(orgId, 'nope')).status).toBe(404);
    expect((await importText(orgId, ndjson([]), { project: 'nope' })).status).toBe(404);
    expect((await exportLines('org_unknown')).status).toBe(404);
    const anon = await fetch(`${server.httpUrl}/v1/organisations/${orgId}/projects/default:export`);
    expect(anon.status).toBe(401);
    expectErrorBody(await anon.json(), 401, [], '');
    const put = await fetch(`${server.httpUrl}/v1/organisations/${orgId}/projects/default:export`, { method: 'POST', headers: auth(server.adminKey) });
    expect(put.status).toBe(405);
  });

  it('over gRPC the same errors carry their status codes (client stream and server stream)', async () => {
    const g = grpcClient(server.grpcAddress, server.adminKey);
    try {
      const exp = await g.call('ExportProject', { organisation_id: orgId, project_name: 'nope' });
      expect(exp.code).toBe(5); // NOT_FOUND
      const imp = await g.call('ImportProject', { organisation_id: orgId, project_name: 'default', record: { type: 'permission', name: 'bad name' }, line: 7 });
      expect(imp.code).toBe(3); // INVALID_ARGUMENT
      expect(imp.body.error.details).toEqual([{ line: 7, reason: expect.stringMatching(/name/) }]);
      const anon = await grpcClient(server.grpcAddress).call('ImportProject', { organisation_id: orgId, project_name: 'default' });
      expect(anon.code).toBe(16); // UNAUTHENTICATED
    } finally {
      g.close();
    }
  });
});

describe('while a large import runs', () => {
  it('checks keep being answered, from the state before it until it commits', async () => {
    const { orgId, orgKey: key } = await createOrg(admin, "Busy");
    const ref = { organisation_id: orgId, project_name: 'default' };
    ok(await admin.post('/v1/permissions', { ...ref, name: 'read' }));
    ok(await admin.post('/v1/grants', { ...ref, user_id: 'before', resource_uri: '/x', permissions: ['read'] }));
    const lines: unknown[] = [{ type: 'permission', name: 'read' }];
    for (let i = 0; i < 150_000; i++) lines.push({ type: 'grant', user_id: `u${i % 5000}`, resource_uri: `/big/${i}`, permissions: ['read'] });
    const importing = importText(orgId, ndjson(lines), { key });
    let done = false;
    void importing.then(() => (done = true));
    const answered: boolean[] = [];
    const checker = client(server.httpUrl, key);
    while (!done) {
      const res = await checker.post('/v1/check', { project_name: 'default', principal_id: 'before', resource_uris: ['/x/1'], permissions: ['read'] });
      expect(res.status).toBe(200);
      answered.push(res.body.passed);
    }
    expect((await importing).body).toEqual({ imported: { permissions: 1, roles: 0, grants: 150_000 } });
    expect(answered.length).toBeGreaterThan(3);
    expect(answered.every(Boolean)).toBe(true);
    const after = ok(await checker.post('/v1/check', { project_name: 'default', principal_id: 'u17', resource_uris: ['/big/17'], permissions: ['read'] }));
    expect(after.passed).toBe(true);
  }, 120_000);
});

describe('Watch sees an import as one revision', () => {
  it('its events in order (schema, then grants); a large one too, read back from the change log', async () => {
    const { orgId } = await createOrg(admin, 'Watched');
    const live = await openWatch(server, 'rest', { organisation_id: orgId, project_name: 'default' }, { key: server.adminKey });
    expect((await live.next()).events).toEqual([]);
    const small = await importText(orgId, ndjson([
      { type: 'permission', name: 'p' },
      { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'] },
    ]));
    const [m] = await live.until((x) => x.revision === small.revision);
    expect(m.events.map((e: any) => e.type)).toEqual(['PERMISSION_CREATED', 'GRANT']);
    expect(m.events[1]).toEqual({ type: 'GRANT', user_id: 'u', resource_uri: '/a', permissions: [m.events[0].permission.id], roles: [] });

    const probe = { organisation_id: orgId, project_name: 'default', principal_id: 'u', resource_uris: ['/w/0/x'], permissions: ['p'] };
    expect(ok(await admin.post('/v1/check', probe)).passed).toBe(false); // u is loaded in its check worker now
    const lookup = { organisation_id: orgId, project_name: 'default', principal_id: 'u', permission: 'p' };
    expect(ok(await admin.post('/v1/lookup/resources', lookup)).resource_uris).toEqual(['/a']); // and its lookup cached
    const lines: unknown[] = [{ type: 'grant', user_id: 'u', resource_uri: '/w/0', permissions: ['p'] }];
    for (let i = 1; i < 12_000; i++) lines.push({ type: 'grant', user_id: `w${i}`, resource_uri: `/w/${i}`, permissions: ['p'] });
    const big = await importText(orgId, ndjson(lines));
    const got = await live.until((x) => x.revision === big.revision);
    expect(got[got.length - 1].events).toHaveLength(12_000);
    expect(got[got.length - 1].events[11_999]).toMatchObject({ type: 'GRANT', user_id: 'w11999', resource_uri: '/w/11999' });
    live.close();
    // and checks see the large import at once (its events were not replayed: the check worker reloaded the project)
    expect(ok(await admin.post('/v1/check', probe)).passed).toBe(true);
    expect(ok(await admin.post('/v1/lookup/resources', lookup)).resource_uris).toEqual(['/a', '/w/0']);
  });
});
