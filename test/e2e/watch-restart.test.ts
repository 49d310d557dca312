// Watch across restarts (SPEC §7, §10): kill -9 right after acknowledged writes, then a replay still has every one;
// a revision trimmed from the change log → 400 "revision no longer retained"; the client's watch over both
// transports, resuming after the server died without a gap or a duplicate; `permio watch` printing NDJSON.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Permio, PermioError } from '../../src/client/index.js';
import { trimChangeLog } from '../../src/store/change-log.js';
import { openStore } from '../../src/store/env.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { TRANSPORTS } from '../helpers/api.js';
import { createOrg, expectErrorBody, inBatches, ok } from '../helpers/expect-api.js';
import { openWatch } from '../helpers/watch.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');
const revisionOf = (token: string | null | undefined) => parseInt(String(token).split('_')[0]!, 36);
const P = { project_name: 'default' };
const running: RunningServer[] = [];

/** A port nobody listens on right now (so a restarted server can come back on the same one). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function start(dataDir?: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const s = await startServer({ dataDir, adminKey: running[0]?.adminKey, env });
  running.push(s);
  return s;
}

afterAll(async () => {
  for (const s of running) await s.kill();
  for (const s of running) s.cleanup();
});

/** Grants `count` fresh URIs to `user`, concurrently; the acknowledged tokens in revision order. */
async function grants(api: Client, user: string, count: number, tag: string): Promise<string[]> {
  const tokens = await inBatches([...Array(count).keys()], 20, async (i) => {
    const res = await api.post('/v1/grants', { ...P, user_id: user, resource_uri: `/${tag}/${i}`, permissions: ['doc.read'] });
    expect(res.status).toBe(200);
    return res.headers.get('permio-revision')!;
  });
  return tokens.sort((a, b) => revisionOf(a) - revisionOf(b));
}

describe('Watch across restarts', () => {
  it('kill -9 right after acknowledged writes: after a restart, a replay has every one of them', async () => {
    const first = await start();
    const admin = client(first.httpUrl, first.adminKey);
    const { orgKey } = await createOrg(admin, 'Restarts');
    let api = client(first.httpUrl, orgKey);
    ok(await api.post('/v1/permissions', { ...P, name: 'doc.read' }));
    const [from] = await grants(api, 'before', 1, 'before');
    const acknowledged = await grants(api, 'crash', 200, 'crash');
    await first.kill();
    const second = await start(first.dataDir);
    api = client(second.httpUrl, orgKey);
    for (const transport of TRANSPORTS) {
      const w = await openWatch(second, transport, { ...P, after_revision: from }, { key: orgKey });
      const got = await w.until((m) => m.events.length === 0);
      expect(got.slice(0, -1).map((m) => m.revision), transport).toEqual(acknowledged);
      expect(got.slice(0, -1).every((m) => m.events[0].user_id === 'crash')).toBe(true);
      w.close();
    }
  });

  it('an after_revision the change log no longer keeps → 400 "revision no longer retained"; later ones still replay', async () => {
    const s = running[running.length - 1]!;
    const admin = client(s.httpUrl, s.adminKey);
    const { orgKey } = await createOrg(admin, 'Retention');
    const api = client(s.httpUrl, orgKey);
    ok(await api.post('/v1/permissions', { ...P, name: 'doc.read' }));
    const old = await grants(api, 'old', 3, 'old');
    await s.stop();
    // what the writer's background trim does once entries are past retention and 24 h old, done here on the stopped store
    const store = openStore(s.dataDir, { readOnly: false });
    while (trimChangeLog(store, { retention: 1, now: Date.now() + 2 * 24 * 3600 * 1000, limit: 1000 }) > 0);
    await store.close();
    const again = await start(s.dataDir);
    const api2 = client(again.httpUrl, orgKey);
    const [kept] = await grants(api2, 'new', 1, 'new');
    for (const transport of TRANSPORTS) {
      const w = await openWatch(again, transport, { ...P, after_revision: old[0] }, { key: orgKey });
      const end = await w.ended;
      expectErrorBody(end.error, 400, ['no longer retained'], JSON.stringify(end));
      expect(end.code).toBe(transport === 'rest' ? 1008 : 3);
      // the newest entry is kept (retention 1): a replay from just before it works
      const ok2 = await openWatch(again, transport, { ...P, after_revision: old[2] }, { key: orgKey });
      expect((await ok2.until((m) => m.events.length === 0)).map((m) => m.revision)[0]).toBe(kept);
      ok2.close();
    }
  });
});

describe.each(TRANSPORTS)('the client watch over %s', (transport) => {
  it('yields the §7 messages, resumes after the server died without a gap or a duplicate, throws PermioError', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const env = { PERMIO_HTTP_PORT: String(httpPort), PERMIO_GRPC_PORT: String(grpcPort) };
    const s = await start(undefined, env);
    const { orgKey } = await createOrg(client(s.httpUrl, s.adminKey), `Client ${transport}`);
    const api = client(s.httpUrl, orgKey);
    ok(await api.post('/v1/permissions', { ...P, name: 'doc.read' }));
    const permio = new Permio({ url: s.httpUrl, apiKey: orgKey, transport, grpcAddress: `127.0.0.1:${grpcPort}` });
    try {
      const bad = await permio.watch({ after_revision: 'not a token!' })[Symbol.asyncIterator]().next().catch((e) => e);
      expect(bad).toBeInstanceOf(PermioError);
      expect(bad.status).toBe(400);

      const seen: any[] = [];
      const stream = permio.watch({ user_id: 'cw' })[Symbol.asyncIterator]();
      const nextEvent = async () => {
        for (;;) {
          const { value } = await stream.next();
          if (value.events.length > 0) return seen.push(value), value;
        }
      };
      expect((await stream.next()).value.events).toEqual([]); // live: every later write follows
      const [t1] = await grants(api, 'cw', 1, 'one');
      expect((await nextEvent()).revision).toBe(t1);
      await s.kill();
      const back = await start(s.dataDir, env);
      const more = await grants(client(back.httpUrl, orgKey), 'cw', 5, 'two');
      for (const t of more) expect((await nextEvent()).revision).toBe(t);
      expect(seen.map((m) => m.revision)).toEqual([t1, ...more]);
      await stream.return?.(undefined);
    } finally {
      permio.close();
    }
  });
});

describe('permio watch', () => {
  it('prints each message as one NDJSON line until interrupted, then exits 0', async () => {
    const s = running[running.length - 1]!;
    const { orgId } = await createOrg(client(s.httpUrl, s.adminKey), 'CLI watch');
    const admin = client(s.httpUrl, s.adminKey);
    ok(await admin.post('/v1/permissions', { ...P, organisation_id: orgId, name: 'doc.read' }));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERMIO_') && !k.startsWith('npm_')));
    const child = spawn(process.execPath, [CLI, '--json', '--org', orgId, 'watch', '--user', 'cli'], {
      env: { ...base, PERMIO_URL: s.httpUrl, PERMIO_API_KEY: s.adminKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const lines = () => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    const waitFor = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`CLI printed ${out} / ${err}`)), 10_000);
        const check = () => lines().length >= n && (clearTimeout(timer), resolve());
        child.stdout.on('data', (d) => ((out += d), check()));
        check();
      });
    await waitFor(1); // live
    expect(lines()[0].events).toEqual([]);
    const g = await admin.post('/v1/grants', { ...P, organisation_id: orgId, user_id: 'cli', resource_uri: '/c', permissions: ['doc.read'] });
    await waitFor(2);
    expect(lines()[1]).toEqual({ revision: g.headers.get('permio-revision'), committed_at: expect.any(String), events: [expect.objectContaining({ type: 'GRANT', user_id: 'cli', resource_uri: '/c' })] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
