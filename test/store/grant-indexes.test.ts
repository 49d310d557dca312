// The grant indexes SPEC §8 reads (who holds a grant on a URI; when windowed entries end): kept by every grant write,
// removed with the entry and the project, and built once for a store written before them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGrantIndexes } from '../../src/store/apply/grants.js';
import { openStore, type Store } from '../../src/store/env.js';
import { META } from '../../src/store/keys.js';
import { StoreWriter } from '../../src/store/writer.js';
import type { CommandBody } from '../../src/store/commands.js';
import type { OrgRecord, ProjectRecord } from '../../src/store/records.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2030-01-01T00:00:00Z');

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-grant-indexes-'));
  dirs.push(dir);
  const store = openStore(dir, { readOnly: false });
  stores.push(store);
  const writer = new StoreWriter(store);
  let t = 0;
  const run = (body: CommandBody) => {
    const r = writer.applyBatch([{ ...body, now: T0 + ++t, nonce: t }])[0]!;
    if (!r.ok) throw new Error(r.message);
    return r.value;
  };
  const org = run({ op: 'createOrganisation', name: 'o', user_id: 'u', plan: 'free', rate_limit_per_minute: 0 }) as OrgRecord;
  const project = store.dbs.projects.get([org.id, 'default']) as ProjectRecord;
  const ref = { organisation_id: org.id, project_name: 'default', project_id: project.id };
  run({ op: 'createPermission', ...ref, name: 'read', description: '' });
  return { store, run, ref };
}

const keys = (store: Store, db: 'grantSubjects' | 'grantExpiry') => [...store.dbs[db].getKeys()];

describe('grant indexes', () => {
  it('follow grants, revokes and the sweep; an older store gets them built once', () => {
    const { store, run, ref } = setup();
    for (let i = 0; i < 25; i++) run({ op: 'grant', ...ref, user_id: `u${i % 5}`, resource_uri: `/r/${i}`, permissions: ['read'], roles: [] });
    run({ op: 'grant', ...ref, user_id: 'w', resource_uri: '/w', permissions: ['read'], roles: [], expires_at: new Date(T0 + 10_000).toISOString() });
    expect(keys(store, 'grantSubjects')).toHaveLength(26);
    expect(keys(store, 'grantExpiry')).toEqual([[T0 + 10_000, ref.project_id, 'w', '/w', expect.stringMatching(/^perm_/)]]);
    run({ op: 'revoke', ...ref, user_id: 'u0', resource_uri: '/r/0', permissions: ['read'], roles: [] });
    expect(keys(store, 'grantSubjects')).toHaveLength(25);
    const subjects = keys(store, 'grantSubjects');
    const expiry = keys(store, 'grantExpiry');
    // a store from before the indexes: built when the writer opens it
    store.root.transactionSync(() => {
      for (const k of subjects) store.dbs.grantSubjects.removeSync(k);
      for (const k of expiry) store.dbs.grantExpiry.removeSync(k);
      store.dbs.meta.removeSync(META.grantIndexes);
    });
    ensureGrantIndexes(store.root, store.dbs, 7); // several batches
    expect(keys(store, 'grantSubjects')).toEqual(subjects);
    expect(keys(store, 'grantExpiry')).toEqual(expiry);
  });
});
