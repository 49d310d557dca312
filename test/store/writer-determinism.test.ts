// Applying a command is a pure function of store + command: the same stamped commands, applied to two fresh stores
// (in different batchings), give identical records, results and changes — what cluster mode's replicas rely on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/env.js';
import { DB_NAMES, META } from '../../src/store/keys.js';
import { StoreWriter, type WriteResult } from '../../src/store/writer.js';
import type { CommandBody, WriteCommand } from '../../src/store/commands.js';
import type { OrgRecord, ProjectRecord } from '../../src/store/records.js';

const dirs: string[] = [];
const stores: Store[] = [];

afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function freshWriter(): { store: Store; writer: StoreWriter } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-determinism-'));
  dirs.push(dir);
  const store = openStore(dir, { readOnly: false });
  stores.push(store);
  return { store, writer: new StoreWriter(store) };
}

/** Every record of every database except the store's own id, in key order. */
function dump(store: Store): unknown[] {
  const out: unknown[] = [];
  for (const name of DB_NAMES) {
    for (const { key, value } of store.dbs[name].getRange()) {
      if (name === 'meta' && key === META.storeId) continue;
      out.push([name, key, value]);
    }
  }
  return out;
}

const T0 = Date.parse('2030-01-01T00:00:00Z');
let clock = 0;
/** A command stamped as a caller would, with a fixed clock and nonce. */
const stamp = (body: CommandBody): WriteCommand => ({ ...body, now: T0 + 1000 * ++clock, nonce: (clock * 2654435761) >>> 0 });

/** A scenario whose later commands depend on ids the earlier ones created (found by reading the first store). */
function scenario(first: Store, firstWriter: StoreWriter): WriteCommand[] {
  const cmds: WriteCommand[] = [];
  const run = (body: CommandBody): WriteResult => {
    const cmd = stamp(body);
    cmds.push(cmd);
    return firstWriter.applyBatch([cmd])[0]!;
  };
  const org = (run({ op: 'createOrganisation', name: 'Acme', user_id: 'owner', plan: 'pro', rate_limit_per_minute: 0 }) as { value: OrgRecord }).value;
  const project = first.dbs.projects.get([org.id, 'default']) as ProjectRecord;
  const ref = { organisation_id: org.id, project_name: 'default', project_id: project.id };
  const read = (run({ op: 'createPermission', ...ref, name: 'read', description: 'r' }) as { value: { id: string } }).value.id;
  run({ op: 'createPermission', ...ref, name: 'write', description: '' });
  run({ op: 'createPermission', ...ref, name: 'read', description: 'duplicate: 409' });
  const role = (run({ op: 'createRole', ...ref, name: 'editor', description: '', permissions: [read] }) as { value: { id: string } }).value.id;
  run({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/docs', permissions: ['write'], roles: [role] });
  run({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/docs', permissions: ['write'], roles: [] }); // held: no event
  run({ op: 'grant', ...ref, user_id: 'bob', resource_uri: '/', permissions: [read], roles: [] });
  // windows (SPEC §8): ends a few commands later (each command is 1 s later), then the sweep removes the entry
  run({ op: 'grant', ...ref, user_id: 'carol', resource_uri: '/w', permissions: ['write'], roles: [], expires_at: new Date(T0 + 1000 * (clock + 3)).toISOString() });
  run({ op: 'grant', ...ref, user_id: 'carol', resource_uri: '/w', permissions: [read], roles: [role], starts_at: new Date(T0).toISOString(), expires_at: '2031-01-01T00:00:00Z' });
  run({ op: 'expireGrants', project_id: project.id }); // nothing ended yet
  run({ op: 'expireGrants', project_id: project.id }); // 'write' ended
  run({ op: 'updateRole', ...ref, role_id: role, permissions: [] });
  run({ op: 'deletePermission', ...ref, permission_id: read });
  run({ op: 'createApiKey', organisation_id: org.id, project_name: 'default', name: 'k', hash: 'ab'.repeat(32) });
  run({ op: 'createInvitation', organisation_id: org.id, email: 'dana@acme.test', token_hash: 'tok-1-hash', ttl_ms: 3_600_000 });
  run({ op: 'acceptInvitation', token_hash: 'tok-1-hash', user_id: 'dana' });
  run({ op: 'updateOrganisation', organisation_id: org.id, plan: 'enterprise' });
  const entry = { time: new Date(T0).toISOString(), organisation_id: org.id, actor: 'operator', transport: 'rest' as const, rpc: 'Grant', route: 'POST /v1/grants', status: 200, latency_ms: 1, request: '{}', response: '{}' };
  run({ op: 'appendLogs', entries: [entry, entry, entry], max_age_ms: 86_400_000, max_per_org: 2 });
  run({ op: 'createProject', organisation_id: org.id, name: 'other' });
  run({ op: 'deleteProject', organisation_id: org.id, name: 'default' });
  run({ op: 'createProject', organisation_id: org.id, name: 'default' });
  return cmds;
}

describe('StoreWriter determinism', () => {
  it('the same commands give the same store, results and changes, one batch or many', () => {
    const a = freshWriter();
    const cmds = scenario(a.store, a.writer);
    const again = freshWriter();
    const oneByOne = cmds.map((c) => again.writer.applyBatch([c])[0]);
    const b = freshWriter();
    const batched = b.writer.applyBatch(cmds);
    expect(batched).toEqual(oneByOne);
    const expired = oneByOne.flatMap((r) => (r?.ok ? r.change.events : [])).filter((e) => e.type === 'GRANT_EXPIRED');
    expect(expired).toEqual([{ type: 'GRANT_EXPIRED', user_id: 'carol', resource_uri: '/w', permissions: [expect.stringMatching(/^perm_/)], roles: [], expires_at: expect.any(String) }]);
    expect(dump(b.store)).toEqual(dump(again.store));
    expect(dump(b.store)).toEqual(dump(a.store));
    expect(b.writer.revision).toBe(cmds.length);
    expect(b.writer.storeId).not.toBe(a.writer.storeId); // each store has its own id
  });

  it('skips commands at or below the applied revision (a redelivered log entry) and takes given revisions', () => {
    const { store, writer } = freshWriter();
    const create = stamp({ op: 'createOrganisation', name: 'Log', user_id: 'u', plan: 'free', rate_limit_per_minute: 0 });
    const [first] = writer.applyBatch([create], [10]);
    expect(first).toMatchObject({ ok: true, change: { revision: 10, events: [] } });
    const before = dump(store);
    expect(writer.applyBatch([create], [10])[0]).toMatchObject({ ok: false, status: 409 });
    expect(dump(store)).toEqual(before);
    expect(writer.revision).toBe(10);
  });
});
