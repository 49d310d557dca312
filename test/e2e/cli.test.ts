// The `permio` CLI as a child process against the real server: stdout, stderr and exit codes (SPEC §10).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let server: RunningServer;
let workDir: string; // the CLI's working directory: no ./data/admin.key unless a test puts one there
let orgId: string;

/** Runs `permio ARGS` with `env` over a clean environment (no PERMIO_* from the test runner). */
function permio(args: string[], env: Record<string, string> = {}, cwd = workDir): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERMIO_') && !k.startsWith('npm_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `permio` with the server's URL and the operator key from the environment. */
const admin = (args: string[]) => permio(args, { PERMIO_URL: server.httpUrl, PERMIO_API_KEY: server.adminKey });
/** … scoped to the test organisation. */
const inOrg = (args: string[]) => admin(['--org', orgId, ...args]);
const json = (run: Run) => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
};

beforeAll(async () => {
  server = await startServer();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-cli-'));
  orgId = json(await admin(['--json', 'orgs', 'create', 'CLI Org', '--user', 'owner'])).organisation.id;
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('permio --help lists every command and global flag', async () => {
    const run = await permio(['--help']);
    expect(run.code).toBe(0);
    for (const word of ['serve', 'orgs', 'projects', 'keys', 'permissions', 'roles', 'grant', 'revoke', 'grants', 'check', 'explain', 'lookup', 'watch', 'export', 'import', 'backup']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${word}\\b`, 'm'));
    }
    for (const flag of ['--url', '--grpc', '--key', '--org', '--project', '--json']) expect(run.stdout).toContain(flag);
  });

  it('each command has its own help', async () => {
    const run = await permio(['grant', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: permio grant [options] <user> <uri>');
    for (const flag of ['--permission', '--role', '--starts-at', '--expires-at']) expect(run.stdout).toContain(flag);
    expect((await permio(['lookup', 'resources', '--help'])).stdout).toContain('--prefix');
  });

  it('usage errors exit 2: unknown command or flag, missing argument or required flag, no command', async () => {
    for (const args of [['bogus'], ['orgs', 'list', '--bogus'], ['check', 'alice'], ['check', 'alice', '/a'], ['orgs', 'create', 'x'], []]) {
      const run = await admin(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
    }
  });

  it('no API key from any source is a usage error (exit 2)', async () => {
    const run = await permio(['orgs', 'list'], { PERMIO_URL: server.httpUrl });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no API key/);
  });
});

describe('where the URL and key come from', () => {
  it('PERMIO_URL and PERMIO_API_KEY, or --url and --key', async () => {
    expect(json(await admin(['--json', 'orgs', 'get', orgId])).organisation.id).toBe(orgId);
    const flags = await permio(['--url', server.httpUrl, '--key', server.adminKey, '--json', 'orgs', 'get', orgId], { PERMIO_API_KEY: 'perms_api_wrong' });
    expect(json(flags).organisation.id).toBe(orgId);
  });

  it('./data/admin.key in the working directory when no key is given', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-cli-key-'));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'admin.key'), `${server.adminKey}\n`);
    const run = await permio(['--json', 'orgs', 'get', orgId], { PERMIO_URL: server.httpUrl }, dir);
    expect(json(run).organisation.id).toBe(orgId);
    fs.rmSync(dir, { recursive: true });
  });

  it('--grpc talks gRPC and prints the same JSON', async () => {
    const viaRest = json(await inOrg(['--json', 'projects', 'list']));
    const viaGrpc = json(await inOrg(['--grpc', server.grpcAddress, '--json', 'projects', 'list']));
    expect(viaGrpc).toEqual(viaRest);
  });
});

describe('commands', () => {
  it('orgs: tables by default, the API JSON with --json; lists merge every page into one document', async () => {
    const table = await admin(['orgs', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+PLAN/);
    expect(table.stdout).toContain(orgId);
    const listed = json(await admin(['--json', 'orgs', 'list']));
    expect(Object.keys(listed)).toEqual(['organisations', 'next_page_token', 'total_items']);
    expect(listed.next_page_token).toBe('');
    expect(listed.organisations).toHaveLength(listed.total_items);
  });

  it('projects and keys (an organisation key, or --project-key for --project)', async () => {
    expect(json(await inOrg(['--json', 'projects', 'create', 'mobile'])).project.name).toBe('mobile');
    expect(json(await inOrg(['--json', 'projects', 'list'])).projects.map((p: any) => p.name)).toEqual(['default', 'mobile']);
    const orgKey = json(await inOrg(['--json', 'keys', 'create', 'backend'])).api_key;
    expect(orgKey.project_name).toBe('');
    const projectKey = json(await inOrg(['--json', '--project', 'mobile', 'keys', 'create', 'app', '--project-key'])).api_key;
    expect(projectKey).toMatchObject({ project_name: 'mobile', key: expect.stringMatching(/^perms_api_/) });
    const human = await inOrg(['keys', 'create', 'shown-once']);
    expect(human.stdout).toMatch(/^key: perms_api_/m);
    expect(json(await inOrg(['--json', 'keys', 'invalidate', projectKey.id]))).toEqual({});
    const keys = json(await inOrg(['--json', 'keys', 'list'])).api_keys;
    expect(keys.find((k: any) => k.id === projectKey.id).invalidated).toBe(true);
    // an organisation key without --org: the key's own organisation
    const own = await permio(['--json', 'projects', 'list'], { PERMIO_URL: server.httpUrl, PERMIO_API_KEY: orgKey.key });
    expect(json(own).projects.map((p: any) => p.name)).toEqual(['default', 'mobile']);
    expect(json(await inOrg(['--json', 'projects', 'delete', 'mobile']))).toEqual({});
  });

  it('permissions, roles (permission names or ids), grant, grants list, revoke', async () => {
    const read = json(await inOrg(['--json', 'permissions', 'create', 'doc.read', '--description', 'Read documents']));
    expect(read).toMatchObject({ name: 'doc.read', description: 'Read documents' });
    json(await inOrg(['--json', 'permissions', 'create', 'doc.write']));
    expect(json(await inOrg(['--json', 'permissions', 'get', read.id]))).toEqual(read);
    const role = json(await inOrg(['--json', 'roles', 'create', 'Editor', '--permission', 'doc.write', '--permission', read.id]));
    expect(role.permissions.map((p: any) => p.name)).toEqual(['doc.write', 'doc.read']);
    expect((await inOrg(['roles', 'list'])).stdout).toMatch(/Editor\s+doc\.write,doc\.read/);

    expect(json(await inOrg(['--json', 'grant', 'alice', '/teams/eng', '--role', 'Editor']))).toEqual({});
    expect((await inOrg(['grant', 'alice', '/docs/1', '--permission', 'doc.read'])).stdout).toBe('granted to alice on /docs/1\n');
    const grants = json(await inOrg(['--json', 'grants', 'list', 'alice']));
    expect(grants.grants.map((g: any) => g.resource_uri)).toEqual(['/teams/eng', '/docs/1']);
    expect(grants.next_page_token).toBe('');
    expect(json(await inOrg(['--json', 'revoke', 'alice', '/docs/1', '--permission', 'doc.read']))).toEqual({});
    expect(json(await inOrg(['--json', 'grants', 'list', 'alice'])).total_items).toBe(1);
    expect(json(await inOrg(['--json', 'roles', 'delete', role.id]))).toEqual({});
    expect(json(await inOrg(['--json', 'permissions', 'list'])).permissions.map((p: any) => p.name)).toEqual(['doc.read', 'doc.write']);
  });

  it('check: exit 0 when every pair passes, 1 when denied; --json prints the API answer', async () => {
    json(await inOrg(['--json', 'grant', 'bob', '/teams/eng', '--permission', 'doc.read']));
    const passed = await inOrg(['check', 'bob', '/teams/eng/app1', '--permission', 'doc.read']);
    expect([passed.code, passed.stdout]).toEqual([0, 'allowed\n']);
    const denied = await inOrg(['check', 'bob', '/teams/eng/app1', '/teams/engineering', '--permission', 'doc.read', '--permission', 'doc.write']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^denied\n/);
    expect(denied.stdout).toMatch(/\/teams\/engineering\s+doc\.read,doc\.write/);
    const answer = await inOrg(['--json', 'check', 'bob', '/teams/engineering', '--permission', 'doc.read']);
    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.stdout)).toEqual({
      passed: false,
      missing_permissions: [{ resource_uri: '/teams/engineering', missing_permissions: ['doc.read'] }],
    });
  });

  it('explain, lookup resources|subjects and a windowed grant (SPEC §8), over REST and --grpc', async () => {
    json(await inOrg(['--json', 'permissions', 'create', 'lk.read']));
    json(await inOrg(['--json', 'grant', 'lena', '/lk/a', '--permission', 'lk.read']));
    json(await inOrg(['--json', 'grant', 'lena', '/lk/b', '--permission', 'lk.read', '--expires-at', '2099-01-01T00:00:00Z']));
    const listed = json(await inOrg(['--json', 'grants', 'list', 'lena']));
    expect(listed.grants[1].windows).toEqual([{ permission_id: expect.stringMatching(/^perm_/), expires_at: '2099-01-01T00:00:00Z' }]);
    for (const transport of [[], ['--grpc', server.grpcAddress]]) {
      expect(json(await inOrg([...transport, '--json', 'lookup', 'resources', 'lena', '--permission', 'lk.read', '--prefix', '/lk'])).resource_uris).toEqual(['/lk/a', '/lk/b']);
      expect(json(await inOrg([...transport, '--json', 'lookup', 'subjects', '/lk/a/x', '--permission', 'lk.read'])).principal_ids).toEqual(['lena']);
      const why = json(await inOrg([...transport, '--json', 'explain', 'lena', '/lk/b/doc', '--permission', 'lk.read']));
      expect(why.explanations).toEqual([
        { resource_uri: '/lk/b/doc', permission: 'lk.read', allowed: true, sources: [{ resource_uri: '/lk/b', role: null, expires_at: '2099-01-01T00:00:00Z' }] },
      ]);
    }
    expect((await inOrg(['lookup', 'resources', 'lena', '--permission', 'lk.read'])).stdout).toBe('/lk/a\n/lk/b\n');
  });

  it('an API error exits 3 with its message on stderr; --json puts the error body there', async () => {
    const run = await inOrg(['permissions', 'get', 'perm_nope']);
    expect([run.code, run.stdout]).toEqual([3, '']);
    expect(run.stderr).toContain("Not found: permission 'perm_nope' does not exist");
    const body = await inOrg(['--json', 'permissions', 'get', 'perm_nope']);
    expect(body.code).toBe(3);
    expect(JSON.parse(body.stderr)).toEqual({
      error: { code: 404, message: "Not found: permission 'perm_nope' does not exist", details: [{ resource: 'permission', id: 'perm_nope' }] },
    });
    const denied = await permio(['orgs', 'list'], { PERMIO_URL: server.httpUrl, PERMIO_API_KEY: 'perms_api_unknown' });
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/Unauthenticated/);
  });

  it('a server that cannot be reached exits 4', async () => {
    const rest = await permio(['orgs', 'list'], { PERMIO_URL: 'http://127.0.0.1:9', PERMIO_API_KEY: server.adminKey });
    expect(rest.code).toBe(4);
    expect(rest.stderr).toMatch(/cannot reach/);
    const grpc = await permio(['--grpc', '127.0.0.1:9', 'orgs', 'list'], { PERMIO_API_KEY: server.adminKey });
    expect(grpc.code).toBe(4);
  });
});

describe('export, import and backup', () => {
  it('export --out FILE, then import FILE into another organisation (and --replace) gives the same export', async () => {
    const ref = ['--project', 'default'];
    expect((await inOrg(['permissions', 'create', 'io.read', '--description', 'Read'])).code).toBe(0);
    expect((await inOrg(['grant', 'dora', '/io/a', '--permission', 'io.read'])).code).toBe(0);
    const file = path.join(workDir, 'export.ndjson');
    const exported = await inOrg([...ref, 'export', '--out', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'header', format: 'permio.export.v1', project_name: 'default' });
    expect(lines).toContainEqual({ type: 'grant', user_id: 'dora', resource_uri: '/io/a', permissions: ['io.read'], roles: [] });

    const other = json(await admin(['--json', 'orgs', 'create', 'CLI Import', '--user', 'owner'])).organisation.id;
    const imported = await admin(['--org', other, '--json', 'import', file]);
    expect(json(imported).imported).toMatchObject({ grants: lines.filter((l) => l.type === 'grant').length });
    const table = await admin(['--org', other, 'import', file, '--replace']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^PERMISSIONS\s+ROLES\s+GRANTS/);
    const again = await admin(['--org', other, 'export']);
    const relines = again.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(relines.slice(1)).toEqual(lines.slice(1));
  });

  it('import of a bad file exits 3 naming the line; a missing file is a usage error (2)', async () => {
    const file = path.join(workDir, 'bad.ndjson');
    fs.writeFileSync(file, '{"type":"permission","name":"ok"}\n\n{"type":"grant","user_id":"u","resource_uri":"/x","permissions":["nope"]}\n');
    const run = await inOrg(['import', file]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/line 3/);
    expect((await inOrg(['import', path.join(workDir, 'missing.ndjson')])).code).toBe(2);
  });

  it('backup --data-dir --out while the server runs; a server started on the copy serves the same state', async () => {
    const ref = { organisation_id: orgId, project_name: 'default' };
    const post = (p: string, body: object) =>
      fetch(`${server.httpUrl}${p}`, { method: 'POST', headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (let i = 0; i < 50; i++) expect((await post('/v1/grants', { ...ref, user_id: 'bk', resource_uri: `/bk/${i}`, permissions: ['io.read'] })).status).toBe(200);
    let writing = true;
    const during = (async () => {
      for (let i = 0; writing; i++) await post('/v1/grants', { ...ref, user_id: 'bk-during', resource_uri: `/d/${i}`, permissions: ['io.read'] });
    })();
    const out = path.join(workDir, 'backup');
    const run = await permio(['--json', 'backup', '--data-dir', server.dataDir, '--out', out]);
    writing = false;
    await during;
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).backup).toMatchObject({ data_dir: out });
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(out, 'data.mdb')).mode & 0o777).toBe(0o600);
    expect((await permio(['backup', '--data-dir', server.dataDir, '--out', out])).code).toBe(2); // not empty: refused

    const restored = await startServer({ dataDir: out, adminKey: server.adminKey });
    try {
      const exportOf = async (url: string) => {
        const text = await (await fetch(`${url}/v1/organisations/${orgId}/projects/default:export`, { headers: { authorization: `Bearer ${server.adminKey}` } })).text();
        return text.split('\n').slice(1).filter((l) => !l.includes('bk-during'));
      };
      const [copy, live] = await Promise.all([exportOf(restored.httpUrl), exportOf(server.httpUrl)]);
      expect(copy).toEqual(live); // every write acknowledged before the backup began is there (and the rest is consistent)
      expect(copy.filter((l) => l.includes('"bk"'))).toHaveLength(50);
    } finally {
      await restored.stop();
      restored.cleanup();
    }
  });
});
