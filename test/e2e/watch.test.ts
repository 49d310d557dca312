// Watch (SPEC §7) on a real server over both transports (WebSocket at GET /v1/watch, gRPC server stream): replay from
// several revisions against the acknowledged writes, the seam between replay and live under concurrent writes,
// filters by principal and by whole URI segments, the live message and heartbeats (test clock), the end after
// PROJECT_DELETED, the slow-consumer cut-off while writes go on, and the error shape of bad subscriptions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client, type HttpResult } from '../helpers/http.js';
import { TRANSPORTS, type Transport } from '../helpers/api.js';
import { createKey, createOrg, expectErrorBody, inBatches, ok, RFC3339_UTC, show } from '../helpers/expect-api.js';
import { openWatch, type WatchEnd, type WatchStream } from '../helpers/watch.js';

/** This server's tokens lead with the revision in base36 (tests may look; clients must not). */
const revisionOf = (token: string | null | undefined) => parseInt(String(token).split('_')[0]!, 36);
const tokenOf = (res: HttpResult) => res.headers.get('permio-revision')!;
const MAX_BUFFER_MB = 1;

let server: RunningServer;
let admin: Client;
let api: Client;
let orgId: string;
let orgKey: string;
const open: WatchStream[] = [];

/** A watcher on `project` (default `default`) with the organisation key; closed after the file. */
async function watch(transport: Transport, request: object = {}, key: string | null = orgKey): Promise<WatchStream> {
  const stream = await openWatch(server, transport, { project_name: 'default', ...request }, { key: key ?? undefined });
  open.push(stream);
  return stream;
}

/** Asserts a 200 with a revision; returns `[token, body]`. */
function written(res: HttpResult): [string, any] {
  expect(res.status, show(res)).toBe(200);
  return [tokenOf(res), res.body];
}

/**
 * The live ("registered") or heartbeat message: a revision at least `token` (the call log's own writes may move it
 * past the last write), a time, no events.
 */
function expectEmpty(m: any, token?: string): void {
  expect(m.events, JSON.stringify(m)).toEqual([]);
  expect(m.committed_at).toMatch(RFC3339_UTC);
  if (token !== undefined) expect(revisionOf(m.revision), JSON.stringify(m)).toBeGreaterThanOrEqual(revisionOf(token));
}

/** The stream ended with the error `status` (REST: one error object then close `wsCode`; gRPC: the mapped status). */
function expectEnded(end: WatchEnd, transport: Transport, status: number, wsCode = 1008): void {
  const grpcCode = { 400: grpc.status.INVALID_ARGUMENT, 401: grpc.status.UNAUTHENTICATED, 403: grpc.status.PERMISSION_DENIED, 404: grpc.status.NOT_FOUND, 413: grpc.status.RESOURCE_EXHAUSTED, 429: grpc.status.RESOURCE_EXHAUSTED }[status];
  expect(end.code, JSON.stringify(end)).toBe(transport === 'rest' ? wsCode : grpcCode);
  expectErrorBody(end.error, status, [], JSON.stringify(end));
}

const P = { project_name: 'default' };
const grant = (user: string, uri: string, permissions: string[]) => api.post('/v1/grants', { ...P, user_id: user, resource_uri: uri, permissions });

beforeAll(async () => {
  server = await startServer({ env: { PERMIO_TEST_CLOCK: '1', PERMIO_WATCH_MAX_BUFFER_MB: String(MAX_BUFFER_MB) } });
  admin = client(server.httpUrl, server.adminKey);
  ({ orgId, orgKey } = await createOrg(admin, 'Watchers'));
  api = client(server.httpUrl, orgKey);
});

afterAll(async () => {
  for (const s of open) s.close();
  await server?.kill();
  server?.cleanup();
});

describe.each(TRANSPORTS)('Watch over %s', (transport) => {
  it('starts at the current revision without after_revision: the live message, then each later write', async () => {
    const [perm] = written(await api.post('/v1/permissions', { ...P, name: `live.${transport}` }));
    const w = await watch(transport);
    expectEmpty(await w.next(), perm);
    const [g] = written(await grant('alice', '/live/', [`live.${transport}`]));
    const m = await w.next();
    expect(m.revision).toBe(g);
    expect(m.committed_at).toMatch(RFC3339_UTC);
    expect(m.events).toEqual([{ type: 'GRANT', user_id: 'alice', resource_uri: '/live', permissions: [expect.stringMatching(/^perm_/)], roles: [] }]);
  });

  it('replays every change after after_revision, in order, against the acknowledged writes, then goes live', async () => {
    // each acknowledged write with the message it must produce (undefined: a no-op, no message)
    const writes: [token: string, events: unknown[] | undefined][] = [];
    const [start] = written(await api.post('/v1/permissions', { ...P, name: `r.${transport}.start` }));
    const [t1, p1] = written(await api.post('/v1/permissions', { ...P, name: `r.${transport}.read` }));
    writes.push([t1, [{ type: 'PERMISSION_CREATED', permission: p1 }]]);
    const [t2, p1b] = written(await api.patch(`/v1/permissions/${p1.id}`, { ...P, description: 'reads' }));
    writes.push([t2, [{ type: 'PERMISSION_UPDATED', permission: p1b }]]);
    const [t3, role] = written(await api.post('/v1/roles', { ...P, name: `r.${transport}.reader`, permissions: [p1.id] }));
    writes.push([t3, [{ type: 'ROLE_CREATED', role }]]);
    const g = { ...P, user_id: 'bob', resource_uri: '/r/docs/', permissions: [p1.id], roles: [role.id] };
    const [t4] = written(await api.post('/v1/grants', g));
    writes.push([t4, [{ type: 'GRANT', user_id: 'bob', resource_uri: '/r/docs', permissions: [p1.id], roles: [role.id] }]]);
    const [t5] = written(await api.post('/v1/grants', g)); // held already: a revision, no message
    writes.push([t5, undefined]);
    const [t6] = written(await api.del('/v1/grants', { ...g, roles: [] }));
    writes.push([t6, [{ type: 'REVOKE', user_id: 'bob', resource_uri: '/r/docs', permissions: [p1.id], roles: [] }]]);
    const [t7] = written(await api.del(`/v1/roles/${role.id}?project_name=default`));
    writes.push([t7, [{ type: 'ROLE_DELETED', role }]]);
    const [t8] = written(await admin.patch(`/v1/organisations/${orgId}`, { name: 'Watchers' })); // outside any project
    writes.push([t8, undefined]);
    const [t9] = written(await api.del(`/v1/permissions/${p1.id}?project_name=default`));
    writes.push([t9, [{ type: 'PERMISSION_DELETED', permission: p1b }]]);
    const last = writes[writes.length - 1]![0];

    for (const [k, after] of [start, t1, t3, t5, t8, last].entries()) {
      const w = await watch(transport, { after_revision: after });
      const expected = writes.filter(([t, e]) => e !== undefined && revisionOf(t) > revisionOf(after));
      const got = await w.until((m) => m.events.length === 0);
      expect(got.slice(0, -1), `replay after write ${k}`).toEqual(expected.map(([revision, events]) => ({ revision, committed_at: expect.stringMatching(RFC3339_UTC), events })));
      expectEmpty(got[got.length - 1], last);
      const [later] = written(await grant('bob', `/r/after/${k}`, [`r.${transport}.start`]));
      expect((await w.next()).revision).toBe(later);
      writes.push([later, [expect.objectContaining({ type: 'GRANT' })]]);
    }
  });

  it('the seam under concurrent writes: every watcher sees every revision once, in order', async () => {
    const name = `seam.${transport}`;
    const [before] = written(await api.post('/v1/permissions', { ...P, name }));
    const WRITES = 300;
    const watchers: { w: WatchStream; from: Promise<string> }[] = [];
    // watchers join while the burst runs: some replay from before it, some start wherever live is
    const burst = inBatches([...Array(WRITES).keys()], 50, async (i) => {
      if (i % 60 === 10) watchers.push({ w: await watch(transport, { after_revision: before }), from: Promise.resolve(before) });
      if (i % 60 === 40) {
        const w = await watch(transport);
        watchers.push({ w, from: Promise.resolve((await w.next()).revision) }); // its live message says where it starts
      }
      return tokenOf(await grant(`seam-${i}`, `/seam/${i}`, [name]));
    });
    const acknowledged = (await burst).sort((a, b) => revisionOf(a) - revisionOf(b));
    expect(new Set(acknowledged).size).toBe(WRITES);
    const end = acknowledged[acknowledged.length - 1]!;
    expect(watchers.length).toBeGreaterThanOrEqual(8);
    for (const { w, from } of watchers) {
      const start = await from;
      const got = await w.until((m) => m.revision === end && m.events.length > 0);
      const events = got.filter((m) => m.events.length > 0);
      expect(events.map((m) => m.revision)).toEqual(acknowledged.filter((t) => revisionOf(t) > revisionOf(start)));
      const empties = got.filter((m) => m.events.length === 0);
      expect(empties.length).toBeLessThanOrEqual(1); // the live message (test clock: no heartbeats)
      for (let i = 1; i < got.length; i++) expect(revisionOf(got[i].revision)).toBeGreaterThanOrEqual(revisionOf(got[i - 1].revision));
    }
  });

  it('filters: user_id and resource_prefix keep grant events by principal and whole segments; schema events pass', async () => {
    const name = `f.${transport}`;
    const [start, perm] = written(await api.post('/v1/permissions', { ...P, name }));
    /** Every write after `start`: a grant `[user, uri]`, or a schema write (passes every filter). */
    const history: { token: string; grant?: [string, string] }[] = [];
    const grantAs = async (user: string, uri: string) => history.push({ token: written(await grant(user, uri, [name]))[0], grant: [user, uri] });
    const schemaWrite = async (description: string) => {
      const [token, updated] = written(await api.patch(`/v1/permissions/${perm.id}`, { ...P, description }));
      history.push({ token });
      return updated;
    };
    for (const [user, uri] of [['alice', '/a'], ['alice', '/ab'], ['alice', '/a/b'], ['bob', '/a/c'], ['alice', '/ab/c'], ['alice', '/'], ['alice', '/a-b']]) {
      await grantAs(user!, uri!);
    }
    const updated = await schemaWrite('filtered');
    const filters = [{ user_id: 'alice' }, { resource_prefix: '/a' }, { resource_prefix: '/a/' }, { resource_prefix: '/ab' }, { resource_prefix: '/' }, { user_id: 'alice', resource_prefix: '/a' }, { user_id: 'carol' }];
    const expected = (filter: object) => history.filter((h) => h.grant === undefined || matches(filter, h.grant)).map((h) => h.token);
    const first = history.length;
    // the test's own reading agrees with SPEC on the tricky ones
    expect(history.filter((h) => h.grant && matches({ resource_prefix: '/a' }, h.grant)).map((h) => h.grant![1])).toEqual(['/a', '/a/b', '/a/c']);
    for (const filter of filters) {
      const w = await watch(transport, { after_revision: start, ...filter });
      const got = await w.until((m) => m.events.length === 0);
      expect(got.slice(0, -1).map((m) => m.revision), JSON.stringify(filter)).toEqual(expected(filter));
      if (history.length === first) expect(got[got.length - 2].events).toEqual([{ type: 'PERMISSION_UPDATED', permission: updated }]);
      // live too: a matching grant, one that matches nothing, a schema write
      const from = history.length;
      await grantAs('alice', `/a/live${from}`);
      await grantAs('zed', `/zz/${from}`);
      await schemaWrite(`again ${from}`);
      const last = history[history.length - 1]!.token;
      const live = await w.until((m) => m.revision === last);
      const fresh = history.slice(from).filter((h) => h.grant === undefined || matches(filter, h.grant));
      expect(live.map((m) => m.revision), JSON.stringify(filter)).toEqual(fresh.map((h) => h.token));
    }
  });

  it('heartbeats: an idle stream gets the current revision every PERMIO_WATCH_HEARTBEAT_S; resuming from it yields the later writes', async () => {
    const name = `hb.${transport}`;
    const [t0] = written(await api.post('/v1/permissions', { ...P, name }));
    const w = await watch(transport, { user_id: 'nobody' });
    expectEmpty(await w.next(), t0);
    written(await admin.post(`/debug/clock?advance_ms=5000`)); // half a period: nothing
    const [t1] = written(await grant('somebody', '/hb', [name])); // filtered out, but the revision moves
    ok(await admin.post(`/debug/clock?advance_ms=5000`));
    const beat = await w.next(); // at or after t1: none came at half a period
    expectEmpty(beat, t1);
    const [t2] = written(await grant('nobody', '/hb', [name]));
    expect((await w.next()).revision).toBe(t2);
    ok(await admin.post(`/debug/clock?advance_ms=10000`));
    expectEmpty(await w.next(), t2);
    const resumed = await watch(transport, { after_revision: beat.revision });
    const got = await resumed.until((m) => m.events.length === 0);
    expect(got).toHaveLength(2); // every write after the heartbeat (one), then live
    expect(got[0].revision).toBe(t2);
    expectEmpty(got[1], t2);
  });

  it('ends after the project is deleted: PROJECT_DELETED, then close 1000 / OK', async () => {
    const project = `gone-${transport}`;
    ok(await api.post(`/v1/organisations/${orgId}/projects`, { name: project }));
    const [t0] = written(await api.post('/v1/permissions', { project_name: project, name: 'x' }));
    const w = await watch(transport, { project_name: project });
    expectEmpty(await w.next(), t0);
    const [gone] = written(await api.del(`/v1/organisations/${orgId}/projects/${project}`));
    expect(await w.next()).toEqual({ revision: gone, committed_at: expect.stringMatching(RFC3339_UTC), events: [{ type: 'PROJECT_DELETED' }] });
    expect(await w.ended).toEqual({ code: transport === 'rest' ? 1000 : grpc.status.OK });
    // a replay that reaches PROJECT_DELETED ends there too — on a project of the same name made since
    ok(await api.post(`/v1/organisations/${orgId}/projects`, { name: project }));
    const again = await watch(transport, { project_name: project });
    expectEmpty(await again.next());
    again.close();
  });

  it('a watcher that stops reading is cut off with a 429-shaped error while writes go on; the others keep up', async () => {
    const name = `slow.${transport}`;
    // big messages: each role update carries the role with 25 permissions of 1,000-character descriptions (~28 KB)
    const perms = await inBatches([...Array(25).keys()], 5, async (i) => ok(await api.post('/v1/permissions', { ...P, name: `${name}.${i}`, description: 'd'.repeat(1000) })).id);
    const role = ok(await api.post('/v1/roles', { ...P, name, permissions: perms }));
    const slow = await watch(transport);
    const fast = await watch(transport);
    await slow.next();
    await fast.next();
    slow.pause();
    const cutOffs = async () => Number(/^permio_watch_slow_consumers_total (\d+)/m.exec((await admin.get('/metrics')).body)?.[1] ?? 0);
    const before = await cutOffs();
    const tokens: string[] = [];
    let n = 0;
    const update = async () => tokens.push(written(await api.patch(`/v1/roles/${role.id}`, { ...P, description: `d${n++}` }))[0]);
    // batches of 20 (~560 KB, under the limit) that the reading watcher takes in full before the next one, so only the
    // paused one builds a backlog: past the limit plus what the kernel and HTTP/2 windows hold; then writes go on
    const batch = async (size: number) => {
      await inBatches([...Array(size).keys()], 5, update);
      const last = tokens.reduce((a, b) => (revisionOf(a) > revisionOf(b) ? a : b));
      await fast.until((m) => m.revision === last, 60_000);
    };
    while ((await cutOffs()) === before) {
      await batch(20);
      expect(tokens.length, 'writes without a cut-off').toBeLessThan(3000);
    }
    await batch(10);
    tokens.sort((a, b) => revisionOf(a) - revisionOf(b));
    expect(fast.messages.filter((m) => m.events.length > 0).map((m) => m.revision)).toEqual(tokens);
    slow.resume();
    expectEnded(await slow.ended, transport, 429, 1013);
    // what it got before has no gap: the first writes, in order
    const got = slow.messages.filter((m) => m.events.length > 0).map((m) => m.revision);
    expect(got.length).toBeLessThan(tokens.length);
    expect(got).toEqual(tokens.slice(0, got.length));
  }, 120_000);

  it('bad subscriptions get the error shape and the stream is closed', async () => {
    const projectKey = (await createKey(admin, orgId, `pk-${transport}`, 'default')).key;
    ok(await api.post(`/v1/organisations/${orgId}/projects`, { name: `other-${transport}` }));
    const cases: [string, object, string | null, number][] = [
      ['no key', {}, null, 401],
      ['an unknown key', {}, 'perms_api_unknown', 401],
      ['operator without organisation_id', {}, server.adminKey, 400],
      ['a malformed token', { after_revision: 'not a token!' }, orgKey, 400],
      ['a token never issued', { after_revision: '1_abcdefgh' }, orgKey, 400],
      ['a token ahead of every write', { after_revision: 'zzzzzz_abcdefgh' }, orgKey, 400],
      ['a bad resource_prefix', { resource_prefix: 'no-slash' }, orgKey, 400],
      ['a .. segment', { resource_prefix: '/a/../b' }, orgKey, 400],
      ['user_id of the wrong type', { user_id: 5 }, orgKey, 400],
      ['a project key on another project', { project_name: `other-${transport}` }, projectKey, 403],
      ['an unknown project', { project_name: 'nope' }, orgKey, 404],
      ['an unknown organisation', { organisation_id: 'org_nope' }, server.adminKey, 404],
    ];
    for (const [what, request, key, status] of cases) {
      if (transport === 'grpc' && what === 'user_id of the wrong type') continue; // a proto field holds only strings
      const w = await watch(transport, request, key);
      const end = await w.ended;
      expectEnded(end, transport, status);
      expect(w.messages, what).toEqual([]);
    }
    // the project key on its own project and the operator naming the organisation are fine
    expectEmpty(await (await watch(transport, {}, projectKey)).next());
    expectEmpty(await (await watch(transport, { organisation_id: orgId }, server.adminKey)).next());
  });
});

describe('Watch over REST only', () => {
  it('takes the key from the first message (browsers), which wins over the header', async () => {
    const ws = await openWatch(server, 'rest', { authorization: `Bearer ${orgKey}`, project_name: 'default' });
    open.push(ws);
    expectEmpty(await ws.next());
    const wrong = await openWatch(server, 'rest', { authorization: 'Bearer perms_api_nope', project_name: 'default' }, { key: orgKey });
    expectEnded(await wrong.ended, 'rest', 401);
    const typed = await openWatch(server, 'rest', { authorization: 42, project_name: 'default' }, { key: orgKey });
    expectEnded(await typed.ended, 'rest', 401);
  });

  it('a first message that is not a JSON object → 400 (after authentication: 401 first)', async () => {
    for (const first of ['not json', '[1,2]', '"text"', '{"project_name":', Buffer.from('{"project_name":"default"}')]) {
      const ws = await openWatch(server, 'rest', {}, { key: orgKey, firstMessage: first });
      expectEnded(await ws.ended, 'rest', 400);
      const anonymous = await openWatch(server, 'rest', {}, { firstMessage: first });
      expectEnded(await anonymous.ended, 'rest', 401);
    }
    const big = await openWatch(server, 'rest', {}, { key: orgKey, firstMessage: JSON.stringify({ project_name: 'default', pad: 'x'.repeat(1024 * 1024) }) });
    expectEnded(await big.ended, 'rest', 413);
  });

  it('a plain GET /v1/watch (no upgrade) → 400; other methods → 405', async () => {
    const plain = await api.get('/v1/watch?project_name=default');
    expect(plain.status, show(plain)).toBe(400);
    expectErrorBody(plain.body, 400, ['WebSocket'], show(plain));
    const post = await api.post('/v1/watch', {});
    expect(post.status, show(post)).toBe(405);
    const anonymous = await client(server.httpUrl).get('/v1/watch');
    expect(anonymous.status).toBe(401);
  });
});

/** Whether a grant `[user, uri]` passes `filter` (the test's own reading of SPEC §7). */
function matches(filter: { user_id?: string; resource_prefix?: string }, [user, uri]: string[]): boolean {
  if (filter.user_id !== undefined && filter.user_id !== user) return false;
  const p = filter.resource_prefix?.replace(/(.)\/$/, '$1');
  return p === undefined || p === '/' || uri === p || uri!.startsWith(`${p}/`);
}
