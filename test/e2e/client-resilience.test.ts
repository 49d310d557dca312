// The client behind a misbehaving proxy, over REST and gRPC: retries of 429/503 honouring Retry-After, timeouts that are
// not retried, and the revision tokens each consistency mode sends.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Permio, PermioError } from '../../src/client/index.js';
import { RPCS } from '../../src/client/wire.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { grpcProxy, restProxy, type Proxy, type Rule, type SeenRequest } from '../helpers/misbehaving-proxy.js';

let server: RunningServer;
let orgId: string;
let proxy: Proxy | undefined;
const clients: Permio[] = [];

beforeAll(async () => {
  server = await startServer();
  const admin = new Permio({ url: server.httpUrl, apiKey: server.adminKey });
  orgId = (await admin.organisations.create({ name: 'resilience', user_id: 'u' })).organisation.id;
  await admin.permissions.create({ organisation_id: orgId, name: 'doc.read' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
  proxy = undefined;
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

const errorBody = (code: number, message: string) => ({ error: { code, message } });
const rateLimited = (retryAfter: string) => ({ status: 429, body: errorBody(429, 'Rate limit exceeded.'), headers: { 'retry-after': retryAfter } });
const unavailable = { status: 503, body: errorBody(503, 'Unavailable: try later') };
const isCheck = (r: SeenRequest) => r.route === 'Check' || r.route.startsWith('POST /v1/check');
const isListGrants = (r: SeenRequest) => r.route === 'ListGrants' || r.route.startsWith('GET /v1/grants');
const isGrant = (r: SeenRequest) => r.route === 'Grant' || r.route.startsWith('POST /v1/grants');

/** The consistency a read carried: the Check body's `consistency` (fields at their proto default left out), ListGrants' `at_least_revision` (REST: the query). */
function consistencyOf(r: SeenRequest): unknown {
  if (isCheck(r)) {
    const set = Object.entries(r.body.consistency ?? {}).filter(([, v]) => v !== '' && v !== false && v !== undefined);
    return set.length === 0 ? null : Object.fromEntries(set);
  }
  if (r.route === 'ListGrants') return r.body.at_least_revision || null;
  return new URL(r.route.split(' ')[1]!, 'http://x').searchParams.get('at_least_revision');
}

describe.each(['rest', 'grpc'] as const)('over %s', (transport) => {
  async function behind(rule: Rule, options: Partial<ConstructorParameters<typeof Permio>[0]> = {}): Promise<Permio> {
    proxy = transport === 'rest' ? await restProxy(server.httpUrl, rule) : await grpcProxy(server.grpcAddress, rule);
    const address = transport === 'rest' ? { url: proxy.address } : { url: 'http://unused', grpcAddress: proxy.address };
    const c = new Permio({ ...address, apiKey: server.adminKey, transport, organisationId: orgId, ...options });
    clients.push(c);
    return c;
  }
  const check = (c: Permio) => c.check({ principal_id: 'a', resource_uris: ['/x'], permissions: ['doc.read'] });
  const checks = () => proxy!.seen.filter(isCheck).length;

  it('429 and 503 are retried (default 2 retries: 3 attempts), then the answer is returned', async () => {
    const c = await behind((r, i) => (i === 0 ? rateLimited('0') : i === 1 ? unavailable : { forward: true }));
    expect(await check(c)).toEqual({ passed: false, missing_permissions: [{ resource_uri: '/x', missing_permissions: ['doc.read'] }] });
    expect(checks()).toBe(3);
  });

  it('after `retries` retries the last error is thrown', async () => {
    const c = await behind(() => unavailable);
    const err = (await check(c).catch((e) => e)) as PermioError;
    expect(err).toBeInstanceOf(PermioError);
    expect([err.status, err.code, err.message, err.unreachable]).toEqual([503, 'UNAVAILABLE', 'Unavailable: try later', false]);
    expect(checks()).toBe(3);
  });

  it('retries: 0 makes one attempt; other errors are never retried', async () => {
    const once = await behind(() => rateLimited('0'), { retries: 0 });
    expect(((await check(once).catch((e) => e)) as PermioError).status).toBe(429);
    expect(checks()).toBe(1);
    await proxy!.close();
    const bad = await behind(() => ({ status: 400, body: errorBody(400, 'Invalid request: no') }));
    expect(((await check(bad).catch((e) => e)) as PermioError).code).toBe('INVALID_ARGUMENT');
    expect(checks()).toBe(1);
  });

  it("Retry-After is honoured: the retry waits at least the server's delay", async () => {
    const c = await behind((_r, i) => (i === 0 ? rateLimited('1') : { forward: true }));
    const started = Date.now();
    await check(c);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(checks()).toBe(2);
  });

  it('a timeout aborts the request with DEADLINE_EXCEEDED (504) and is not retried', async () => {
    const c = await behind(() => ({ hang: true }), { timeoutMs: 300 });
    const err = (await check(c).catch((e) => e)) as PermioError;
    expect(err).toBeInstanceOf(PermioError);
    expect([err.status, err.code]).toEqual([504, 'DEADLINE_EXCEEDED']);
    expect(checks()).toBe(1);
  });

  /** Forwards everything, answers Check and ListGrants itself (the tokens below are made up), stamps Grant answers with `tokens`. */
  function tokenRule(tokens: string[]): Rule {
    return (r) => {
      if (isCheck(r)) return { status: 200, body: { passed: true, missing_permissions: [] } };
      if (isListGrants(r)) return { status: 200, body: { grants: [], next_page_token: '', total_items: 0 } };
      if (isGrant(r)) return { forward: true, headers: { 'permio-revision': tokens.shift()! } };
      return { forward: true };
    };
  }
  const grant = (c: Permio) => c.grants.grant({ user_id: 'writer', resource_uri: '/w', permissions: ['doc.read'] }); // never the checked principal

  // over gRPC the fields exist once the protos carry them (SPEC §7); until then grpc-js drops them on the way
  const consistencyOnWire = transport === 'rest' || (RPCS.Check.fields.includes('consistency') && RPCS.ListGrants.fields.includes('at_least_revision'));

  it.runIf(consistencyOnWire)("'session' (default) sends the newest revision of the client's own writes on reads", async () => {
    const c = await behind(tokenRule(['5_aaaaaaaa', '4_bbbbbbbb', 'a_cccccccc']));
    await check(c); // nothing written yet: no constraint
    await grant(c);
    await check(c);
    await c.grants.list({ user_id: 'a' }).page();
    await grant(c); // an older token (answers arriving out of order) does not replace a newer one
    await check(c);
    await grant(c); // base36 'a' = 10 > 5
    await check(c);
    await c.check({ principal_id: 'a', resource_uris: ['/x'], permissions: ['doc.read'], consistency: { fully_consistent: true } });
    const reads = proxy!.seen.filter((r) => isCheck(r) || isListGrants(r)).map(consistencyOf);
    expect(reads).toEqual([
      null,
      { at_least_revision: '5_aaaaaaaa' },
      '5_aaaaaaaa',
      { at_least_revision: '5_aaaaaaaa' },
      { at_least_revision: 'a_cccccccc' },
      { fully_consistent: true }, // a request's own consistency wins
    ]);
  });

  it.runIf(consistencyOnWire)("'full' sends fully_consistent; 'minimize_latency' sends nothing", async () => {
    const full = await behind(tokenRule(['5_aaaaaaaa']), { consistency: 'full' });
    await check(full);
    await grant(full);
    await check(full);
    await full.grants.list({ user_id: 'a' }).page();
    const fullReads = proxy!.seen.filter((r) => isCheck(r) || isListGrants(r)).map(consistencyOf);
    expect(fullReads).toEqual([{ fully_consistent: true }, { fully_consistent: true }, '5_aaaaaaaa']);
    await proxy!.close();

    const fast = await behind(tokenRule(['6_aaaaaaaa']), { consistency: 'minimize_latency' });
    await grant(fast);
    await check(fast);
    await fast.grants.list({ user_id: 'a' }).page();
    expect(proxy!.seen.filter((r) => isCheck(r) || isListGrants(r)).map(consistencyOf)).toEqual([null, null]);
  });
});
