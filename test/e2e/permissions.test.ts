// Permissions and roles over both transports: 004 shapes, names, PATCH, cascades into roles and grants (SPEC §3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { apiClient, closeApiClients, TRANSPORTS, type ApiClient } from '../helpers/api.js';
import { collectPages, createKey, createOrg, expectError, ok, show, sortedKeys, type OrgFixture } from '../helpers/expect-api.js';

let server: RunningServer;
/** A client of the transport under test. */
let as: (key?: string) => ApiClient;
let admin: ApiClient;
let fx: OrgFixture;
let api: ApiClient; // organisation key
let projectSeq = 0;

const PERMISSION_KEYS = ['description', 'id', 'name', 'organisation_id', 'project_name'];
const ROLE_KEYS = ['description', 'id', 'name', 'organisation_id', 'permissions', 'project_name'];

beforeAll(async () => {
  server = await startServer();
  admin = apiClient(server, 'rest', server.adminKey);
  fx = await createOrg(admin, 'Perms Org', 'owner');
  api = apiClient(server, 'rest', fx.orgKey);
});

afterAll(async () => {
  closeApiClients();
  await server?.stop();
  server?.cleanup();
});

/** A fresh, empty project of the fixture organisation. */
async function newProject(): Promise<string> {
  const name = `p${++projectSeq}`;
  ok(await admin.post(`/v1/organisations/${fx.orgId}/projects`, { name }));
  return name;
}

async function createPermission(project: string, name: string, description?: string) {
  const body: Record<string, unknown> = { project_name: project, name };
  if (description !== undefined) body.description = description;
  return ok(await api.post('/v1/permissions', body));
}

async function check(project: string, principal: string, uris: string[], permissions: string[]) {
  return ok(await api.post('/v1/check', { project_name: project, principal_id: principal, resource_uris: uris, permissions }));
}

const PASS = { passed: true, missing_permissions: [] };

describe.each(TRANSPORTS)('over %s', (transport) => {
  beforeAll(() => {
    as = (key) => apiClient(server, transport, key);
    admin = as(server.adminKey);
    api = as(fx.orgKey);
  });

  describe('permissions', () => {
    it('create / get / list return the 004 shape exactly', async () => {
      const project = await newProject();
      const created = await createPermission(project, 'document.read', 'Permission to read document content');
      expect(sortedKeys(created)).toEqual(PERMISSION_KEYS);
      expect(created).toEqual({
        id: expect.stringMatching(/^perm_[A-Za-z0-9_-]+$/),
        organisation_id: fx.orgId,
        name: 'document.read',
        description: 'Permission to read document content',
        project_name: project,
      });
      const noDescription = await createPermission(project, 'document.write');
      expect(noDescription).toEqual({ id: expect.stringMatching(/^perm_/), organisation_id: fx.orgId, name: 'document.write', description: '', project_name: project });
      expect(noDescription.id).not.toBe(created.id);

      expect(ok(await api.get(`/v1/permissions/${created.id}?project_name=${project}`))).toEqual(created);
      expect(ok(await api.get(`/v1/permissions?project_name=${project}`))).toEqual({
        permissions: [created, noDescription],
        next_page_token: '',
        total_items: 2,
      });
    });

    it('names are unique per project, case-sensitive, in a namespace apart from roles (duplicate → 409)', async () => {
      const project = await newProject();
      const a = await createPermission(project, 'doc.read');
      expectError(await api.post('/v1/permissions', { project_name: project, name: 'doc.read' }), 409);
      expectError(await api.post('/v1/permissions', { project_name: project, name: 'doc.read', description: 'other' }), 409);
      const b = await createPermission(project, 'Doc.Read');
      const c = await createPermission(project, 'DOC.READ');
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      // Separate namespaces: a role may share a permission's name.
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'doc.read', permissions: [a.id] }));
      expect(role.name).toBe('doc.read');
      expectError(await api.post('/v1/roles', { project_name: project, name: 'doc.read' }), 409);
      ok(await api.post('/v1/roles', { project_name: project, name: 'Doc.Read' }));
      // Another project has its own namespace.
      const other = await newProject();
      expect((await createPermission(other, 'doc.read')).project_name).toBe(other);
      ok(await api.post('/v1/roles', { project_name: other, name: 'doc.read' }));
      const names = ok(await api.get(`/v1/permissions?project_name=${project}`)).permissions.map((p: any) => p.name);
      expect(names).toEqual(['doc.read', 'Doc.Read', 'DOC.READ']);
    });

    it('permission names: 1–128 of [A-Za-z0-9._:-]', async () => {
      const project = await newProject();
      const valid = ['a', 'Z', '0', 'document.read', 'billing:invoice-read_all', 'a.b.c:d-e_f', 'x'.repeat(128), '...', '-'];
      for (const name of valid) {
        const res = await api.post('/v1/permissions', { project_name: project, name });
        expect(ok(res).name, show(res)).toBe(name);
      }
      const invalid = ['', 'x'.repeat(129), 'a b', 'a/b', 'doc*', 'doc,read', 'é', 'doc\u0000', 'doc\n', 'a@b', 'a#b', 'a+b'];
      for (const name of invalid) expectError(await api.post('/v1/permissions', { project_name: project, name }), 400, ['name']);
      expectError(await api.post('/v1/permissions', { project_name: project }), 400, ['name']);
      expectError(await api.post('/v1/permissions', { project_name: project, name: 5 }), 400, ['name']);
      expectError(await api.post('/v1/permissions', { project_name: project, name: 'ok', description: 5 }), 400, ['description']);
      expect(ok(await api.get(`/v1/permissions?project_name=${project}`)).total_items).toBe(valid.length);
    });

    it('PATCH is partial: absent fields keep their value', async () => {
      const project = await newProject();
      const p = await createPermission(project, 'doc.read', 'Read');
      const q = await createPermission(project, 'doc.write', 'Write');
      const path = `/v1/permissions/${p.id}`;
      expect(ok(await api.patch(path, { project_name: project, description: 'Read documents' }))).toEqual({ ...p, description: 'Read documents' });
      expect(ok(await api.patch(path, { project_name: project, name: 'document.read' }))).toEqual({ ...p, name: 'document.read', description: 'Read documents' });
      expect(ok(await api.patch(path, { project_name: project }))).toEqual({ ...p, name: 'document.read', description: 'Read documents' });
      expect(ok(await api.patch(path, { project_name: project, description: '' }))).toEqual({ ...p, name: 'document.read', description: '' });
      const both = ok(await api.patch(path, { project_name: project, name: 'document.read.updated', description: 'Updated permission description' }));
      expect(both).toEqual({ ...p, name: 'document.read.updated', description: 'Updated permission description' });
      expect(ok(await api.get(`${path}?project_name=${project}`))).toEqual(both);
      // Renaming to its own name is fine; to another permission's name is a conflict.
      expect(ok(await api.patch(path, { project_name: project, name: 'document.read.updated' }))).toEqual(both);
      expectError(await api.patch(path, { project_name: project, name: 'doc.write' }), 409);
      expectError(await api.patch(path, { project_name: project, name: 'bad name' }), 400, ['name']);
      expectError(await api.patch(path, { project_name: project, name: '' }), 400, ['name']);
      expectError(await api.patch(path, { project_name: project, description: 42 }), 400, ['description']);
      expect(ok(await api.get(`${path}?project_name=${project}`))).toEqual(both);
      expect(ok(await api.get(`/v1/permissions/${q.id}?project_name=${project}`))).toEqual(q);
      // The freed name can be taken again.
      const again = await createPermission(project, 'doc.read');
      expect(again.id).not.toBe(p.id);
    });

    it('unknown ids → 404 on get, patch and delete (also an id of another project)', async () => {
      const project = await newProject();
      const other = await newProject();
      const foreign = await createPermission(other, 'x');
      for (const id of ['perm_doesnotexist', foreign.id]) {
        expectError(await api.get(`/v1/permissions/${id}?project_name=${project}`), 404);
        expectError(await api.patch(`/v1/permissions/${id}`, { project_name: project, description: 'x' }), 404);
        expectError(await api.del(`/v1/permissions/${id}?project_name=${project}`), 404);
      }
      expect(ok(await api.get(`/v1/permissions/${foreign.id}?project_name=${other}`))).toEqual(foreign);
    });

    it('ids are unique and never reused', async () => {
      const project = await newProject();
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const p = await createPermission(project, 'recycled');
        expect(seen.has(p.id)).toBe(false);
        seen.add(p.id);
        expect(ok(await api.del(`/v1/permissions/${p.id}?project_name=${project}`))).toEqual({});
        const r = ok(await api.post('/v1/roles', { project_name: project, name: 'recycled' }));
        expect(r.id).toMatch(/^role_/);
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
        expect(ok(await api.del(`/v1/roles/${r.id}?project_name=${project}`))).toEqual({});
      }
    });

    it('lists page with page_size 2 in creation order', async () => {
      const project = await newProject();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await createPermission(project, `perm.${'gfedcba'[i]}`)).id);
      const walked = await collectPages(api, `/v1/permissions?project_name=${project}`, 'permissions', 2);
      expect(walked.map((p) => p.id)).toEqual(ids);
      const roleIds: string[] = [];
      for (let i = 0; i < 5; i++) roleIds.push(ok(await api.post('/v1/roles', { project_name: project, name: `Role ${5 - i}`, permissions: [ids[i]] })).id);
      const roles = await collectPages(api, `/v1/roles?project_name=${project}`, 'roles', 2);
      expect(roles.map((r) => r.id)).toEqual(roleIds);
      expect(roles[0].permissions.map((p: any) => p.id)).toEqual([ids[0]]);
    });
  });

  describe('roles', () => {
    it('create / get / list embed full permission objects in the given order', async () => {
      const project = await newProject();
      const read = await createPermission(project, 'document.read', 'Permission to read document content');
      const write = await createPermission(project, 'document.write', 'Permission to write document content');
      const role = ok(
        await api.post('/v1/roles', {
          project_name: project,
          name: 'Document Editor',
          description: 'Can edit and view documents',
          permissions: [write.id, read.id],
        }),
      );
      expect(sortedKeys(role)).toEqual(ROLE_KEYS);
      expect(role).toEqual({
        id: expect.stringMatching(/^role_[A-Za-z0-9_-]+$/),
        organisation_id: fx.orgId,
        name: 'Document Editor',
        description: 'Can edit and view documents',
        permissions: [write, read],
        project_name: project,
      });
      for (const p of role.permissions) expect(sortedKeys(p)).toEqual(PERMISSION_KEYS);
      expect(ok(await api.get(`/v1/roles/${role.id}?project_name=${project}`))).toEqual(role);
      const empty = ok(await api.post('/v1/roles', { project_name: project, name: 'Nobody' }));
      expect(empty).toEqual({ id: expect.stringMatching(/^role_/), organisation_id: fx.orgId, name: 'Nobody', description: '', permissions: [], project_name: project });
      expect(ok(await api.get(`/v1/roles?project_name=${project}`))).toEqual({ roles: [role, empty], next_page_token: '', total_items: 2 });
    });

    it('role names: 1–128 printable characters, unique and case-sensitive', async () => {
      const project = await newProject();
      const valid = ['Document Editor', 'a', 'r'.repeat(128), 'Rôle éditeur ✓', 'team/admin (all)', '  spaced  ', 'doc.read'];
      for (const name of valid) {
        const res = await api.post('/v1/roles', { project_name: project, name });
        expect(ok(res).name, show(res)).toBe(name);
      }
      const invalid = ['', 'r'.repeat(129), 'tab\there', 'new\nline', 'nul\u0000', 'bell\u0007', 'del\u007f'];
      for (const name of invalid) expectError(await api.post('/v1/roles', { project_name: project, name }), 400, ['name']);
      expectError(await api.post('/v1/roles', { project_name: project }), 400, ['name']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 7 }), 400, ['name']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 'Document Editor' }), 409);
      ok(await api.post('/v1/roles', { project_name: project, name: 'document editor' }));
      expect(ok(await api.get(`/v1/roles?project_name=${project}`)).total_items).toBe(valid.length + 1);
    });

    it('an unknown permission id → 400 naming it, and nothing is created or changed', async () => {
      const project = await newProject();
      const read = await createPermission(project, 'doc.read');
      const other = await newProject();
      const foreign = await createPermission(other, 'doc.read');
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: [read.id, 'perm_doesnotexist'] }), 400, ['perm_doesnotexist']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: ['perm_aaa', 'perm_bbb'] }), 400, ['perm_aaa', 'perm_bbb']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: [foreign.id] }), 400, [foreign.id]);
      // Role permissions are ids: a permission name is not one.
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: ['doc.read'] }), 400, ['doc.read']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: 'doc.read' }), 400, ['permissions']);
      expectError(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: [7] }), 400, ['permissions']);
      expect(ok(await api.get(`/v1/roles?project_name=${project}`)).total_items).toBe(0);

      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'R', permissions: [read.id] }));
      expectError(await api.patch(`/v1/roles/${role.id}`, { project_name: project, permissions: [read.id, 'perm_nope'] }), 400, ['perm_nope']);
      expectError(await api.patch(`/v1/roles/${role.id}`, { project_name: project, name: 'Renamed', permissions: ['perm_nope'] }), 400, ['perm_nope']);
      expect(ok(await api.get(`/v1/roles/${role.id}?project_name=${project}`))).toEqual(role);
    });

    it('PATCH is partial; a present permissions list replaces the set', async () => {
      const project = await newProject();
      const [r, w, d] = [await createPermission(project, 'doc.read'), await createPermission(project, 'doc.write'), await createPermission(project, 'doc.delete')];
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Editor', description: 'Edits', permissions: [r.id, w.id] }));
      const path = `/v1/roles/${role.id}`;
      expect(ok(await api.patch(path, { project_name: project, description: 'Updated role description' }))).toEqual({ ...role, description: 'Updated role description' });
      expect(ok(await api.patch(path, { project_name: project, name: 'Document Manager' }))).toEqual({ ...role, name: 'Document Manager', description: 'Updated role description' });
      const replaced = ok(await api.patch(path, { project_name: project, permissions: [d.id, r.id] }));
      expect(replaced).toEqual({ ...role, name: 'Document Manager', description: 'Updated role description', permissions: [d, r] });
      expect(ok(await api.patch(path, { project_name: project }))).toEqual(replaced);
      const cleared = ok(await api.patch(path, { project_name: project, permissions: [] }));
      expect(cleared).toEqual({ ...replaced, permissions: [] });
      expect(ok(await api.get(`${path}?project_name=${project}`))).toEqual(cleared);
      const other = ok(await api.post('/v1/roles', { project_name: project, name: 'Viewer' }));
      expectError(await api.patch(path, { project_name: project, name: 'Viewer' }), 409);
      expectError(await api.patch(path, { project_name: project, name: '' }), 400, ['name']);
      expectError(await api.patch(path, { project_name: project, permissions: 'x' }), 400, ['permissions']);
      expect(ok(await api.get(`${path}?project_name=${project}`))).toEqual(cleared);
      expect(ok(await api.get(`/v1/roles/${other.id}?project_name=${project}`)).name).toBe('Viewer');
    });

    it('unknown role ids → 404 on get, patch and delete', async () => {
      const project = await newProject();
      const other = await newProject();
      const foreign = ok(await api.post('/v1/roles', { project_name: other, name: 'X' }));
      for (const id of ['role_doesnotexist', foreign.id]) {
        expectError(await api.get(`/v1/roles/${id}?project_name=${project}`), 404);
        expectError(await api.patch(`/v1/roles/${id}`, { project_name: project, description: 'x' }), 404);
        expectError(await api.del(`/v1/roles/${id}?project_name=${project}`), 404);
      }
    });
  });

  describe('renames and cascades', () => {
    it('renaming a permission keeps its grants; checks use the current name; roles show the new name', async () => {
      const project = await newProject();
      const p = await createPermission(project, 'doc.read', 'Read');
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Reader', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'alice', resource_uri: '/docs', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'bob', resource_uri: '/docs', roles: ['Reader'] }));
      expect(await check(project, 'alice', ['/docs/1'], ['doc.read'])).toEqual(PASS);

      const renamed = ok(await api.patch(`/v1/permissions/${p.id}`, { project_name: project, name: 'document.read' }));
      expect(renamed).toEqual({ ...p, name: 'document.read' });
      expect(await check(project, 'alice', ['/docs/1'], ['document.read'])).toEqual(PASS);
      expect(await check(project, 'bob', ['/docs/1'], ['document.read'])).toEqual(PASS);
      expect(await check(project, 'alice', ['/docs/1'], ['doc.read', 'document.read'])).toEqual({
        passed: false,
        missing_permissions: [{ resource_uri: '/docs/1', missing_permissions: ['doc.read'] }],
      });
      expect(await check(project, 'bob', ['/docs/1'], ['doc.read'])).toEqual({
        passed: false,
        missing_permissions: [{ resource_uri: '/docs/1', missing_permissions: ['doc.read'] }],
      });
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=alice`)).grants).toEqual([
        { user_id: 'alice', resource_uri: '/docs', permissions: [p.id], roles: [], windows: [] },
      ]);
      expect(ok(await api.get(`/v1/roles/${role.id}?project_name=${project}`)).permissions).toEqual([renamed]);
      // The old name is free and a new permission under it is not granted to anyone.
      const reborn = await createPermission(project, 'doc.read');
      expect(reborn.id).not.toBe(p.id);
      expect((await check(project, 'alice', ['/docs/1'], ['doc.read'])).passed).toBe(false);
      // Grants may name the permission by its new name.
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'carol', resource_uri: '/', permissions: ['document.read'] }));
      expect(ok(await api.get(`/v1/grants?project_name=${project}&user_id=carol`)).grants[0].permissions).toEqual([p.id]);
    });

    it('deleting a permission removes it from every role and grant', async () => {
      const project = await newProject();
      const p = await createPermission(project, 'doc.read');
      const q = await createPermission(project, 'doc.write');
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Editor', permissions: [p.id, q.id] }));
      const lonely = ok(await api.post('/v1/roles', { project_name: project, name: 'OnlyRead', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'alice', resource_uri: '/a', permissions: [p.id, q.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'alice', resource_uri: '/only-p', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'bob', resource_uri: '/b', roles: [role.id] }));
      expect(await check(project, 'bob', ['/b/x'], ['doc.read', 'doc.write'])).toEqual(PASS);

      expect(ok(await api.del(`/v1/permissions/${p.id}?project_name=${project}`))).toEqual({});
      expectError(await api.get(`/v1/permissions/${p.id}?project_name=${project}`), 404);
      expectError(await api.patch(`/v1/permissions/${p.id}`, { project_name: project, description: 'x' }), 404);
      expectError(await api.del(`/v1/permissions/${p.id}?project_name=${project}`), 404);
      expect(ok(await api.get(`/v1/permissions?project_name=${project}`)).permissions).toEqual([q]);
      expect(ok(await api.get(`/v1/roles/${role.id}?project_name=${project}`))).toEqual({ ...role, permissions: [q] });
      expect(ok(await api.get(`/v1/roles/${lonely.id}?project_name=${project}`))).toEqual({ ...lonely, permissions: [] });
      const grants = ok(await api.get(`/v1/grants?project_name=${project}&user_id=alice`)).grants;
      expect(grants.find((g: any) => g.resource_uri === '/a')).toEqual({ user_id: 'alice', resource_uri: '/a', permissions: [q.id], roles: [], windows: [] });
      for (const g of grants) expect(g.permissions).not.toContain(p.id);
      expect(await check(project, 'alice', ['/a', '/only-p'], ['doc.read', 'doc.write'])).toEqual({
        passed: false,
        missing_permissions: [
          { resource_uri: '/a', missing_permissions: ['doc.read'] },
          { resource_uri: '/only-p', missing_permissions: ['doc.read', 'doc.write'] },
        ],
      });
      expect(await check(project, 'bob', ['/b/x'], ['doc.write', 'doc.read'])).toEqual({
        passed: false,
        missing_permissions: [{ resource_uri: '/b/x', missing_permissions: ['doc.read'] }],
      });
      // Re-creating the name does not resurrect the old grants.
      const again = await createPermission(project, 'doc.read');
      expect(again.id).not.toBe(p.id);
      expect((await check(project, 'alice', ['/a'], ['doc.read'])).passed).toBe(false);
      expect((await check(project, 'bob', ['/b'], ['doc.read'])).passed).toBe(false);
      expect(ok(await api.get(`/v1/roles/${role.id}?project_name=${project}`)).permissions).toEqual([q]);
    });

    it('deleting a role removes its grants', async () => {
      const project = await newProject();
      const p = await createPermission(project, 'doc.read');
      const q = await createPermission(project, 'doc.write');
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Reader', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'carol', resource_uri: '/z', permissions: [q.id], roles: [role.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'carol', resource_uri: '/y', roles: ['Reader'] }));
      expect(await check(project, 'carol', ['/z', '/y'], ['doc.read'])).toEqual(PASS);

      expect(ok(await api.del(`/v1/roles/${role.id}?project_name=${project}`))).toEqual({});
      expectError(await api.get(`/v1/roles/${role.id}?project_name=${project}`), 404);
      expectError(await api.patch(`/v1/roles/${role.id}`, { project_name: project, description: 'x' }), 404);
      expectError(await api.del(`/v1/roles/${role.id}?project_name=${project}`), 404);
      expect(ok(await api.get(`/v1/roles?project_name=${project}`)).total_items).toBe(0);
      const grants = ok(await api.get(`/v1/grants?project_name=${project}&user_id=carol`)).grants;
      expect(grants.find((g: any) => g.resource_uri === '/z')).toEqual({ user_id: 'carol', resource_uri: '/z', permissions: [q.id], roles: [], windows: [] });
      for (const g of grants) expect(g.roles).toEqual([]);
      expect(await check(project, 'carol', ['/z', '/y'], ['doc.read', 'doc.write'])).toEqual({
        passed: false,
        missing_permissions: [
          { resource_uri: '/z', missing_permissions: ['doc.read'] },
          { resource_uri: '/y', missing_permissions: ['doc.read', 'doc.write'] },
        ],
      });
      // The permissions themselves survive.
      expect(ok(await api.get(`/v1/permissions?project_name=${project}`)).permissions).toEqual([p, q]);
      const reborn = ok(await api.post('/v1/roles', { project_name: project, name: 'Reader', permissions: [p.id] }));
      expect(reborn.id).not.toBe(role.id);
      expect((await check(project, 'carol', ['/y'], ['doc.read'])).passed).toBe(false);
    });

    it('role edits are seen by the next check (read-your-writes)', async () => {
      const project = await newProject();
      const p = await createPermission(project, 'doc.read');
      const q = await createPermission(project, 'doc.write');
      const role = ok(await api.post('/v1/roles', { project_name: project, name: 'Editor', permissions: [p.id] }));
      ok(await api.post('/v1/grants', { project_name: project, user_id: 'dave', resource_uri: '/docs', roles: [role.id] }));
      for (let i = 0; i < 10; i++) {
        ok(await api.patch(`/v1/roles/${role.id}`, { project_name: project, permissions: [p.id, q.id] }));
        expect(await check(project, 'dave', ['/docs/1'], ['doc.read', 'doc.write'])).toEqual(PASS);
        ok(await api.patch(`/v1/roles/${role.id}`, { project_name: project, permissions: [q.id] }));
        expect(await check(project, 'dave', ['/docs/1'], ['doc.read', 'doc.write'])).toEqual({
          passed: false,
          missing_permissions: [{ resource_uri: '/docs/1', missing_permissions: ['doc.read'] }],
        });
      }
    });
  });

  describe('scopes and the operator key', () => {
    it('a project key manages permissions and roles of its project only; the operator passes organisation_id', async () => {
      const project = await newProject();
      const other = await newProject();
      const pk = as((await createKey(admin, fx.orgId, 'pk', project)).key);
      const p = ok(await pk.post('/v1/permissions', { name: 'doc.read' }));
      expect(p.project_name).toBe(project);
      const role = ok(await pk.post('/v1/roles', { name: 'R', permissions: [p.id] }));
      expect(role).toMatchObject({ project_name: project, organisation_id: fx.orgId, permissions: [p] });
      expect(ok(await pk.get(`/v1/roles/${role.id}`))).toEqual(role);
      expect(ok(await pk.patch(`/v1/permissions/${p.id}`, { description: 'd' })).description).toBe('d');
      expectError(await pk.get(`/v1/roles/${role.id}?project_name=${other}`), 403);
      expectError(await pk.patch(`/v1/roles/${role.id}`, { project_name: other, description: 'x' }), 403);
      expectError(await pk.del(`/v1/permissions/${p.id}?project_name=${other}`), 403);

      const op = ok(await admin.get(`/v1/roles/${role.id}?project_name=${project}&organisation_id=${fx.orgId}`));
      expect(op).toEqual(ok(await pk.get(`/v1/roles/${role.id}`)));
      expectError(await admin.get(`/v1/roles/${role.id}?project_name=${project}`), 400, ['organisation_id']);
      expect(ok(await admin.patch(`/v1/roles/${role.id}`, { organisation_id: fx.orgId, project_name: project, description: 'op' })).description).toBe('op');
      expect(ok(await admin.del(`/v1/roles/${role.id}?project_name=${project}&organisation_id=${fx.orgId}`))).toEqual({});
      expectError(await pk.get(`/v1/roles/${role.id}`), 404);
    });

    it('project_name is required for organisation keys; a missing project → 404; the order is 400 → 403 → 404 → 409', async () => {
      const project = await newProject();
      expectError(await api.post('/v1/permissions', { name: 'x' }), 400, ['project_name']);
      expectError(await api.get('/v1/permissions'), 400, ['project_name']);
      expectError(await api.get('/v1/roles'), 400, ['project_name']);
      expectError(await api.get('/v1/permissions?project_name=nope'), 404);
      const other = await createOrg(admin, 'Other', 'x');
      // 400 (bad name) before 403 (other organisation).
      expectError(await api.post('/v1/permissions', { project_name: project, organisation_id: other.orgId, name: 'bad name' }), 400);
      // 403 before 404 (unknown project in another organisation).
      expectError(await api.post('/v1/permissions', { project_name: 'nope', organisation_id: other.orgId, name: 'ok' }), 403);
      // 404 (unknown role) before 409 (name taken).
      ok(await api.post('/v1/roles', { project_name: project, name: 'Taken' }));
      expectError(await api.patch('/v1/roles/role_doesnotexist', { project_name: project, name: 'Taken' }), 404);
      ok(await api.post('/v1/permissions', { project_name: project, name: 'taken' }));
      expectError(await api.patch('/v1/permissions/perm_doesnotexist', { project_name: project, name: 'taken' }), 404);
    });
  });
});
