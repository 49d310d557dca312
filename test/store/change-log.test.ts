// The change log against a real LMDB environment: written in the write's transaction (exactly the committed changes
// with events, in revision order), cascades as one event, retention by revision count and age, bounded reads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/env.js';
import { ChangeLog, CHANGELOG_MIN_AGE_MS, trimChangeLog } from '../../src/store/change-log.js';
import type { Change } from '../../src/store/change-feed.js';
import { StoreWriter, type WriteResult } from '../../src/store/writer.js';
import type { CommandBody } from '../../src/store/commands.js';
import type { OrgRecord, ProjectRecord } from '../../src/store/records.js';

const dirs: string[] = [];
const stores: Store[] = [];

afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function open(): { store: Store; writer: StoreWriter; log: ChangeLog } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-changelog-'));
  dirs.push(dir);
  const store = openStore(dir, { readOnly: false });
  stores.push(store);
  return { store, writer: new StoreWriter(store), log: new ChangeLog(store) };
}

let nonce = 0;

describe('change log', () => {
  const { store, writer, log } = open();
  let now = Date.now();
  const apply = (body: CommandBody): WriteResult => writer.applyBatch([{ ...body, now, nonce: ++nonce }])[0]!;
  const ok = <T = any>(body: CommandBody): T => {
    const r = apply(body);
    if (!r.ok) throw new Error(`${body.op}: ${r.status} ${r.message}`);
    return r.value as T;
  };
  let ref: { organisation_id: string; project_name: string; project_id: string };
  /** Every change of the project after `after`, read in pages of 2 (bounded reads, paging by revision). */
  const all = (after = 0): Change[] => {
    const out: Change[] = [];
    for (let page = log.projectChanges(ref.project_id, after, 2); page.length > 0; page = log.projectChanges(ref.project_id, after, 2)) {
      out.push(...page);
      after = page[page.length - 1]!.revision;
    }
    return out;
  };

  beforeAll(() => {
    const org = ok<OrgRecord>({ op: 'createOrganisation', name: 'Acme', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 });
    const project = store.dbs.projects.get([org.id, 'default']) as ProjectRecord;
    ref = { organisation_id: org.id, project_name: 'default', project_id: project.id };
  });

  it('stores exactly the acknowledged changes with events, in revision order; a no-op or a failure stores nothing', () => {
    const results: WriteResult[] = [];
    const read = ok({ op: 'createPermission', ...ref, name: 'read', description: '' });
    results.push(apply({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/a', permissions: ['read'], roles: [] }));
    results.push(apply({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/a', permissions: ['read'], roles: [] })); // held
    results.push(apply({ op: 'grant', ...ref, user_id: 'alice', resource_uri: '/b', permissions: ['nope'], roles: [] })); // 400
    results.push(apply({ op: 'revoke', ...ref, user_id: 'bob', resource_uri: '/a', permissions: ['read'], roles: [] })); // not held
    results.push(apply({ op: 'createPermission', ...ref, name: 'read', description: '' })); // 409
    expect(results.map((r) => (r.ok ? r.change.events.length : r.status))).toEqual([1, 0, 400, 0, 409]);
    const changes = all();
    expect(changes.map((c) => c.events.map((e) => e.type))).toEqual([['PERMISSION_CREATED'], ['GRANT']]);
    expect(changes[1]).toEqual({
      revision: (results[0] as { change: Change }).change.revision,
      committed_at: new Date(now).toISOString(),
      project_id: ref.project_id,
      events: [{ type: 'GRANT', user_id: 'alice', resource_uri: '/a', permissions: [read.id], roles: [] }],
    });
    expect(changes[0]!.revision).toBeLessThan(changes[1]!.revision);
  });

  it('a cascade is one event: PERMISSION_DELETED, ROLE_DELETED, PROJECT_DELETED', () => {
    const before = writer.revision;
    const perm = ok({ op: 'createPermission', ...ref, name: 'write', description: 'w' });
    const role = ok({ op: 'createRole', ...ref, name: 'editor', description: '', permissions: [perm.id] });
    ok({ op: 'grant', ...ref, user_id: 'carol', resource_uri: '/x', permissions: [perm.id], roles: [role.id] });
    ok({ op: 'deletePermission', ...ref, permission_id: perm.id });
    ok({ op: 'deleteRole', ...ref, role_id: role.id });
    ok({ op: 'deleteProject', organisation_id: ref.organisation_id, name: 'default' });
    const events = all(before).map((c) => c.events);
    const object = { id: perm.id, organisation_id: ref.organisation_id, name: 'write', description: 'w', project_name: 'default' };
    expect(events).toEqual([
      [{ type: 'PERMISSION_CREATED', permission: object }],
      [{ type: 'ROLE_CREATED', role: { id: role.id, organisation_id: ref.organisation_id, name: 'editor', description: '', permissions: [object], project_name: 'default' } }],
      [{ type: 'GRANT', user_id: 'carol', resource_uri: '/x', permissions: [perm.id], roles: [role.id] }],
      [{ type: 'PERMISSION_DELETED', permission: object }],
      [{ type: 'ROLE_DELETED', role: { id: role.id, organisation_id: ref.organisation_id, name: 'editor', description: '', permissions: [], project_name: 'default' } }],
      [{ type: 'PROJECT_DELETED' }],
    ]);
  });

  it('lists every project in revision order, and nothing of a batch an exception aborted', () => {
    const second = ok<ProjectRecord>({ op: 'createProject', organisation_id: ref.organisation_id, name: 'second' });
    const ref2 = { organisation_id: ref.organisation_id, project_name: 'second', project_id: second.id };
    const before = writer.revision;
    const results = writer.applyBatch([
      { op: 'createPermission', ...ref2, name: 'p', description: '', now, nonce: ++nonce },
      // not an array: the handler throws a TypeError, which aborts the transaction; each command is then retried alone
      { op: 'createRole', ...ref2, name: 'r', description: '', permissions: 5 as unknown as string[], now, nonce: ++nonce },
    ]);
    expect(results.map((r) => (r.ok ? 200 : r.status))).toEqual([200, 500]);
    expect(log.changesAfter(before, 10).map((c) => [c.project_id, c.events[0]!.type])).toEqual([[second.id, 'PERMISSION_CREATED']]);
    expect(log.changesAfter(0, 100).map((c) => c.revision)).toEqual([...log.changesAfter(0, 100).map((c) => c.revision)].sort((a, b) => a - b));
  });

  it('trims what is both outside the retained revisions and older than 24 h, oldest first, in bounded steps', () => {
    const fresh = open();
    const w = fresh.writer;
    const at = (ms: number, body: CommandBody) => {
      const r = w.applyBatch([{ ...body, now: ms, nonce: ++nonce }])[0]!;
      if (!r.ok) throw new Error(r.message);
      return r.value as any;
    };
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const org = at(t0, { op: 'createOrganisation', name: 'T', user_id: 'u', plan: 'free', rate_limit_per_minute: 0 }) as OrgRecord;
    const p = fresh.store.dbs.projects.get([org.id, 'default']) as ProjectRecord;
    const r = { organisation_id: org.id, project_name: 'default', project_id: p.id };
    // 10 old changes (2 days before t1), then 5 young ones (1 h before t1)
    const t1 = t0 + 3 * CHANGELOG_MIN_AGE_MS;
    at(t1 - 2 * CHANGELOG_MIN_AGE_MS, { op: 'createPermission', ...r, name: 'read', description: '' });
    for (let i = 1; i < 10; i++) at(t1 - 2 * CHANGELOG_MIN_AGE_MS, { op: 'grant', ...r, user_id: `old${i}`, resource_uri: '/', permissions: ['read'], roles: [] });
    for (let i = 0; i < 5; i++) at(t1 - 3600_000, { op: 'grant', ...r, user_id: `young${i}`, resource_uri: '/', permissions: ['read'], roles: [] });
    const revisions = fresh.log.projectChanges(p.id, 0, 100).map((c) => c.revision);
    expect(revisions).toHaveLength(15);
    const trim = (retention: number, limit = 100) => trimChangeLog(fresh.store, { retention, now: t1, limit });

    expect(trim(100)).toBe(0); // every entry is within the retention
    expect(fresh.log.replayableAfter()).toBe(0);
    expect(trim(12, 2)).toBe(2); // the 3 oldest are outside the newest 12: 2 per step
    expect(trim(12, 2)).toBe(1);
    expect(trim(12, 2)).toBe(0);
    expect(fresh.log.replayableAfter()).toBe(revisions[2]);
    expect(fresh.log.projectChanges(p.id, 0, 100).map((c) => c.revision)).toEqual(revisions.slice(3));
    expect(trim(0)).toBe(7); // young entries stay whatever the count
    expect(fresh.log.projectChanges(p.id, 0, 100).map((c) => c.revision)).toEqual(revisions.slice(10));
    expect(fresh.log.changesAfter(0, 100).map((c) => c.revision)).toEqual(revisions.slice(10));
    expect(fresh.log.replayableAfter()).toBe(revisions[9]);
  });
});
