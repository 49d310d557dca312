// Shared e2e assertions and fixtures: the exact error shape (SPEC §5), timestamps, orgs and keys over real HTTP.
import { expect } from 'vitest';
import type { Client, HttpResult } from './http.js';

/** RFC 3339, UTC (`Z`), optional fraction (SPEC §3). */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Text that must never reach a client: stack frames and source locations. */
const STACK_TRACE = /\n\s+at |node:internal|\/src\/[\w/-]+\.[jt]s|\.[jt]s:\d+:\d+/;

/** A JSON body printed into assertion messages (truncated). */
export function show(res: HttpResult): string {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  return `${res.status} ${text.length > 600 ? text.slice(0, 600) + '…' : text}`;
}

/**
 * Asserts `{"error":{"code":status,"message":"…","details":[…]?}}` with the HTTP status, nothing else,
 * and no stack trace. `mentions`: strings the message or details must contain (field names, ids).
 */
export function expectError(res: HttpResult, status: number, mentions: readonly string[] = [], context = ''): void {
  const m = (context ? `${context}: ` : '') + show(res);
  expect(res.status, m).toBe(status);
  expect(res.headers.get('content-type') ?? '', m).toMatch(/^application\/json/);
  expect(typeof res.body, m).toBe('object');
  expect(res.body, m).not.toBeNull();
  expect(Object.keys(res.body), m).toEqual(['error']);
  const e = res.body.error;
  expect(typeof e, m).toBe('object');
  const extra = Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'details');
  expect(extra, m).toEqual([]);
  expect(e.code, m).toBe(status);
  expect(typeof e.message, m).toBe('string');
  expect(e.message.length, m).toBeGreaterThan(0);
  if ('details' in e) expect(Array.isArray(e.details), m).toBe(true);
  expect(JSON.stringify(res.body), m).not.toMatch(STACK_TRACE);
  const text = `${e.message} ${JSON.stringify(e.details ?? [])}`;
  for (const x of mentions) {
    const escaped = JSON.stringify(x).slice(1, -1);
    expect(text.includes(x) || text.includes(escaped), `error should mention ${JSON.stringify(x)}: ${m}`).toBe(true);
  }
}

/** Asserts a 200 and returns the body. */
export function ok<T = any>(res: HttpResult<T>): T {
  expect(res.status, show(res)).toBe(200);
  return res.body;
}

/** Asserts `x` is a timestamp within `slackMs` of now. */
export function expectRecentTimestamp(x: unknown, slackMs = 120_000): void {
  expect(typeof x).toBe('string');
  expect(x as string).toMatch(RFC3339_UTC);
  expect(Math.abs(Date.parse(x as string) - Date.now())).toBeLessThan(slackMs);
}

export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort();
}

export interface OrgFixture {
  orgId: string;
  /** The organisation object as created. */
  org: any;
  /** An organisation key (all projects). */
  orgKey: string;
  orgKeyId: string;
}

/** Creates an organisation with the operator key, plus an organisation key. */
export async function createOrg(admin: Client, name = 'Acme Inc.', userId = 'owner'): Promise<OrgFixture> {
  const created = ok(await admin.post('/v1/organisations', { name, user_id: userId }));
  const orgId = created.organisation.id as string;
  const key = ok(await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'org key' })).api_key;
  return { orgId, org: created.organisation, orgKey: key.key, orgKeyId: key.id };
}

/** Creates an API key (a project key when `projectName` is given); returns `{id, key}`. */
export async function createKey(admin: Client, orgId: string, name: string, projectName?: string) {
  const body = projectName === undefined ? { name } : { name, project_name: projectName };
  const k = ok(await admin.post(`/v1/organisations/${orgId}/apikeys`, body)).api_key;
  return { id: k.id as string, key: k.key as string };
}

/** Runs `fn` over `items` with at most `width` requests in flight; results in input order. */
export async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/**
 * Walks a list with `page_size` and returns every item, asserting the page contract on the way (SPEC §5):
 * full pages until the last, the same numeric `total_items` on every page, `next_page_token` "" only at the end.
 */
export async function collectPages(api: Client, path: string, listKey: string, pageSize: number): Promise<any[]> {
  const sep = path.includes('?') ? '&' : '?';
  const items: any[] = [];
  let token = '';
  let total: number | undefined;
  for (let page = 0; page < 2000; page++) {
    const url = `${path}${sep}page_size=${pageSize}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
    const res = await api.get(url);
    const body = ok(res);
    expect(sortedKeys(body), show(res)).toEqual([listKey, 'next_page_token', 'total_items'].sort());
    expect(Array.isArray(body[listKey]), show(res)).toBe(true);
    expect(typeof body.total_items, show(res)).toBe('number');
    expect(typeof body.next_page_token, show(res)).toBe('string');
    if (total === undefined) total = body.total_items;
    expect(body.total_items, show(res)).toBe(total);
    expect(body[listKey].length, show(res)).toBeLessThanOrEqual(pageSize);
    items.push(...body[listKey]);
    if (body.next_page_token === '') {
      expect(items.length, 'total_items equals the number of items walked').toBe(total);
      return items;
    }
    expect(body[listKey].length, `a page before the last is full: ${show(res)}`).toBe(pageSize);
    token = body.next_page_token;
  }
  throw new Error(`pagination of ${path} did not end`);
}
