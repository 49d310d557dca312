// The call-log listing against a real LMDB store: every page and total agrees with a naive filter over all entries,
// newest first, under appends between pages, through retention, and after an older store gets its facets written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/env.js';
import { StoreReader } from '../../src/store/read.js';
import { StoreWriter } from '../../src/store/writer.js';
import { stampCommand, type CommandBody } from '../../src/store/commands.js';
import type { LogQuery } from '../../src/store/call-log-columns.js';
import { META } from '../../src/store/keys.js';
import type { ApiLogRecord } from '../../src/store/records.js';

const T0 = Date.UTC(2030, 0, 1);
const STATUSES = [200, 200, 200, 400, 404, 409, 500];
const ACTORS = ['operator', 'apikey_a', 'apikey_b'];
const RPCS: [string, string][] = [
  ['Check', 'POST /v1/check'],
  ['Check', '/permio.v1.PermissionsService/Check'],
  ['Grant', 'POST /v1/grants'],
  ['DeletePermission', 'DELETE /v1/permissions/perm_1'],
  ['DeletePermission', 'DELETE /v1/permissions/perm_2'],
];

let dir: string;
let store: Store;
let writer: StoreWriter;
let reader: StoreReader;
let orgA: string;
let orgB: string;
let clock = 0; // entries' times: increasing, several per millisecond
let rand = 42;

/** A deterministic pseudo-random integer below n. */
const pick = (n: number) => ((rand = (Math.imul(rand, 1103515245) + 12345) >>> 0) % n);

function value(cmd: CommandBody): any {
  const r = writer.applyBatch([stampCommand(cmd)])[0]!;
  if (!r.ok) throw new Error(`${cmd.op}: ${r.status} ${r.message}`);
  return r.value;
}

function append(orgs: string[], n: number, maxPerOrg = 1_000_000): void {
  const entries = [];
  for (let i = 0; i < n; i++) {
    const [rpc, route] = RPCS[pick(RPCS.length)]!;
    clock += pick(3); // equal times happen
    entries.push({
      time: new Date(T0 + clock).toISOString(),
      organisation_id: orgs[pick(orgs.length)]!,
      actor: ACTORS[pick(ACTORS.length)]!,
      transport: route.startsWith('/') ? ('grpc' as const) : ('rest' as const),
      rpc,
      route,
      status: STATUSES[pick(STATUSES.length)]!,
      latency_ms: 1,
      request: '{}',
      response: '{}',
    });
  }
  value({ op: 'appendLogs', entries, max_age_ms: 3650 * 86_400_000, max_per_org: maxPerOrg });
  reader.refresh();
}

/** Every entry of `orgId`, newest first, straight from the apiLogs database. */
function everything(orgId: string): ApiLogRecord[] {
  const all = [...store.dbs.apiLogs.getRange()].map((e) => e.value as ApiLogRecord).filter((e) => e.organisation_id === orgId);
  return all.sort((a, b) => (a.id < b.id ? 1 : -1));
}

function naive(orgId: string, q: Omit<LogQuery, 'size'>): string[] {
  return everything(orgId)
    .filter(
      (e) =>
        (q.startTime === undefined || e.time >= q.startTime) &&
        (q.endTime === undefined || e.time < q.endTime) &&
        (q.status === undefined || e.status === q.status) &&
        (q.keyId === undefined || e.actor === q.keyId) &&
        (q.route === undefined || e.rpc === q.route || e.route === q.route),
    )
    .map((e) => e.id);
}

/** Every page of `q` by its cursor: the ids in order, and each page's total. */
function walk(orgId: string, q: LogQuery): { ids: string[]; totals: number[] } {
  const ids: string[] = [];
  const totals: number[] = [];
  let beforeSeq = q.beforeSeq;
  for (;;) {
    const page = reader.apiLogPage(orgId, { ...q, beforeSeq });
    expect(page.entries.length).toBeLessThanOrEqual(q.size);
    ids.push(...page.entries.map((e) => e.id));
    totals.push(page.total);
    if (page.nextBeforeSeq === undefined) return { ids, totals };
    beforeSeq = page.nextBeforeSeq;
  }
}

/** A random filter: each field present or not, times taken from real entries (boundaries hit exactly). */
function randomQuery(orgId: string): Omit<LogQuery, 'size'> {
  const times = everything(orgId).map((e) => e.time);
  const a = times[pick(times.length)]!;
  const b = times[pick(times.length)]!;
  const q: { -readonly [K in keyof LogQuery]?: LogQuery[K] } = {};
  if (pick(3) === 0) q.startTime = a < b ? a : b;
  if (pick(3) === 0) q.endTime = a < b ? b : a;
  if (pick(3) === 0) q.status = STATUSES[pick(STATUSES.length)];
  if (pick(3) === 0) q.keyId = ACTORS[pick(ACTORS.length)];
  if (pick(3) === 0) q.route = pick(2) ? RPCS[pick(RPCS.length)]![0] : RPCS[pick(RPCS.length)]![1];
  return q;
}

const facetsOf = (orgId: string) => store.dbs.apiLogFacets.getKeysCount({ start: [orgId], end: [orgId, '\uffff'] });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-call-log-'));
  store = openStore(dir, { readOnly: false });
  writer = new StoreWriter(store);
  reader = new StoreReader(store);
  const org = (name: string) => value({ op: 'createOrganisation', name, user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 }).id;
  orgA = org('a');
  orgB = org('b');
  for (let i = 0; i < 6; i++) append([orgA, orgB], 500);
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('call-log listing by key range', () => {
  it('lists newest first, every filter and page agreeing with a naive scan', () => {
    expect(walk(orgA, { size: 1000 }).ids).toEqual(naive(orgA, {}));
    for (let i = 0; i < 60; i++) {
      const q = randomQuery(orgA);
      const size = [1, 7, 50, 1000][pick(4)]!;
      const expected = naive(orgA, q);
      const { ids, totals } = walk(orgA, { ...q, size });
      expect(ids, JSON.stringify({ q, size })).toEqual(expected);
      expect(new Set(totals), JSON.stringify(q)).toEqual(new Set([expected.length]));
    }
  });

  it('time bounds: start inclusive, end exclusive, outside the log empty', () => {
    const [newest, , third] = everything(orgA);
    expect(walk(orgA, { startTime: newest!.time, size: 50 }).ids).toEqual(naive(orgA, { startTime: newest!.time }));
    expect(walk(orgA, { endTime: third!.time, size: 50 }).ids[0]).not.toBe(newest!.id);
    expect(reader.apiLogPage(orgA, { startTime: '2999-01-01T00:00:00.000Z', size: 10 })).toEqual({ entries: [], nextBeforeSeq: undefined, total: 0 });
    expect(reader.apiLogPage(orgA, { endTime: '2000-01-01T00:00:00.000Z', size: 10 }).total).toBe(0);
    expect(reader.apiLogPage('org_none', { status: 200, size: 10 }).total).toBe(0);
  });

  it('a cursor stays exact while entries are appended between pages', () => {
    for (const q of [{}, { status: 200 }, { keyId: 'apikey_a', route: 'Check' }] as Omit<LogQuery, 'size'>[]) {
      const before = naive(orgA, q);
      const first = reader.apiLogPage(orgA, { ...q, size: 20 });
      append([orgA, orgB], 300);
      const rest = walk(orgA, { ...q, size: 20, beforeSeq: first.nextBeforeSeq });
      expect([...first.entries.map((e) => e.id), ...rest.ids]).toEqual(before);
      expect(rest.totals[0]).toBe(naive(orgA, q).length); // the total counts the new entries too
    }
  });

  it('retention removes the facets with the entries; the listing follows', () => {
    expect(walk(orgA, { size: 1000 }).ids.length).toBeGreaterThan(1000); // the columns hold them all
    append([orgA], 200, 1000);
    expect(everything(orgA)).toHaveLength(1000);
    expect(facetsOf(orgA)).toBe(1000);
    for (let i = 0; i < 10; i++) {
      const q = randomQuery(orgA);
      expect(walk(orgA, { ...q, size: 100 }).ids).toEqual(naive(orgA, q));
    }
  });

  it('an older store without facets gets them written on open', async () => {
    const expected = naive(orgB, { status: 409 });
    const before = facetsOf(orgB);
    store.root.transactionSync(() => {
      store.dbs.meta.removeSync(META.callLogFacets);
      for (const key of [...store.dbs.apiLogFacets.getKeys()]) store.dbs.apiLogFacets.removeSync(key);
    });
    reader = new StoreReader(store); // a new process: nothing in memory
    expect(reader.apiLogPage(orgB, { status: 409, size: 10 }).total).toBe(0);
    writer = new StoreWriter(store);
    reader = new StoreReader(store);
    expect(facetsOf(orgB)).toBe(before);
    expect(walk(orgB, { status: 409, size: 25 }).ids).toEqual(expected);
  });
});
