// Shared e2e assertions and fixtures: the exact error shape over both transports (SPEC §5), timestamps, orgs and keys.
import { expect } from 'vitest';
import { GRPC_CODE_BY_STATUS } from '../../src/errors.js';
import type { ApiClient, ApiResult } from './api.js';
import type { GrpcResult } from './grpc-client.js';
import type { Client, HttpResult } from './http.js';

/** A client with the REST interface: plain REST, or either transport. */
type AnyClient = Client | ApiClient;

/** RFC 3339, UTC (`Z`), optional fraction (SPEC §3). */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Text that must never reach a client: stack frames and source locations. */
export const STACK_TRACE = /\n\s+at |node:internal|\/src\/[\w/-]+\.[jt]s|\.[jt]s:\d+:\d+/;

/** Any call's result: REST, the two-transport client's, or the raw gRPC client's. */
export type AnyResult = HttpResult | ApiResult | GrpcResult;

const isGrpcResult = (res: AnyResult): res is GrpcResult => !('status' in res);

/** A result printed into assertion messages (truncated). */
export function show(res: AnyResult): string {
  const text = typeof res.body === 'string' ? res.body : (JSON.stringify(res.body) ?? 'undefined');
  const cut = text.length > 600 ? text.slice(0, 600) + '…' : text;
  if (isGrpcResult(res)) return `gRPC code ${res.code} ${res.message} ${cut}`;
  if ('inexpressible' in res && res.inexpressible !== undefined) return `(not sent over ${res.transport}: ${res.inexpressible})`;
  const grpc = 'grpc' in res && res.grpc !== undefined ? `gRPC code ${res.grpc.code} ` : '';
  return `${grpc}${res.status} ${cut}`;
}

/**
 * Asserts the error body `{"error":{"code":status,"message":"…","details":[…]?}}`, nothing else, no stack trace;
 * `mentions` must appear in the message or details (field names, ids).
 */
export function expectErrorBody(body: any, status: number, mentions: readonly string[], m: string): void {
  expect(typeof body, m).toBe('object');
  expect(body, m).not.toBeNull();
  expect(Object.keys(body), m).toEqual(['error']);
  const e = body.error;
  expect(typeof e, m).toBe('object');
  const extra = Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'details');
  expect(extra, m).toEqual([]);
  expect(e.code, m).toBe(status);
  expect(typeof e.message, m).toBe('string');
  expect(e.message.length, m).toBeGreaterThan(0);
  if ('details' in e) expect(Array.isArray(e.details), m).toBe(true);
  expect(JSON.stringify(body), m).not.toMatch(STACK_TRACE);
  const text = `${e.message} ${JSON.stringify(e.details ?? [])}`;
  for (const x of mentions) {
    const escaped = JSON.stringify(x).slice(1, -1);
    expect(text.includes(x) || text.includes(escaped), `error should mention ${JSON.stringify(x)}: ${m}`).toBe(true);
  }
}

/**
 * The one error asserter, for both transports (SPEC §5): REST — the HTTP status and a JSON content type; gRPC — the
 * code mapped from `status` and the same message in the status and in the `permio-error` trailer; both — the error
 * body of {@link expectErrorBody}. A request that cannot travel over the client's transport passes: nothing was sent.
 */
export function expectError(res: AnyResult, status: number, mentions: readonly string[] = [], context = ''): void {
  const m = (context ? `${context}: ` : '') + show(res);
  if (isGrpcResult(res)) {
    expect(res.code, m).toBe(GRPC_CODE_BY_STATUS[status]);
    expect(res.body?.error?.message, m).toBe(res.message);
  } else {
    if ('inexpressible' in res && res.inexpressible !== undefined) return;
    expect(res.status, m).toBe(status);
    if ('grpc' in res && res.grpc !== undefined) {
      expect(res.grpc.code, m).toBe(GRPC_CODE_BY_STATUS[status]);
      expect(res.body?.error?.message, m).toBe(res.grpc.message);
    } else expect(res.headers.get('content-type') ?? '', m).toMatch(/^application\/json/);
  }
  expectErrorBody(res.body, status, mentions, m);
}

/** Asserts a 200 (gRPC: OK) and returns the body. */
export function ok<T = any>(res: HttpResult<T> | ApiResult<T> | GrpcResult<T>): T {
  if (isGrpcResult(res)) expect(res.code, show(res)).toBe(0);
  else {
    if ('inexpressible' in res && res.inexpressible !== undefined) throw new Error(`ok() of a request not sent: ${show(res)}`);
    expect(res.status, show(res)).toBe(200);
  }
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
export async function createOrg(admin: AnyClient, name = 'Acme Inc.', userId = 'owner'): Promise<OrgFixture> {
  const created = ok(await admin.post('/v1/organisations', { name, user_id: userId }));
  const orgId = created.organisation.id as string;
  const key = ok(await admin.post(`/v1/organisations/${orgId}/apikeys`, { name: 'org key' })).api_key;
  return { orgId, org: created.organisation, orgKey: key.key, orgKeyId: key.id };
}

/** Creates an API key (a project key when `projectName` is given); returns `{id, key}`. */
export async function createKey(admin: AnyClient, orgId: string, name: string, projectName?: string) {
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
export async function collectPages(api: AnyClient, path: string, listKey: string, pageSize: number): Promise<any[]> {
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
