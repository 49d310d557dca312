// The main thread's cache of check answers: a repeated check is answered without a worker hop, never stale after a
// write (grant, revoke, role edit, permission rename or delete), and repeated checks may be pipelined on one
// connection (uWS can answer pipelined requests only from the request's own microtasks); PERMIO_CHECK_CACHE_MB=0
// turns it off.
import net from 'node:net';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { createOrg, ok } from '../helpers/expect-api.js';

const PROJECT = 'default';
const started: RunningServer[] = [];

interface Fixture {
  server: RunningServer;
  api: Client;
  orgKey: string;
  perm: Record<string, string>;
  roleId: string;
}

async function setUp(env: Record<string, string> = {}): Promise<Fixture> {
  const server = await startServer({ env });
  started.push(server);
  const { orgKey } = await createOrg(client(server.httpUrl, server.adminKey));
  const api = client(server.httpUrl, orgKey);
  const perm: Record<string, string> = {};
  for (const name of ['read', 'write']) perm[name] = ok(await api.post('/v1/permissions', { project_name: PROJECT, name })).id;
  const roleId = ok(await api.post('/v1/roles', { project_name: PROJECT, name: 'editor', permissions: [perm.write] })).id;
  ok(await api.post('/v1/grants', { project_name: PROJECT, user_id: 'alice', resource_uri: '/docs', permissions: ['read'] }));
  return { server, api, orgKey, perm, roleId };
}

function checkBody(permissions: string[], uris = ['/docs/1']) {
  return { project_name: PROJECT, principal_id: 'alice', resource_uris: uris, permissions };
}

async function passes(api: Client, permissions: string[]): Promise<boolean> {
  return ok(await api.post('/v1/check', checkBody(permissions))).passed;
}

async function cacheCount(f: Fixture, result: 'hit' | 'miss' | 'uncached'): Promise<number> {
  const text = await (await fetch(`${f.server.httpUrl}/metrics`)).text();
  return Number(new RegExp(`^permio_check_cache_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Writes `count` identical requests in one TCP write; resolves to the statuses and bodies answered, in order. */
function pipelined(baseUrl: string, key: string, body: object, count: number): Promise<{ status: number; body: string }[]> {
  const url = new URL(baseUrl);
  const json = JSON.stringify(body);
  const one =
    `POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  return new Promise((resolve) => {
    const answers: { status: number; body: string }[] = [];
    let buf = Buffer.alloc(0);
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(one.repeat(count)));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(done, 3_000);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (buf.length < end + 4 + length) break;
        answers.push({ status: Number(head.slice(9, 12)), body: buf.subarray(end + 4, end + 4 + length).toString() });
        buf = buf.subarray(end + 4 + length);
      }
      if (answers.length === count) done();
    });
    socket.on('error', () => undefined);
    socket.on('close', done);
  });
}

let f: Fixture;

beforeAll(async () => {
  f = await setUp();
}, 30_000);

afterAll(async () => {
  for (const s of started) {
    await s.kill();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
});

describe('check answer cache', () => {
  it('answers a repeated check from the cache', async () => {
    const hits = await cacheCount(f, 'hit');
    expect(await passes(f.api, ['read'])).toBe(true);
    expect(await passes(f.api, ['read'])).toBe(true);
    expect(await passes(f.api, ['read'])).toBe(true);
    expect(await cacheCount(f, 'hit')).toBeGreaterThanOrEqual(hits + 2);
  });

  it('is never stale after a grant, revoke, role edit, permission rename or delete', async () => {
    const { api, perm, roleId } = f;
    expect(await passes(api, ['write'])).toBe(false);
    expect(await passes(api, ['write'])).toBe(false); // cached
    ok(await api.post('/v1/grants', { project_name: PROJECT, user_id: 'alice', resource_uri: '/docs', roles: ['editor'] }));
    expect(await passes(api, ['write'])).toBe(true);
    expect(await passes(api, ['write'])).toBe(true); // cached
    ok(await api.patch(`/v1/roles/${roleId}`, { project_name: PROJECT, permissions: [perm.read] }));
    expect(await passes(api, ['write'])).toBe(false);
    ok(await api.patch(`/v1/permissions/${perm.read}`, { project_name: PROJECT, name: 'view' }));
    expect(await passes(api, ['read'])).toBe(false);
    expect(await passes(api, ['view'])).toBe(true);
    ok(await api.del('/v1/grants', { project_name: PROJECT, user_id: 'alice', resource_uri: '/docs', permissions: ['view'] }));
    expect(await passes(api, ['view'])).toBe(true); // still held through the role
    ok(await api.del(`/v1/permissions/${perm.read}?project_name=${PROJECT}`));
    expect(await passes(api, ['view'])).toBe(false);
  });

  it('a grant to one principal leaves the others cached, and the granted principal sees it', async () => {
    ok(await f.api.post('/v1/permissions', { project_name: PROJECT, name: 'share' }));
    const as = (who: string) => ({ project_name: PROJECT, principal_id: who, resource_uris: ['/docs/1'], permissions: ['share'] });
    expect(ok(await f.api.post('/v1/check', as('bob'))).passed).toBe(false);
    expect(ok(await f.api.post('/v1/check', as('carol'))).passed).toBe(false);
    ok(await f.api.post('/v1/grants', { project_name: PROJECT, user_id: 'bob', resource_uri: '/docs', permissions: ['share'] }));
    const hits = await cacheCount(f, 'hit');
    expect(ok(await f.api.post('/v1/check', as('carol'))).passed).toBe(false); // still cached
    expect(await cacheCount(f, 'hit')).toBe(hits + 1);
    expect(ok(await f.api.post('/v1/check', as('bob'))).passed).toBe(true); // bob's answers were dropped
  });

  it('keys permission lists exactly: names are not joined ambiguously', async () => {
    const a = ok(await f.api.post('/v1/check', checkBody(['x,y'])));
    const b = ok(await f.api.post('/v1/check', checkBody(['x', 'y'])));
    expect(a.missing_permissions[0].missing_permissions).toEqual(['x,y']);
    expect(b.missing_permissions[0].missing_permissions).toEqual(['x', 'y']);
  });

  it('answers pipelined repeated checks on one connection, in order', async () => {
    const body = checkBody(['write', 'nope'], ['/docs/p', '/other']);
    const warm = ok(await f.api.post('/v1/check', body));
    const answers = await pipelined(f.server.httpUrl, f.orgKey, body, 5);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const a of answers) expect(JSON.parse(a.body)).toEqual(warm);
  });

  it('can be turned off', async () => {
    const off = await setUp({ PERMIO_CHECK_CACHE_MB: '0' });
    expect(await passes(off.api, ['read'])).toBe(true);
    expect(await passes(off.api, ['read'])).toBe(true);
    expect(await cacheCount(off, 'hit')).toBe(0);
    expect(await cacheCount(off, 'uncached')).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
