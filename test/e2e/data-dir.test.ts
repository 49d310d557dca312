// SPEC §13 "One owner per data directory and port" and "Secrets at rest and in logs": real second servers on the
// same directory and ports, file modes as created, invitation tokens only as hashes and never in a log or an error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client } from '../helpers/http.js';
import { apiClient, closeApiClients, TRANSPORTS } from '../helpers/api.js';

const running: RunningServer[] = [];
const dirs: string[] = [];

async function start(opts: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const server = await startServer(opts);
  running.push(server);
  return server;
}

/** A server that must not start: resolves to what it printed before exiting with code 1. */
async function refusedStart(opts: Parameters<typeof startServer>[0]): Promise<string> {
  const err: Error = await startServer(opts).then(
    async (s) => {
      await s.stop();
      throw new Error('the second server started');
    },
    (e: Error) => e,
  );
  expect(err.message).toMatch(/server exited \(1\) during startup/);
  return err.message;
}

function freshDir(): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-dir-'));
  dirs.push(parent);
  return path.join(parent, 'data'); // does not exist yet: the server creates it
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

afterAll(async () => {
  closeApiClients();
  for (const s of running) await s.kill();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('one owner per data directory and port', () => {
  it('a second server on a data directory in use exits 1 naming it; kill -9 of the owner leaves it usable', async () => {
    const dataDir = freshDir();
    const first = await start({ dataDir });
    const out = await refusedStart({ dataDir });
    expect(out).toContain(`the data directory ${dataDir} is in use by another Permio server`);
    // the owner is untouched: still answering
    expect((await client(first.httpUrl).get('/healthz')).status).toBe(200);

    await first.kill(); // kill -9: no chance to release anything
    const next = await start({ dataDir, adminKey: first.adminKey });
    expect((await client(next.httpUrl).get('/healthz')).status).toBe(200);
    await next.stop();
    const after = await start({ dataDir, adminKey: first.adminKey }); // and after a clean stop
    expect((await client(after.httpUrl).get('/healthz')).status).toBe(200);
    await after.stop();
  });

  it('a second server on a REST or gRPC port in use fails to start instead of sharing it', async () => {
    const first = await start();
    const restPort = new URL(first.httpUrl).port;
    const grpcPort = first.grpcAddress.split(':')[1]!;
    expect(await refusedStart({ env: { PERMIO_HTTP_PORT: restPort } })).toContain(`cannot listen on port ${restPort}`);
    expect(await refusedStart({ env: { PERMIO_GRPC_PORT: grpcPort } })).toMatch(/EADDRINUSE|address already in use/i);
    // every request still reaches the one owner
    const api = client(first.httpUrl, first.adminKey);
    for (let i = 0; i < 20; i++) expect((await api.get('/v1/organisations')).status).toBe(200);
    await first.stop();
  });
});

describe('secrets at rest', () => {
  it('creates the data directory 0700 and its files 0600, admin.key included; tightens an older store', async () => {
    const dataDir = freshDir();
    const server = await start({ dataDir, adminKey: '' }); // no PERMIO_ADMIN_KEY: admin.key is made
    expect(mode(dataDir)).toBe('700');
    const files = fs.readdirSync(dataDir);
    expect(files).toEqual(expect.arrayContaining(['data.mdb', 'data.mdb-lock', 'admin.key']));
    for (const f of files) expect([f, mode(path.join(dataDir, f))]).toEqual([f, '600']);
    await server.stop();

    fs.chmodSync(path.join(dataDir, 'data.mdb'), 0o644); // as an older version left it
    const again = await start({ dataDir, adminKey: '' });
    expect(mode(path.join(dataDir, 'data.mdb'))).toBe('600');
    await again.stop();
  });
});

describe.each(TRANSPORTS)('invitation tokens over %s', (transport) => {
  it('are stored only as hashes and appear in no call log, error message or server log', async () => {
    const server = await start({ env: { PERMIO_CALL_LOG_CHECK_SAMPLE: '1' } });
    const admin = apiClient(server, transport, server.adminKey);
    const org = (await admin.post('/v1/organisations', { name: 'inviting', user_id: 'owner' })).body.organisation.id;
    const other = (await admin.post('/v1/organisations', { name: 'other', user_id: 'owner' })).body.organisation.id;
    const created = await admin.post(`/v1/organisations/${org}/invitations`, { email: 'new@example.com' });
    expect(created.status).toBe(200);
    const token: string = created.body.invitation.token;
    expect(token.length).toBeGreaterThanOrEqual(20);

    // an unknown token's 404 does not echo it, even to another organisation's key
    const otherKey = (await admin.post(`/v1/organisations/${other}/apikeys`, { name: 'k' })).body.api_key.key;
    const guess = `${token.slice(0, -4)}AAAA`;
    const unknown = await apiClient(server, transport, otherKey).post(`/v1/invitations/${guess}:accept`, { user_id: 'x' });
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).not.toContain(guess);
    expect(unknown.grpc?.message ?? '').not.toContain(guess);

    const accepted = await admin.post(`/v1/invitations/${token}:accept`, { user_id: 'newcomer' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.organisation.users.map((u: { id: string }) => u.id)).toContain('newcomer');
    expect((await admin.post(`/v1/invitations/${token}:accept`, { user_id: 'again' })).status).toBe(404); // used up

    // every call is in the log (the accept one with its route), and no entry holds the token
    const entries: any[] = [];
    for (const id of [org, other]) {
      for (let i = 0; i < 100; i++) {
        const res = await admin.get(`/v1/organisations/${id}/logs?page_size=1000`);
        const rpc = id === org ? 'AcceptInvitation' : 'CreateApiKey';
        if (res.body.logs.some((e: any) => e.rpc === rpc)) {
          entries.push(...res.body.logs);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const accepts = entries.filter((e) => e.rpc === 'AcceptInvitation');
    // the operator's own 404 names no organisation: it is in no organisation's log
    expect(accepts.map((e) => e.status).sort()).toEqual([200, 404]);
    if (transport === 'rest') for (const e of accepts) expect(e.route).toBe('POST /v1/invitations/{token}:accept');
    const logged = JSON.stringify(entries);
    expect(logged).toContain('CreateInvitation');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(guess);

    await server.stop();
    expect(server.output()).not.toContain(token);
    const stored = fs.readFileSync(path.join(server.dataDir, 'data.mdb'));
    expect(stored.includes(Buffer.from(token))).toBe(false);
    expect(stored.includes(Buffer.from('new@example.com'))).toBe(true); // the check could find a stored string
  });
});
