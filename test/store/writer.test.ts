// StoreWriter against a real temporary LMDB environment: ids, referential rules, cascades, change events.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/env.js';
import { StoreReader } from '../../src/store/read.js';
import { StoreWriter, type WriteResult } from '../../src/store/writer.js';
import { stampCommand, type CommandBody } from '../../src/store/commands.js';
import { hashSecret } from '../../src/store/keys.js';

let dir: string;
let store: Store;
let writer: StoreWriter;
let reader: StoreReader;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-store-'));
  store = openStore(dir, { readOnly: false });
  writer = new StoreWriter(store);
  reader = new StoreReader(store);
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function apply(cmd: CommandBody): WriteResult {
  return writer.applyBatch([stampCommand(cmd)])[0]!;
}

function value<T = any>(cmd: CommandBody): T {
  const r = apply(cmd);
  if (!r.ok) throw new Error(`${cmd.op}: ${r.status} ${r.message}`);
  return r.value as T;
}

describe('StoreWriter', () => {
  let orgId: string;
  let ref: { organisation_id: string; project_name: string; project_id: string };

  it('creates an organisation with its creator and a default project', () => {
    const org = value({ op: 'createOrganisation', name: 'Acme', user_id: 'u1', plan: 'enterprise', rate_limit_per_minute: 0 });
    orgId = org.id;
    expect(orgId).toMatch(/^org_[0-9a-z]{10}[0-9a-f]{8}$/);
    expect(reader.users(orgId).map((u) => u.id)).toEqual(['u1']);
    const project = reader.project(orgId, 'default')!;
    expect(project.name).toBe('default');
    ref = { organisation_id: orgId, project_name: 'default', project_id: project.id };
  });

  it('issues increasing ids, so lists are in creation order', () => {
    const ids = ['a', 'b', 'c'].map((name) => value({ op: 'createPermission', ...ref, name, description: '' }).id as string);
    expect([...ids].sort()).toEqual(ids);
    expect(reader.permissions(ref.project_id).map((p) => p.id)).toEqual(ids);
  });

  it('rejects duplicates (409) and unknown references (400) without writing', () => {
    const dup = apply({ op: 'createPermission', ...ref, name: 'a', description: '' });
    expect(dup).toMatchObject({ ok: false, status: 409 });
    const bad = apply({ op: 'createRole', ...ref, name: 'r', description: '', permissions: ['perm_nope'] });
    expect(bad).toMatchObject({ ok: false, status: 400, details: [{ unknown_permissions: ['perm_nope'] }] });
    expect(reader.roles(ref.project_id)).toEqual([]);
  });

  it('resolves grant references by id or name and emits an event with ids', () => {
    const [a] = reader.permissions(ref.project_id);
    const r = apply({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/x', permissions: [a!.id, 'b'], roles: [] });
    expect(r.ok).toBe(true);
    const b = reader.permissions(ref.project_id)[1]!;
    expect(r.ok && r.change).toMatchObject({
      project_id: ref.project_id,
      events: [{ type: 'GRANT', user_id: 'alice', resource_uri: '/x', permissions: [a!.id, b.id], roles: [] }],
    });
    const unknown = apply({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/y', permissions: ['zzz'], roles: ['nope'] });
    expect(unknown).toMatchObject({ ok: false, status: 400 });
    expect(reader.grant(ref.project_id, 'alice', '/y')).toBeUndefined();
  });

  it('cascades a permission delete into roles and grants', () => {
    const [a, b] = reader.permissions(ref.project_id);
    const role = value({ op: 'createRole', ...ref, name: 'r1', description: '', permissions: [a!.id, b!.id] });
    value({ op: 'deletePermission', ...ref, permission_id: a!.id });
    expect(reader.role(ref.project_id, role.id)!.permissions).toEqual([b!.id]);
    expect(reader.grant(ref.project_id, 'alice', '/x')!.p).toEqual([b!.id]);
  });

  it('drops a grant entry once revoke leaves it empty', () => {
    const b = reader.permissions(ref.project_id)[0]!;
    value({ op: 'revoke', ...ref, user_id: 'alice', resource_uri: '/x', permissions: [b.id], roles: [] });
    expect(reader.grant(ref.project_id, 'alice', '/x')).toBeUndefined();
    expect(reader.grantOrder(ref.project_id, 'alice')).toEqual([]);
  });

  it('deletes a project with everything in it, invalidates its keys, and a recreated name is empty', () => {
    const key = value({ op: 'createApiKey', organisation_id: orgId, project_name: 'default', name: 'k', hash: 'ab'.repeat(32) });
    value({ op: 'deleteProject', organisation_id: orgId, name: 'default' });
    expect(reader.apiKeyByHash('ab'.repeat(32))).toMatchObject({ id: key.id, invalidated: true });
    expect(reader.permissions(ref.project_id)).toEqual([]);
    const again = value({ op: 'createProject', organisation_id: orgId, name: 'default' });
    expect(again.id).not.toBe(ref.project_id);
  });

  it('keeps one command failing from failing its batch', () => {
    const results = writer.applyBatch(
      [
        { op: 'createProject' as const, organisation_id: orgId, name: 'p2' },
        { op: 'createProject' as const, organisation_id: orgId, name: 'p2' },
        { op: 'createProject' as const, organisation_id: 'org_missing', name: 'p3' },
      ].map((c) => stampCommand(c)),
    );
    expect(results.map((r) => (r.ok ? 200 : r.status))).toEqual([200, 409, 404]);
  });
  describe('call-log retention', () => {
    const DAY = 86_400_000;
    let logOrg: string;
    const entry = (n: number, ageDays: number) => ({
      time: new Date(Date.now() - ageDays * DAY).toISOString(),
      organisation_id: logOrg,
      actor: 'operator',
      transport: 'rest' as const,
      rpc: 'Grant',
      route: 'POST /v1/grants',
      status: 200,
      latency_ms: 1,
      request: `{"n":${n}}`,
      response: '{}',
    });
    const append = (entries: ReturnType<typeof entry>[], maxPerOrg: number, maxAgeDays = 7) =>
      value({ op: 'appendLogs', entries, max_age_ms: maxAgeDays * DAY, max_per_org: maxPerOrg });
    const kept = () => reader.apiLogPage(logOrg, { size: 1000 }).entries.map((r) => JSON.parse(r.request).n as number).reverse();

    beforeAll(() => {
      logOrg = value({ op: 'createOrganisation', name: 'logs', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 }).id;
    });

    it('keeps the newest entries up to the cap, oldest removed first', () => {
      append([0, 1, 2, 3].map((n) => entry(n, 0)), 5);
      expect(kept()).toEqual([0, 1, 2, 3]);
      append([4, 5, 6].map((n) => entry(n, 0)), 5);
      expect(kept()).toEqual([2, 3, 4, 5, 6]);
      append([7].map((n) => entry(n, 0)), 3);
      expect(kept()).toEqual([5, 6, 7]);
    });

    it('removes entries older than the retention (oldest first, as they arrive), after those over the cap', () => {
      logOrg = value({ op: 'createOrganisation', name: 'logs-age', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 }).id;
      append([entry(0, 10), entry(1, 9), entry(2, 1)], 100, 30);
      expect(kept()).toEqual([0, 1, 2]);
      append([entry(3, 0)], 100); // 7 days: 0 and 1 are too old
      expect(kept()).toEqual([2, 3]);
      append([entry(4, 0.75), entry(5, 0)], 3, 30); // over the cap by one: the oldest goes
      expect(kept()).toEqual([3, 4, 5]);
      append([entry(6, 0)], 3, 0.5); // the cap removes 3, then age removes 4 (18 h old), not 5
      expect(kept()).toEqual([5, 6]);
    });
  });
});

describe('invitation tokens at rest', () => {
  it('an older store keeping invitations under their clear token is re-keyed by hash when the writer opens it', async () => {
    const oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-store-'));
    const old = openStore(oldDir, { readOnly: false });
    const org = new StoreWriter(old).applyBatch([stampCommand({ op: 'createOrganisation', name: 'o', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 })])[0]!;
    const orgId = (org as { value: { id: string } }).value.id;
    const inv = { id: 'inv_1', organisation_id: orgId, email: 'a@b.test', token: 'clear-token', expires_at: '2999-01-01T00:00:00.000Z' };
    old.dbs.invitations.putSync(['clear-token'], inv);

    const reopened = new StoreWriter(old);
    expect(old.dbs.invitations.get(['clear-token'])).toBeUndefined();
    const { token: _, ...hashed } = inv;
    expect(new StoreReader(old).invitation(hashSecret('clear-token'))).toEqual(hashed);
    const accepted = reopened.applyBatch([stampCommand({ op: 'acceptInvitation', token_hash: hashSecret('clear-token'), user_id: 'v' })])[0]!;
    expect(accepted.ok).toBe(true);
    await old.close();
    fs.rmSync(oldDir, { recursive: true, force: true });
  });
});
