// Storage trouble is visible (SPEC §13): on a full disk — a real one, a small tmpfs mounted for the test — writes
// answer 503 saying so and /healthz says DEGRADED until a write succeeds again, and nothing acknowledged is lost; a
// data file that cannot be opened gives a log line naming it and exit code 1, not a silent crash.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, closeApiClients } from '../helpers/api.js';
import { createOrg, ok } from '../helpers/expect-api.js';
import { client } from '../helpers/http.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { serving, startNode, until } from '../helpers/cluster.js';
import { startNats } from '../helpers/nats.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/main.js');
const TMPFS_BYTES = 24 * 1024 * 1024;
const MAX_WRITES = 5000;

const started: RunningServer[] = [];
const mounts: string[] = [];

afterAll(async () => {
  closeApiClients();
  for (const s of started) await s.kill();
  for (const m of mounts) execFileSync('umount', [m]);
  for (const m of mounts) fs.rmSync(m, { recursive: true, force: true });
});

/** A fresh tmpfs of `bytes`, or why one cannot be mounted here (not root, no CAP_SYS_ADMIN). */
function mountTmpfs(bytes: number): string | { skip: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs (${String((err as Error).message).split('\n')[0]})` };
  }
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem of `dir` with `file` until the kernel says no more. */
function fill(file: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const fd = fs.openSync(file, 'w');
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  // the last bytes: a chunk may not have fit whole
  try {
    for (;;) fs.appendFileSync(file, Buffer.alloc(512, 1));
  } catch {}
}

const canMount = process.getuid?.() === 0;

describe.skipIf(!canMount)('a full disk (a tmpfs, mounted as root)', () => {
  it('writes 503 saying so, /healthz DEGRADED until a write succeeds; reads go on; nothing acknowledged is lost', async () => {
    const mount = mountTmpfs(TMPFS_BYTES);
    if (typeof mount !== 'string') return void console.warn(`skipped: ${mount.skip}`);
    const dataDir = path.join(mount, 'data');
    // no call log: its batches are writes too, and one landing after the disk is freed would end DEGRADED before ours
    const server = await startServer({ dataDir, env: { PERMIO_CALL_LOG: '0' } });
    started.push(server);
    const admin = client(server.httpUrl, server.adminKey);
    const { orgKey } = await createOrg(admin, 'full');
    const api = client(server.httpUrl, orgKey);
    ok(await api.post('/v1/permissions', { project_name: 'default', name: 'doc.read' }));

    const acknowledged: string[] = [];
    const grant = (uri: string) => api.post('/v1/grants', { project_name: 'default', user_id: 'u', resource_uri: uri, permissions: ['doc.read'] });
    for (let i = 0; i < 20; i++) {
      ok(await grant(`/before/${i}`));
      acknowledged.push(`/before/${i}`);
    }

    const filler = path.join(mount, 'filler');
    fill(filler);
    let refused: any;
    for (let i = 0; i < MAX_WRITES && refused === undefined; i++) {
      const uri = `/docs/${i}/${'x'.repeat(900)}`; // big grants: the free pages LMDB still has are used up fast
      const res = await grant(uri);
      if (res.status === 200) acknowledged.push(uri);
      else refused = res;
    }
    expect(refused, 'a write was refused before the disk was freed').toBeDefined();
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe(503);
    expect(refused.body.error.message).toMatch(/storage full|no space left/i);

    const health = await admin.get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'DEGRADED' });
    expect(health.body.reason).toMatch(/no space left/i);
    const grpcWrite = await apiClient(server, 'grpc', orgKey).post('/v1/grants', {
      project_name: 'default',
      user_id: 'g',
      resource_uri: `/grpc/${'y'.repeat(900)}`,
      permissions: ['doc.read'],
    });
    expect(grpcWrite.grpc?.code).toBe(14); // UNAVAILABLE
    expect(grpcWrite.grpc?.message).toMatch(/storage full/i);
    // reads are answered from what is stored
    const check = ok(await api.post('/v1/check', { project_name: 'default', principal_id: 'u', resource_uris: [acknowledged[0]], permissions: ['doc.read'] }));
    expect(check.passed).toBe(true);

    fs.rmSync(filler);
    expect((await admin.get('/healthz')).body.status, 'DEGRADED until a write succeeds').toBe('DEGRADED');
    const again = `/docs/after/${'z'.repeat(900)}`;
    ok(await grant(again));
    acknowledged.push(again);
    const healed = await admin.get('/healthz');
    expect(healed.status).toBe(200);
    expect(healed.body).toEqual({ status: 'SERVING' });

    await server.kill();
    const restarted = await startServer({ dataDir, adminKey: server.adminKey, env: { PERMIO_CALL_LOG: '0' } });
    started.push(restarted);
    const after = client(restarted.httpUrl, orgKey);
    const listed = ok(await after.get('/v1/grants?project_name=default&user_id=u&page_size=1000'));
    expect(listed.total_items).toBe(acknowledged.length);
    expect(new Set(listed.grants.map((g: any) => g.resource_uri))).toEqual(new Set(acknowledged));
  }, 120_000);
});

describe.skipIf(!canMount)('a full disk on one node of a cluster (a tmpfs, mounted as root)', () => {
  it('its writes 503 saying so at once, its /healthz DEGRADED; freed, it applies what the log holds', async () => {
    const mount = mountTmpfs(TMPFS_BYTES);
    if (typeof mount !== 'string') return void console.warn(`skipped: ${mount.skip}`);
    const nats = await startNats();
    const adminKey = `perms_api_${crypto.randomBytes(16).toString('hex')}`;
    const a = await startNode({ natsUrls: nats.url, id: 'a', adminKey, dataDir: path.join(mount, 'a') });
    const b = await startNode({ natsUrls: nats.url, id: 'b', adminKey });
    started.push(a.server, b.server);
    try {
      await Promise.all([serving(a), serving(b)]);
      const { orgId } = await createOrg(a.api, 'cluster-full');
      const ref = { organisation_id: orgId, project_name: 'default' };
      ok(await a.api.post('/v1/permissions', { ...ref, name: 'doc.read' }));

      const filler = path.join(mount, 'filler');
      fill(filler);
      let refused: any;
      const logged: string[] = []; // in the log, whatever a answered
      for (let i = 0; i < MAX_WRITES && refused === undefined; i++) {
        const uri = `/docs/${i}/${'x'.repeat(900)}`;
        const sentAt = Date.now();
        const res = await a.api.post('/v1/grants', { ...ref, user_id: 'u', resource_uri: uri, permissions: ['doc.read'] });
        logged.push(uri);
        if (res.status !== 200) refused = { ...res, ms: Date.now() - sentAt };
      }
      expect(refused?.status).toBe(503);
      expect(refused.body.error.message).toMatch(/storage full.*in the log/i);
      expect(refused.ms).toBeLessThan(10_000); // at once, not at the end of the write budget
      expect((await a.api.get('/healthz')).body).toMatchObject({ status: 'DEGRADED', node_id: 'a' });
      expect((await b.api.get('/healthz')).body).toMatchObject({ status: 'SERVING' }); // b's disk is fine

      fs.rmSync(filler);
      await until(async () => ((await a.api.get('/healthz')).body.status === 'SERVING' ? true : undefined), 'a to apply the log');
      for (const n of [a, b]) {
        const listed = ok(await n.api.get(`/v1/grants?organisation_id=${orgId}&project_name=default&user_id=u&page_size=1000`));
        expect(new Set(listed.grants.map((g: any) => g.resource_uri)), n.id).toEqual(new Set(logged));
      }
    } finally {
      await a.server.kill();
      await b.server.kill();
      await nats.cleanup();
    }
  }, 180_000);
});

/** Runs the server on `dataDir` until it exits; its exit code and output. */
function runUntilExit(dataDir: string): Promise<{ code: number | null; signal: string | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      PERMIO_HTTP_PORT: '0',
      PERMIO_GRPC_PORT: '0',
      PERMIO_DATA_DIR: dataDir,
      PERMIO_ADMIN_KEY: `perms_api_${crypto.randomBytes(16).toString('hex')}`,
      PERMIO_WORKERS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000); // it started after all: fails below
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    }),
  );
}

/** A data directory holding a real store, written and stopped cleanly. */
async function realStore(): Promise<string> {
  const server = await startServer();
  const admin = client(server.httpUrl, server.adminKey);
  const { orgId } = await createOrg(admin, 'stored');
  for (let i = 0; i < 50; i++) ok(await admin.post('/v1/permissions', { organisation_id: orgId, project_name: 'default', name: `p.${i}` }));
  expect(await server.stop()).toBe(0);
  return server.dataDir;
}

describe('a data file that cannot be opened', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const damaged: [string, (file: string) => void][] = [
    ['is a directory', (file) => fs.mkdirSync(file)],
    ['is truncated', (file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
    ['has a garbled header', (file) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, crypto.randomBytes(8192), 0, 8192, 0);
      fs.closeSync(fd);
    }],
    ['has a garbled root page', (file) => {
      // every page after the two meta pages: the roots the meta pages name hold garbage
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, crypto.randomBytes(size - 8192), 0, size - 8192, 8192);
      fs.closeSync(fd);
    }],
  ];

  it.each(damaged)('that %s: a log line naming it, exit code 1', async (_what, damage) => {
    const dir = _what === 'is a directory' ? fs.mkdtempSync(path.join(os.tmpdir(), 'permio-bad-')) : await realStore();
    dirs.push(dir);
    const file = path.join(dir, 'data.mdb');
    if (_what === 'is a directory') fs.mkdirSync(dir, { recursive: true });
    damage(file);
    const { code, signal, output } = await runUntilExit(dir);
    expect(signal, output).toBeNull();
    expect(code, output).toBe(1);
    const line = output.split('\n').find((l) => l.includes('startup failed'));
    expect(line, output).toBeDefined();
    expect(JSON.parse(line!).msg).toContain(file);
  }, 60_000);
});
