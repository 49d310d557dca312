// Durability and process life cycle: kill -9 right after a 200 loses nothing; SIGTERM/SIGINT exit 0;
// the generated operator key lives in admin.key (0600) and no secret reaches the log or the store (SPEC §1, §2, §4, §5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { client, type Client } from '../helpers/http.js';
import { createKey, createOrg, expectError, inBatches, ok } from '../helpers/expect-api.js';

/** Every server this file started, stopped and removed in afterAll. */
const started: RunningServer[] = [];
const dataDirs = new Set<string>();

async function start(opts: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const s = await startServer(opts);
  started.push(s);
  dataDirs.add(s.dataDir);
  return s;
}

let first: RunningServer;

beforeAll(async () => {
  first = await start();
});

afterAll(async () => {
  for (const s of started) await s.kill();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

function filesContaining(dir: string, secret: string): string[] {
  const needle = Buffer.from(secret);
  return filesUnder(dir).filter((f) => fs.statSync(f).size < 512 * 1024 * 1024 && fs.readFileSync(f).includes(needle));
}

const CHECKS = [
  { principal_id: 'alice', resource_uris: ['/docs/1', '/docs', '/', '/other', '/docs/secret/x'], permissions: ['doc.read', 'doc.write', 'doc.delete', 'document.share'] },
  { principal_id: 'bob', resource_uris: ['/teams/eng/app', '/teams/engineering'], permissions: ['doc.read', 'doc.write'] },
  { principal_id: 'carol', resource_uris: ['/x'], permissions: ['doc.read', 'gone.perm'] },
];

/** Everything observable about the organisation, read through the API. */
async function snapshot(admin: Client, orgId: string) {
  return {
    org: ok(await admin.get(`/v1/organisations/${orgId}`)),
    orgs: ok(await admin.get('/v1/organisations')),
    projects: ok(await admin.get(`/v1/organisations/${orgId}/projects`)),
    keys: ok(await admin.get(`/v1/organisations/${orgId}/apikeys`)),
    users: ok(await admin.get(`/v1/organisations/${orgId}/users`)),
    permissions: ok(await admin.get(`/v1/permissions?project_name=dur&organisation_id=${orgId}`)),
    roles: ok(await admin.get(`/v1/roles?project_name=dur&organisation_id=${orgId}`)),
    defaultPermissions: ok(await admin.get(`/v1/permissions?project_name=default&organisation_id=${orgId}`)),
    grants: await Promise.all(
      ['alice', 'bob', 'carol', 'zed'].map(async (u) => ok(await admin.get(`/v1/grants?project_name=dur&user_id=${u}&organisation_id=${orgId}`))),
    ),
    checks: await Promise.all(CHECKS.map(async (c) => ok(await admin.post('/v1/check', { ...c, project_name: 'dur', organisation_id: orgId })))),
  };
}

describe('kill -9 right after a 200 loses nothing', () => {
  it('organisations, projects, keys, users, permissions, roles, grants and checks survive a crash', async () => {
    const s = first;
    const admin = client(s.httpUrl, s.adminKey);
    const fx = await createOrg(admin, 'Durable Inc.', 'owner');
    ok(await admin.patch(`/v1/organisations/${fx.orgId}`, { name: 'Durable Corp.', rate_limit_per_minute: 100000 }));
    ok(await admin.post(`/v1/organisations/${fx.orgId}/users`, { user_id: 'bob', email: 'bob@acme.test' }));
    ok(await admin.post(`/v1/organisations/${fx.orgId}/users`, { user_id: 'gone', email: 'gone@acme.test' }));
    ok(await admin.del(`/v1/organisations/${fx.orgId}/users/gone`));
    const accepted = ok(await admin.post(`/v1/organisations/${fx.orgId}/invitations`, { email: 'dana@acme.test' })).invitation;
    ok(await admin.post(`/v1/invitations/${encodeURIComponent(accepted.token)}:accept`, { user_id: 'dana' }));
    const pending = ok(await admin.post(`/v1/organisations/${fx.orgId}/invitations`, { email: 'erin@acme.test' })).invitation;

    ok(await admin.post(`/v1/organisations/${fx.orgId}/projects`, { name: 'dur' }));
    ok(await admin.post(`/v1/organisations/${fx.orgId}/projects`, { name: 'doomed' }));
    const projectKey = await createKey(admin, fx.orgId, 'dur key', 'dur');
    const doomedKey = await createKey(admin, fx.orgId, 'doomed key', 'doomed');
    const revoked = await createKey(admin, fx.orgId, 'revoked');
    ok(await admin.del(`/v1/organisations/${fx.orgId}/apikeys/${revoked.id}`));
    ok(await admin.del(`/v1/organisations/${fx.orgId}/projects/doomed`));

    const api = client(s.httpUrl, fx.orgKey);
    const P = (name: string, description = '') => api.post('/v1/permissions', { project_name: 'dur', name, description });
    const read = ok(await P('doc.read', 'Read'));
    const write = ok(await P('doc.write'));
    const del = ok(await P('doc.delete'));
    const share = ok(await P('doc.share'));
    const gone = ok(await P('gone.perm'));
    ok(await api.post('/v1/permissions', { project_name: 'default', name: 'in.default' }));
    ok(await api.patch(`/v1/permissions/${share.id}`, { project_name: 'dur', name: 'document.share', description: 'Share' }));
    const editor = ok(await api.post('/v1/roles', { project_name: 'dur', name: 'Editor', permissions: [read.id, gone.id] }));
    ok(await api.patch(`/v1/roles/${editor.id}`, { project_name: 'dur', permissions: [read.id, write.id, gone.id] }));
    const temp = ok(await api.post('/v1/roles', { project_name: 'dur', name: 'Temp', permissions: [del.id] }));
    ok(await api.post('/v1/grants', { project_name: 'dur', user_id: 'alice', resource_uri: '/docs', roles: ['Editor'] }));
    ok(await api.post('/v1/grants', { project_name: 'dur', user_id: 'alice', resource_uri: '/docs/secret', permissions: ['doc.delete', 'document.share'] }));
    ok(await api.post('/v1/grants', { project_name: 'dur', user_id: 'alice', resource_uri: '/', permissions: [gone.id], roles: [temp.id] }));
    ok(await api.post('/v1/grants', { project_name: 'dur', user_id: 'bob', resource_uri: '/teams/eng', permissions: [read.id, write.id] }));
    ok(await api.post('/v1/grants', { project_name: 'dur', user_id: 'carol', resource_uri: '/x', permissions: [gone.id, read.id] }));
    ok(await api.del('/v1/grants', { project_name: 'dur', user_id: 'bob', resource_uri: '/teams/eng', permissions: [write.id] }));
    ok(await api.del(`/v1/roles/${temp.id}?project_name=dur`));
    ok(await api.del(`/v1/permissions/${gone.id}?project_name=dur`));

    // The last write: acknowledged, then the process is killed at once.
    const last = await api.post('/v1/grants', { project_name: 'dur', user_id: 'zed', resource_uri: '/final', permissions: [read.id, share.id] });
    expect(last.status).toBe(200);
    await s.kill();

    const s2 = await start({ dataDir: s.dataDir, adminKey: s.adminKey });
    const admin2 = client(s2.httpUrl, s2.adminKey);
    const api2 = client(s2.httpUrl, fx.orgKey);
    const after = await snapshot(admin2, fx.orgId);

    expect(after.org.organisation).toMatchObject({ id: fx.orgId, name: 'Durable Corp.', plan: 'enterprise', rate_limit_per_minute: 100000 });
    expect(after.org.organisation.users).toEqual([
      { id: 'owner', email: '' },
      { id: 'bob', email: 'bob@acme.test' },
      { id: 'dana', email: 'dana@acme.test' },
    ]);
    expect(after.orgs.organisations.map((o: any) => o.id)).toEqual([fx.orgId]);
    expect(after.projects.projects.map((p: any) => p.name)).toEqual(['default', 'dur']);
    expect(after.keys.api_keys.map((k: any) => [k.name, k.project_name, k.invalidated])).toEqual([
      ['org key', '', false],
      ['dur key', 'dur', false],
      ['doomed key', 'doomed', true],
      ['revoked', '', true],
    ]);
    expect(after.users.users.map((u: any) => u.id)).toEqual(['owner', 'bob', 'dana']);
    expect(after.permissions.permissions).toEqual([
      { ...read, description: 'Read' },
      write,
      del,
      { ...share, name: 'document.share', description: 'Share' },
    ]);
    expect(after.defaultPermissions.permissions.map((p: any) => p.name)).toEqual(['in.default']);
    expect(after.roles.roles).toEqual([{ ...editor, permissions: [read, write] }]);
    expect(after.grants[0]!.grants).toEqual([
      { user_id: 'alice', resource_uri: '/docs', permissions: [], roles: [editor.id], windows: [] },
      { user_id: 'alice', resource_uri: '/docs/secret', permissions: [del.id, share.id], roles: [], windows: [] },
    ]);
    expect(after.grants[1]!.grants).toEqual([{ user_id: 'bob', resource_uri: '/teams/eng', permissions: [read.id], roles: [], windows: [] }]);
    expect(after.grants[2]!.grants).toEqual([{ user_id: 'carol', resource_uri: '/x', permissions: [read.id], roles: [], windows: [] }]);
    expect(after.grants[3]!.grants).toEqual([{ user_id: 'zed', resource_uri: '/final', permissions: [read.id, share.id], roles: [], windows: [] }]);
    expect(after.checks).toEqual([
      {
        passed: false,
        missing_permissions: [
          { resource_uri: '/docs/1', missing_permissions: ['doc.delete', 'document.share'] },
          { resource_uri: '/docs', missing_permissions: ['doc.delete', 'document.share'] },
          { resource_uri: '/', missing_permissions: ['doc.read', 'doc.write', 'doc.delete', 'document.share'] },
          { resource_uri: '/other', missing_permissions: ['doc.read', 'doc.write', 'doc.delete', 'document.share'] },
        ],
      },
      { passed: false, missing_permissions: [{ resource_uri: '/teams/eng/app', missing_permissions: ['doc.write'] }, { resource_uri: '/teams/engineering', missing_permissions: ['doc.read', 'doc.write'] }] },
      { passed: false, missing_permissions: [{ resource_uri: '/x', missing_permissions: ['gone.perm'] }] },
    ]);
    expect(ok(await api2.post('/v1/check', { project_name: 'dur', principal_id: 'zed', resource_uris: ['/final/x'], permissions: ['doc.read', 'document.share'] }))).toEqual({
      passed: true,
      missing_permissions: [],
    });

    // Keys keep their state; the pending invitation still works; ids continue without reuse.
    expect(ok(await client(s2.httpUrl, projectKey.key).get('/v1/permissions')).total_items).toBe(4);
    expectError(await client(s2.httpUrl, revoked.key).get('/v1/permissions?project_name=dur'), 401);
    expectError(await client(s2.httpUrl, doomedKey.key).get('/v1/permissions'), 401);
    const erin = ok(await admin2.post(`/v1/invitations/${encodeURIComponent(pending.token)}:accept`, { user_id: 'erin' }));
    expect(erin.organisation.users.map((u: any) => u.id)).toEqual(['owner', 'bob', 'dana', 'erin']);
    const newer = ok(await api2.post('/v1/permissions', { project_name: 'dur', name: 'after.restart' }));
    expect([read.id, write.id, del.id, share.id, gone.id]).not.toContain(newer.id);
    const newOrg = ok(await admin2.post('/v1/organisations', { name: 'Second', user_id: 'u' })).organisation;
    expect(newOrg.id).not.toBe(fx.orgId);

    // A second crash right after more acknowledged writes.
    ok(await api2.del(`/v1/permissions/${write.id}?project_name=dur`));
    expect((await api2.post('/v1/grants', { project_name: 'dur', user_id: 'zed', resource_uri: '/final2', permissions: ['after.restart'] })).status).toBe(200);
    await s2.kill();
    const s3 = await start({ dataDir: s.dataDir, adminKey: s.adminKey });
    const api3 = client(s3.httpUrl, fx.orgKey);
    expect(ok(await api3.get('/v1/permissions?project_name=dur')).permissions.map((p: any) => p.name)).toEqual([
      'doc.read',
      'doc.delete',
      'document.share',
      'after.restart',
    ]);
    expect(ok(await api3.post('/v1/check', { project_name: 'dur', principal_id: 'zed', resource_uris: ['/final2/y'], permissions: ['after.restart'] })).passed).toBe(true);
    expect(ok(await api3.get(`/v1/roles/${editor.id}?project_name=dur`)).permissions).toEqual([{ ...read, description: 'Read' }]);
    await s3.stop();
  });

  it('every write acknowledged before a kill -9 in the middle of a burst is there after restart', async () => {
    const s = await start();
    const admin = client(s.httpUrl, s.adminKey);
    const fx = await createOrg(admin, 'Burst', 'owner');
    const api = client(s.httpUrl, fx.orgKey);
    ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));
    const uris = Array.from({ length: 400 }, (_, i) => `/burst/${i}`);
    const acked: string[] = [];
    let killing: Promise<void> | undefined;
    await inBatches(uris, 40, async (uri) => {
      if (killing) return;
      try {
        const res = await api.post('/v1/grants', { project_name: 'default', user_id: 'b', resource_uri: uri, permissions: ['doc.read'] });
        if (res.status === 200) acked.push(uri);
      } catch {
        // the connection died with the process: not acknowledged
      }
      if (acked.length >= 150 && !killing) killing = s.kill();
    });
    await killing;
    expect(acked.length).toBeGreaterThanOrEqual(150);

    const s2 = await start({ dataDir: s.dataDir, adminKey: s.adminKey });
    const res = ok(await client(s2.httpUrl, fx.orgKey).post('/v1/check', { project_name: 'default', principal_id: 'b', resource_uris: acked, permissions: ['doc.read'] }));
    expect(res).toEqual({ passed: true, missing_permissions: [] });
    const listed = ok(await client(s2.httpUrl, fx.orgKey).get('/v1/grants?project_name=default&user_id=b&page_size=1000'));
    const listedUris = new Set(listed.grants.map((g: any) => g.resource_uri));
    for (const uri of acked) expect(listedUris.has(uri), uri).toBe(true);
    await s2.stop();
  });
});

describe('shutdown', () => {
  it('SIGTERM: requests in flight are answered (never dropped or 5xx-crashed), the process exits 0, acknowledged data is intact', async () => {
    const s = await start();
    const admin = client(s.httpUrl, s.adminKey);
    const fx = await createOrg(admin, 'Term', 'owner');
    const api = client(s.httpUrl, fx.orgKey);
    ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));
    let firstAnswer!: () => void;
    const answered = new Promise<void>((r) => (firstAnswer = r));
    const inflight = Array.from({ length: 40 }, (_, i) =>
      api.post('/v1/grants', { project_name: 'default', user_id: 't', resource_uri: `/t/${i}`, permissions: ['doc.read'] }).then(
        (r) => (firstAnswer(), { uri: `/t/${i}`, status: r.status, body: r.body }),
        (e: unknown) => ({ uri: `/t/${i}`, status: 0, body: String(e) }),
      ),
    );
    await answered; // the server is busy with the burst: signal it now
    const code = await s.stop();
    expect(code).toBe(0);
    const results = await Promise.all(inflight);
    const acked = results.filter((r) => r.status === 200);
    expect(acked.length).toBeGreaterThan(0);
    for (const r of results) {
      // Refused after the signal: 503 with the error shape (or a closed connection); anything else is a failure.
      if (r.status === 200 || r.status === 0) continue;
      expect(r.status, JSON.stringify(r)).toBe(503);
      expect(r.body.error.code, JSON.stringify(r)).toBe(503);
    }
    expect(s.output()).toMatch(/"stopped"/);

    const s2 = await start({ dataDir: s.dataDir, adminKey: s.adminKey });
    const api2 = client(s2.httpUrl, fx.orgKey);
    expect(ok(await api2.get('/v1/permissions?project_name=default')).permissions.map((p: any) => p.name)).toEqual(['doc.read']);
    const res = ok(await api2.post('/v1/check', { project_name: 'default', principal_id: 't', resource_uris: acked.map((r) => r.uri), permissions: ['doc.read'] }));
    expect(res).toEqual({ passed: true, missing_permissions: [] });
    expect(await s2.stop()).toBe(0);
  });

  it('SIGINT also exits 0', async () => {
    const s = await start();
    ok(await client(s.httpUrl, s.adminKey).post('/v1/organisations', { name: 'Int', user_id: 'u' }));
    const exited = new Promise<number | null>((resolve) => s.process.once('exit', (c) => resolve(c)));
    s.process.kill('SIGINT');
    expect(await exited).toBe(0);
    const s2 = await start({ dataDir: s.dataDir, adminKey: s.adminKey });
    expect(ok(await client(s2.httpUrl, s2.adminKey).get('/v1/organisations')).organisations.map((o: any) => o.name)).toEqual(['Int']);
    await s2.stop();
  });
});

describe('the data directory', () => {
  it('is created if missing, also nested and with dots in its name, and reopens after a restart', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-dirs-'));
    dataDirs.add(parent);
    for (const dir of [path.join(parent, 'a', 'b', 'data'), path.join(parent, 'permio.data'), path.join(parent, 'v1.2', 'store.d')]) {
      expect(fs.existsSync(dir)).toBe(false);
      const s = await start({ dataDir: dir }).catch((e: Error) => {
        throw new Error(`PERMIO_DATA_DIR=${dir}: ${e.message}`);
      });
      expect(fs.statSync(dir).isDirectory()).toBe(true);
      const org = ok(await client(s.httpUrl, s.adminKey).post('/v1/organisations', { name: path.basename(dir), user_id: 'u' })).organisation;
      expect(await s.stop()).toBe(0);
      const s2 = await start({ dataDir: dir, adminKey: s.adminKey });
      expect(ok(await client(s2.httpUrl, s2.adminKey).get(`/v1/organisations/${org.id}`)).organisation.name).toBe(path.basename(dir));
      expect((await client(s2.httpUrl).get('/healthz')).status).toBe(200);
      expect(await s2.stop()).toBe(0);
    }
  });
});

describe('secrets', () => {
  it('without PERMIO_ADMIN_KEY, admin.key (0600) is created, works as the operator key, and is never logged', async () => {
    const s = await start({ env: { PERMIO_ADMIN_KEY: undefined as unknown as string } });
    const file = path.join(s.dataDir, 'admin.key');
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(file, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(22);
    expect(key).not.toBe(s.adminKey);
    const op = client(s.httpUrl, key);
    const org = ok(await op.post('/v1/organisations', { name: 'Keyed', user_id: 'u' })).organisation;
    expectError(await client(s.httpUrl, s.adminKey).get('/v1/organisations'), 401);
    expect(s.output()).not.toContain(key);
    expect(s.output()).toContain(file);
    // The store holds no copy of it.
    expect(filesContaining(s.dataDir, key).map((f) => path.basename(f))).toEqual(['admin.key']);
    expect(await s.stop()).toBe(0);
    expect(s.output()).not.toContain(key);

    // A restart reads the same file: the same key keeps working, the file is unchanged.
    const s2 = await start({ dataDir: s.dataDir, env: { PERMIO_ADMIN_KEY: undefined as unknown as string } });
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(key);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(ok(await client(s2.httpUrl, key).get(`/v1/organisations/${org.id}`)).organisation.name).toBe('Keyed');
    expect(s2.output()).not.toContain(key);
    await s2.stop();
  });

  it('PERMIO_ADMIN_KEY and API key secrets are never stored or logged; the startup line names the bound ports', async () => {
    const s = await start();
    const admin = client(s.httpUrl, s.adminKey);
    const fx = await createOrg(admin, 'Secretive', 'owner');
    const pk = await createKey(admin, fx.orgId, 'p', 'default');
    ok(await client(s.httpUrl, pk.key).get('/v1/permissions'));
    expectError(await client(s.httpUrl, 'perms_api_wrongguess').get('/v1/permissions'), 401);
    expect(await s.stop()).toBe(0);
    for (const secret of [s.adminKey, fx.orgKey, pk.key]) {
      expect(filesContaining(s.dataDir, secret), 'a secret is stored in the data directory').toEqual([]);
      expect(s.output()).not.toContain(secret);
    }
    expect(fs.existsSync(path.join(s.dataDir, 'admin.key'))).toBe(false);
    const port = new URL(s.httpUrl).port;
    const grpcPort = s.grpcAddress.split(':').pop()!;
    const listening = s.output().split('\n').find((l) => l.includes('"listening"'))!;
    expect(listening).toContain(port);
    expect(listening).toContain(grpcPort);
  });
});
