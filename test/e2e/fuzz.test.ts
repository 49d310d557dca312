// Property-based fuzzing of every REST route and RPC over real sockets: generated garbage in; a 200 with JSON or the
// SPEC §5 error shape out — never a 5xx, a hang or a crash — and a healthy, still-correct server afterwards.
// Every route meets every hostile class once per property; FUZZ_RUNS=20 runs each case 20 times for a long local run.
// Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz.test.ts
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_DIR, PROTO_FILES, PROTO_PACKAGE, SERVICE_NAMES, serviceDefinition } from '../../src/api/grpc/proto.js';
import { ERROR_METADATA_KEY } from '../../src/api/grpc/status.js';
import { ROUTES, type RouteSpec } from '../../src/api/operations.js';
import { GRPC_CODE_BY_STATUS } from '../../src/errors.js';
import { expectErrorBody, STACK_TRACE } from '../helpers/expect-api.js';
import { sendBytes, type ByteResult } from '../helpers/raw-bytes.js';
import { startServer, type RunningServer } from '../helpers/server.js';

/** What a REST route may answer (SPEC §5); anything else — 5xx above all — is a bug. */
const ANSWER_STATUSES: readonly number[] = [200, 400, 401, 403, 404, 405, 409, 413, 429];
/** gRPC codes that are never an answer: INTERNAL/UNKNOWN are bugs, UNAVAILABLE a crash, DEADLINE_EXCEEDED a hang. */
const BAD_GRPC_CODES: readonly grpc.status[] = [grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED];
/** A request unanswered this long is a hang (the slowest legitimate one here, a 1 MiB body, takes ~50 ms). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Malformed framing must be answered (or refused) at once, not left to the idle timeout. */
const FRAMING_TIMEOUT_MS = 3_000;
/** The largest request head the random properties send (uWS reads heads up to ~64 KiB that arrive in one piece). */
const SAFE_HEAD_BYTES = 4_000; // bigger heads may reach uWS in pieces and be dropped (known limitation, see the framing tests)
/** uWS buffers at most this much of a request head that arrives in several reads (a compiled-in limit). */
const SPLIT_HEAD_LIMIT_BYTES = 4_096;
/** How long a server that stopped answering gets to exit (a crash) before it counts as hung. */
const CRASH_EXIT_WAIT_MS = 3_000;
/** Longer than any id we issue, and than an LMDB key may be (lmdb-js: "String does not fit in target buffer" → 500). */
const LONG_ID_BYTES = 5_000;
/** An Authorization value far longer than any key (the server must not hash or cache it). */
const HUGE_KEY_CHARS = 20_000;
/** Bounds each property, shrinking included, so a failing run still finishes within the test timeout. */
const PROPERTY_TIME_LIMIT_MS = 45_000;
/** FUZZ_RUNS=N runs every fuzz case N times (default 1) for a long local run; FUZZ_SEED=<n> replays a printed failure. */
const FUZZ_RUNS = Math.max(1, Math.floor(Number(process.env.FUZZ_RUNS ?? 1)));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const TEST_TIMEOUT_MS = 90_000 * FUZZ_RUNS;

function runs<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns: numRuns * FUZZ_RUNS,
    seed: SEED,
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
    timeout: 3 * REQUEST_TIMEOUT_MS,
    verbose: 1,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The server (restarted on the same data if a request kills it, so shrinking keeps finding the real culprit)
// ---------------------------------------------------------------------------------------------------------------

let server: RunningServer;
/** Bumped on every restart; gRPC channels are rebuilt when it changes. */
let generation = 0;
/** Crash reports (exit code, the requests just before, the log tail), printed once more at the end. */
const crashes: string[] = [];
/** The last few requests sent, for crash reports. */
const recent: string[] = [];

function remember(description: string): void {
  recent.push(description.length > 400 ? description.slice(0, 400) + '…' : description);
  if (recent.length > 5) recent.shift();
}

function alive(): boolean {
  return server.process.exitCode === null && server.process.signalCode === null;
}

function tail(text: string, lines = 15): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Resolves true once the server process has exited, false if it is still running after `ms`. */
function waitForExit(ms: number): Promise<boolean> {
  if (!alive()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    server.process.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Restarts the server on its data directory if it died (reported by the run that killed it). */
async function ensureServer(): Promise<void> {
  if (alive()) return;
  server = await startServer({ dataDir: server.dataDir, adminKey: server.adminKey });
  generation++;
}

/** A crash report naming the last requests; the process is killed first if it hangs rather than died. */
async function crashReport(what: string): Promise<Error> {
  const exited = await waitForExit(CRASH_EXIT_WAIT_MS);
  if (!exited) await server.kill(); // hung: our own child, killed so the next run starts a fresh one
  const report =
    `${what} (exit code: ${server.process.exitCode}, signal: ${server.process.signalCode}${exited ? '' : ', hung: killed'})\n` +
    `last requests:\n  ${recent.join('\n  ')}\nserver output:\n${tail(server.output())}`;
  crashes.push(report);
  return new Error(report);
}

/** `/healthz`'s status, or the transport error in its place. */
async function healthz(): Promise<number | string> {
  try {
    return (await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).status;
  } catch (e) {
    return String((e as Error).cause ?? e);
  }
}

/** Fails the run if the server died or stopped answering `/healthz` after the request just sent. */
async function expectAlive(): Promise<void> {
  const status = await healthz();
  if (status === 200 && alive()) return;
  throw await crashReport(`server unhealthy after the request (healthz: ${status})`);
}

/** The error for a request that got no answer: a crash report if the server is down, else the request alone. */
async function transportFailure(cause: string, request: string): Promise<Error> {
  const status = await healthz();
  if (status !== 200 || !alive()) return crashReport(`transport error: ${cause}`);
  return new Error(`transport error: ${cause}; the server itself is still healthy\nrequest: ${request}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: the fuzzed organisation, its keys and objects; a sentinel organisation the fuzz never names
// ---------------------------------------------------------------------------------------------------------------

interface Fixtures {
  orgId: string;
  otherOrgId: string;
  keys: { org: string; project: string; other: string; invalidated: string };
  permId: string;
  roleId: string;
  spareKeyId: string;
  token: string;
  /** The known-good check: a grant the fuzz cannot reach (its organisation id and key are never generated). */
  sentinel: { key: string; request: object };
}

let fx: Fixtures;

async function setupCall(key: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(server.httpUrl + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`setup ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function createFixtures(): Promise<Fixtures> {
  const admin = server.adminKey;
  const newOrg = async (name: string) => {
    const orgId = (await setupCall(admin, 'POST', '/v1/organisations', { name, user_id: 'owner' })).organisation.id as string;
    const key = (await setupCall(admin, 'POST', `/v1/organisations/${orgId}/apikeys`, { name: 'org key' })).api_key.key as string;
    return { orgId, key };
  };
  const fuzz = await newOrg('Fuzz Org');
  const other = await newOrg('Other Org');
  const sentinel = await newOrg('Sentinel Org');
  const keyOf = async (body: object) => (await setupCall(admin, 'POST', `/v1/organisations/${fuzz.orgId}/apikeys`, body)).api_key;
  const project = await keyOf({ name: 'project key', project_name: 'default' });
  const spare = await keyOf({ name: 'spare key' });
  const invalidated = await keyOf({ name: 'invalidated key' });
  await setupCall(admin, 'DELETE', `/v1/organisations/${fuzz.orgId}/apikeys/${invalidated.id}`);
  await setupCall(admin, 'POST', `/v1/organisations/${fuzz.orgId}/projects`, { name: 'spare' });
  const perm = await setupCall(fuzz.key, 'POST', '/v1/permissions', { project_name: 'default', name: 'fz.read' });
  const role = await setupCall(fuzz.key, 'POST', '/v1/roles', { project_name: 'default', name: 'Fuzz Reader', permissions: [perm.id] });
  await setupCall(fuzz.key, 'POST', '/v1/grants', { project_name: 'default', user_id: 'fuzz-user', resource_uri: '/a', roles: [role.id] });
  const token = (await setupCall(fuzz.key, 'POST', `/v1/organisations/${fuzz.orgId}/invitations`, { email: 'fz@acme.test' })).invitation.token;

  await setupCall(sentinel.key, 'POST', '/v1/permissions', { project_name: 'default', name: 'sentinel.read' });
  await setupCall(sentinel.key, 'POST', '/v1/grants', {
    project_name: 'default',
    user_id: 'sentinel-user',
    resource_uri: '/teams/eng',
    permissions: ['sentinel.read'],
  });
  return {
    orgId: fuzz.orgId,
    otherOrgId: other.orgId,
    keys: { org: fuzz.key, project: project.key, other: other.key, invalidated: invalidated.key },
    permId: perm.id,
    roleId: role.id,
    spareKeyId: spare.id,
    token,
    sentinel: {
      key: sentinel.key,
      request: {
        project_name: 'default',
        principal_id: 'sentinel-user',
        resource_uris: ['/teams/eng/app', '/teams/engineering', '/teams/eng'],
        permissions: ['sentinel.read'],
      },
    },
  };
}

/** The expected answer of the sentinel check: a grant on `/teams/eng` covers its descendants, never `/teams/engineering`. */
const SENTINEL_ANSWER = { passed: false, missing_permissions: [{ resource_uri: '/teams/engineering', missing_permissions: ['sentinel.read'] }] };

/** `/healthz` is 200 and the known-good check answers exactly as before, over both transports. */
async function expectHealthy(): Promise<void> {
  expect(alive(), `the server died:\n${tail(server.output())}`).toBe(true);
  const health = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  expect(health.status).toBe(200);
  const check = await fetch(`${server.httpUrl}/v1/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fx.sentinel.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(fx.sentinel.request),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  expect(check.status).toBe(200);
  expect(await check.json()).toEqual(SENTINEL_ANSWER);
  const viaGrpc = await grpcCall('Check', fx.sentinel.request, [['authorization', `Bearer ${fx.sentinel.key}`]]);
  expect(viaGrpc.code, viaGrpc.details).toBe(grpc.status.OK);
  expect(viaGrpc.response).toEqual(SENTINEL_ANSWER);
}

/** Undoes what a fuzzed UpdateOrganisation may have done to the fuzzed organisations: a `free` plan would 429 the rest. */
async function resetPlans(): Promise<void> {
  for (const id of [fx.orgId, fx.otherOrgId]) {
    await setupCall(server.adminKey, 'PATCH', `/v1/organisations/${id}`, { plan: 'enterprise', rate_limit_per_minute: 0 });
  }
}

beforeAll(async () => {
  server = await startServer();
  fx = await createFixtures();
});

afterEach(async () => {
  await ensureServer(); // a crash was reported by its property; check the restarted server too
  await resetPlans();
  await expectHealthy();
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  closeGrpc();
  if (crashes.length > 0) console.error(`the server crashed ${crashes.length} time(s):\n\n${crashes.join('\n\n')}`);
  await server?.stop();
  server?.cleanup();
});

// ---------------------------------------------------------------------------------------------------------------
// Recipes: generated values stay small and printable; huge, deep and long ones are tags expanded when sent
// ---------------------------------------------------------------------------------------------------------------

/** A string of `$huge` characters. */
interface Huge {
  $huge: number;
}
/** `[[[…]]]` or `{"a":{"a":…}}` nested `$deep` levels, written as text (no recursion on either side of the wire). */
interface Deep {
  $deep: number;
  kind: 'array' | 'object';
}
/** An array of `$many` elements. */
interface Many {
  $many: number;
  of: 'uri' | 'name' | 'number';
}

const isTag = (v: unknown, tag: string): boolean => typeof v === 'object' && v !== null && tag in v;

/** A generated string, or a `$huge` tag standing for one. */
type Text = string | Huge;

function text(t: Text): string {
  return typeof t === 'string' ? t : 'x'.repeat(t.$huge);
}

/** Writes a recipe as JSON text. */
function jsonText(v: unknown): string {
  if (isTag(v, '$huge')) return `"${'x'.repeat((v as Huge).$huge)}"`;
  if (isTag(v, '$deep')) {
    const { $deep: n, kind } = v as Deep;
    return kind === 'array' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + 'null' + '}'.repeat(n);
  }
  if (isTag(v, '$many')) return JSON.stringify(manyValues(v as Many));
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function manyValues({ $many: n, of }: Many): unknown[] {
  return Array.from({ length: n }, (_, i) => (of === 'number' ? i : of === 'uri' ? `/m/${i}` : `p.${i}`));
}

/** A recipe as a plain value (gRPC messages, query strings); `$deep` becomes its text. */
function plain(v: unknown): unknown {
  if (isTag(v, '$huge')) return 'x'.repeat((v as Huge).$huge);
  if (isTag(v, '$deep')) return jsonText(v);
  if (isTag(v, '$many')) return manyValues(v as Many);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Percent-encodes every byte outside the unreserved set (lone surrogates become U+FFFD, as a browser would send). */
function pct(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------------

/** Strings that have broken parsers before: path tricks, encodings, controls, surrogates, look-alike ids. */
const ODD_STRINGS = [
  '', ' ', '.', '..', '/', '//', '///', '/.', '/..', '/a/../b', '/a/./b', '/a//b', '/a/', 'a', 'no-slash', '\\', '/a\\b',
  '%00', '/a%00b', '/%2e%2e/x', '/a%2Fb', '%', '%zz', '%ff', '\u0000', '/a\u0000b', '\t', '/a\nb', '\r\n', '\u007f', '\u0085',
  '\u009f', '\u2028', '\ufeff', '\ud800', '\udfff', '/\ud83e', '🦄', '/é/ü', 'e\u0301', '/ａ', '*', '?', '#', '&', '=', '{}',
  '[]', '"', "'", '<script>', 'null', 'undefined', 'NaN', '-0', '1e309', '__proto__', 'constructor', 'toString',
  'hasOwnProperty', 'perms_api_', 'org_', 'perm_', 'role_', 'apikey_', 'default', 'DEFAULT', 'Default ', 'fz.read', 'FZ.READ',
];

const hugeString: fc.Arbitrary<Huge> = fc.constantFrom(129, 257, 1_025, 4_097, 65_537, 1_048_577).map(($huge) => ({ $huge }));

const segment = fc.oneof(
  fc.constantFrom('', '.', '..', 'a', 'eng', 'engineering', '%2e%2e', '%00', '%2F', '\u0000', '\u0001', '\u001f', ' ', 'é', '🦄', '\ud800'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** The classes of odd resource URIs: odd constants, generated paths with odd segments, without a leading '/', over-long. */
const ODD_URI_CLASSES: readonly fc.Arbitrary<unknown>[] = [
  fc.constantFrom(...ODD_STRINGS),
  fc.array(segment, { maxLength: 6 }).map((s) => '/' + s.join('/')),
  fc.array(segment, { maxLength: 6 }).map((s) => s.join('/')),
  fc.constantFrom(1_023, 1_024, 1_025, 4_096).map((n) => '/' + 'a'.repeat(n - 1)),
  fc.constantFrom(200, 600).map((n) => '/a'.repeat(n)),
];
const oddUri: fc.Arbitrary<unknown> = fc.oneof(...ODD_URI_CLASSES);

/** Any string: odd constants, any code points (controls, lone surrogates), graphemes, huge. */
const oddString: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: oddUri },
  { weight: 1, arbitrary: hugeString },
);

const oddNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1e308, -1e308, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53, Number.MAX_SAFE_INTEGER, 1e-300),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Values of any JSON type, nested a little. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, [], {}, [null], [[]], { '': '' }, { __proto__: null }),
);

/** The classes of extreme values: huge, deep, long. */
const EXTREME_CLASSES: readonly fc.Arbitrary<unknown>[] = [
  hugeString,
  fc.record({ $deep: fc.constantFrom(1_000, 10_000, 100_000), kind: fc.constantFrom('array' as const, 'object' as const) }),
  fc.record({ $many: fc.constantFrom(1_000, 10_001, 50_000), of: fc.constantFrom('uri' as const, 'name' as const, 'number' as const) }),
];

type FieldKind = 'string' | 'string[]' | 'int' | 'mask';

interface FieldSpec {
  name: string;
  kind: FieldKind;
}

interface RouteInfo {
  spec: RouteSpec;
  /** `{param}` names of the path template. */
  pathParams: string[];
  /** The request message's other fields: the JSON body (body '*') or the query string. */
  fields: FieldSpec[];
  /** Every field of the request message (the gRPC view). */
  messageFields: FieldSpec[];
}

/** Reads each RPC's request fields from the protos, so a new field or route is fuzzed without touching this file. */
function routeInfos(): RouteInfo[] {
  return ROUTES.map((spec) => {
    const type = serviceDefinition(spec.service)[spec.rpc]!.requestType.type as {
      field: { name: string; type: string; label: string; typeName: string }[];
    };
    const messageFields = type.field.map((f): FieldSpec => {
      if (f.type === 'TYPE_MESSAGE') return { name: f.name, kind: 'mask' };
      if (f.label === 'LABEL_REPEATED') return { name: f.name, kind: 'string[]' };
      return { name: f.name, kind: f.type === 'TYPE_STRING' ? 'string' : 'int' };
    });
    const pathParams = [...spec.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
    return { spec, pathParams, fields: messageFields.filter((f) => !pathParams.includes(f.name)), messageFields };
  });
}

const ROUTE_INFOS = routeInfos();
const BODY_ROUTES = ROUTE_INFOS.filter((r) => r.spec.body === '*');

const routeNamed = (rpc: string): RouteInfo => ROUTE_INFOS.find((r) => r.spec.rpc === rpc)!;

/**
 * The fuzz cases of a property: every route and every hostile class at least once, without the whole product —
 * case i pairs route i with class i, both cycling, for max(routes, classes) cases.
 */
function cases<C>(routes: readonly RouteInfo[], classes: readonly C[]): [RouteInfo, C][] {
  const n = Math.max(routes.length, classes.length);
  return Array.from({ length: n }, (_, i) => [routes[i % routes.length]!, classes[i % classes.length]!]);
}

/** Runs each case's arbitrary through `property`, `perCase` × FUZZ_RUNS times (fast-check shrinks within a case). */
async function fuzz<C, T>(
  list: readonly [RouteInfo, C][],
  arbitrary: (route: RouteInfo, cls: C) => fc.Arbitrary<T>,
  property: (value: T) => Promise<void>,
  perCase: number,
): Promise<void> {
  for (const [route, cls] of list) await fc.assert(fc.asyncProperty(arbitrary(route, cls), property), runs(perCase));
}

/** Plausible values per field name: enough to get past validation into scope, object and conflict checks. */
function plausible(name: string, kind: FieldKind): fc.Arbitrary<unknown> {
  const byName: Record<string, fc.Arbitrary<unknown>> = {
    organisation_id: fc.constantFrom(fx.orgId, fx.orgId, fx.otherOrgId, 'org_000000000000000000'),
    project_name: fc.constantFrom('default', 'default', 'spare', 'nope'),
    permission_id: fc.constantFrom(fx.permId, 'perm_000000000000000000'),
    role_id: fc.constantFrom(fx.roleId, 'role_000000000000000000'),
    apikey_id: fc.constantFrom(fx.spareKeyId, 'apikey_000000000000000000'),
    token: fc.constantFrom(fx.token, 'no-such-token'),
    user_id: fc.constantFrom('fuzz-user', 'owner', 'u-1'),
    principal_id: fc.constantFrom('fuzz-user', 'owner', 'nobody'),
    resource_uri: fc.constantFrom('/', '/a', '/a/b', '/teams/eng/'),
    resource_uris: fc.constantFrom(['/a'], ['/a/b', '/c'], ['/']),
    permissions: fc.constantFrom(['fz.read'], [fx.permId], ['fz.read', 'nope'], []),
    roles: fc.constantFrom(['Fuzz Reader'], [fx.roleId], []),
    name: fc.oneof(fc.constantFrom('fz.read', 'Fuzz Reader', 'spare'), fc.stringMatching(/^[a-z][a-z0-9._-]{0,12}$/)),
    description: fc.string({ maxLength: 20 }),
    email: fc.constantFrom('fz@acme.test', 'a@b'),
    plan: fc.constantFrom('free', 'pro', 'enterprise'),
    rate_limit_per_minute: fc.constantFrom(0, 10, 1_000_000),
    page_size: fc.constantFrom(1, 2, 50, 1000, 5000),
    page_token: fc.constantFrom(''),
    start_time: fc.constantFrom('2020-01-01T00:00:00Z', '2999-01-01T00:00:00.123Z'),
    end_time: fc.constantFrom('2999-01-01T00:00:00Z'),
    status: fc.constantFrom(200, 400),
    key_id: fc.constantFrom(fx.spareKeyId, 'operator'),
    route: fc.constantFrom('POST /v1/check', '/permio.v1.PermissionsService/Check'),
    update_mask: fc.constantFrom({ paths: ['permissions'] }, { paths: [] }, { paths: ['name', 'nope'] }),
    consistency: fc.constantFrom({}, { fully_consistent: true }, { at_least_revision: '1_aaaaaaaa' }, { at_least_revision: 'no token!' }),
    mode: fc.constantFrom('merge', 'replace', 'x'),
    record: fc.constantFrom(
      { type: 'permission', name: 'fz.imported' },
      { type: 'grant', user_id: 'fuzz-user', resource_uri: '/a', permissions: ['fz.read'] },
      { type: 'grant', user_id: 'fuzz-user', resource_uri: '/a/../b', permissions: ['fz.read'] },
      { type: 'nope' },
      {},
    ),
    line: fc.constantFrom(1, 2, 0),
  };
  return byName[name] ?? (kind === 'string[]' ? fc.constant(['x']) : kind === 'int' ? fc.constant(1) : fc.constant('x'));
}

/** The right JSON type with odd content. */
function oddOfKind(name: string, kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'string':
      return name.includes('resource_uri') ? oddUri : oddString;
    case 'string[]':
      return fc.array(name === 'resource_uris' ? oddUri : oddString, { maxLength: 8 });
    case 'int':
      return oddNumber;
    case 'mask':
      return fc.record({ paths: fc.array(oddString, { maxLength: 4 }) });
  }
}

/** A value for a field: plausible, the right type with odd content, another type, or absent (`undefined`). */
function fieldValue(f: FieldSpec): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: plausible(f.name, f.kind) },
    { weight: 3, arbitrary: oddOfKind(f.name, f.kind) },
    { weight: 2, arbitrary: anyJson },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

type Auth = { kind: 'operator' | 'org' | 'project' | 'other' | 'invalidated' | 'unknown' | 'none' | 'huge' } | { raw: string };

/** Malformed Authorization values (printable ASCII: fetch refuses the rest); `KEY` stands for the organisation key. */
const rawAuthArb: fc.Arbitrary<Auth> = fc
  .oneof(
    fc.constantFrom('Bearer', 'Bearer ', 'bearer KEY', 'BEARER KEY', 'Bearer KEY KEY', 'Bearer  KEY', 'Basic Zm9vOmJhcg==', 'KEY', 'Bearer perms_api_'),
    fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/),
    fc.stringMatching(/^[\x21-\x7e]{1,40}$/).map((s) => `Bearer ${s}`),
  )
  .map((raw) => ({ raw }));

const KEY_KINDS = ['operator', 'org', 'project', 'other', 'invalidated', 'unknown', 'none', 'huge'] as const;

/** The hostile classes of credentials: valid keys of every scope, dead and unknown keys, none, huge, malformed. */
const AUTH_CLASSES: readonly fc.Arbitrary<Auth>[] = [...KEY_KINDS.map((kind) => fc.constant<Auth>({ kind })), rawAuthArb];

/** {@link AUTH_CLASSES} but the huge key, which does not fit the request heads of the fetch-based properties. */
const HEAD_AUTH_CLASSES: readonly fc.Arbitrary<Auth>[] = [
  ...KEY_KINDS.filter((kind) => kind !== 'huge').map((kind) => fc.constant<Auth>({ kind })),
  rawAuthArb,
];

/** Any credentials, valid ones most often. */
const authArb: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('operator', 'org', 'org', 'project', 'other').map((kind) => ({ kind }) as Auth) },
  { weight: 2, arbitrary: fc.constantFrom('invalidated', 'unknown', 'none', 'huge').map((kind) => ({ kind }) as Auth) },
  { weight: 1, arbitrary: rawAuthArb },
);

/** The Authorization header value, or undefined for none; `KEY` in a raw value stands for the organisation key. */
function authorization(auth: Auth): string | undefined {
  if ('raw' in auth) return auth.raw.replaceAll('KEY', fx.keys.org);
  switch (auth.kind) {
    case 'operator':
      return `Bearer ${server.adminKey}`;
    case 'org':
      return `Bearer ${fx.keys.org}`;
    case 'project':
      return `Bearer ${fx.keys.project}`;
    case 'other':
      return `Bearer ${fx.keys.other}`;
    case 'invalidated':
      return `Bearer ${fx.keys.invalidated}`;
    case 'unknown':
      return 'Bearer perms_api_00000000000000000000000000000000';
    case 'huge':
      return `Bearer perms_api_${'k'.repeat(HUGE_KEY_CHARS)}`;
    case 'none':
      return undefined;
  }
}

/** Path parameter text (URL-encoded when sent): a plausible id, percent-encoded junk, raw junk, or very long. */
function pathParamArb(name: string): fc.Arbitrary<Text> {
  const plausibleParam =
    name === 'project_name' ? fc.constantFrom('spare', 'nope') : plausible(name, 'string').map((v) => pct(String(v)));
  return fc.oneof(
    { weight: 4, arbitrary: plausibleParam },
    { weight: 2, arbitrary: oddString.map((v) => (isTag(v, '$huge') ? (v as Huge) : pct(String(v)))) },
    { weight: 2, arbitrary: fc.constantFrom('%', '%zz', '%00', '%ff%fe', '%C0%AF', '%ED%A0%80', '%2e%2e', '%2F', '%252F', ':accept', '~', '-', '_') },
    { weight: 1, arbitrary: fc.constantFrom(1_025, 5_000, 40_000).map(($huge) => ({ $huge })) },
  );
}

/** Query-string junk appended to a GET/DELETE route's query. */
const queryJunk = fc.oneof(
  fc.constant(''),
  fc.constantFrom('&', '&&', '&=', '&=x', '&x', '&%zz=%', '&%00=%00', '&page_size=%ff', '&project_name=default&project_name=spare', '&a[b]=c', '&__proto__=x', '&;', '&+=+'),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => '&' + pct(s) + '=' + pct(s)),
);

interface RestRecipe {
  rpc: string;
  auth: Auth;
  /** Path parameter texts, in template order. */
  params: Text[];
  /** Body fields (body routes) or query parameters; `undefined` values are left out. */
  fields: Record<string, unknown>;
  /** Unknown extra fields. */
  extra: Record<string, unknown>;
  /** Replaces the whole body of a body route: any JSON value, or raw text. */
  body?: { json: unknown } | { text: string };
  query: string;
}

function restRecipe(route: RouteInfo, fields: fc.Arbitrary<Record<string, unknown>>, auth = authArb): fc.Arbitrary<RestRecipe> {
  const isBody = route.spec.body === '*';
  return fc.record({
    rpc: fc.constant(route.spec.rpc),
    auth,
    params: fc.tuple(...route.pathParams.map(pathParamArb)),
    fields,
    extra: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 }) }),
    body: isBody
      ? fc.oneof(
          { weight: 8, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: anyJson.map((json) => ({ json })) },
          { weight: 1, arbitrary: fc.oneof(fc.constantFrom('', ' ', '{', '{"a":', '{"a":1,}', "{'a':1}", 'nul', '{}{}', '\u0000', '{"a":1}x'), fc.string({ unit: 'binary', maxLength: 40 })).map((text) => ({ text })) },
        )
      : fc.constant(undefined),
    query: isBody ? fc.constant('') : queryJunk,
  }) as fc.Arbitrary<RestRecipe>;
}

/** Every field drawn by {@link fieldValue}. */
function randomFields(route: RouteInfo): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(route.fields.map((f) => [f.name, fieldValue(f)])));
}

/** Plausible fields with one of them replaced by `replacement` (another type, an extreme value, or absent). */
function oneFieldReplaced(route: RouteInfo, replacement: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  const base = fc.record(Object.fromEntries(route.fields.map((f) => [f.name, plausible(f.name, f.kind)])));
  if (route.fields.length === 0) return base;
  return fc.tuple(base, fc.constantFrom(...route.fields.map((f) => f.name)), replacement).map(([fields, name, value]) => ({ ...fields, [name]: value }));
}

interface HttpRequest {
  method: string;
  /** Path and query, URL-encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function buildRequest(r: RestRecipe): HttpRequest {
  const route = ROUTE_INFOS.find((x) => x.spec.rpc === r.rpc)!;
  let i = 0;
  let path = route.spec.path.replace(/\{[a-z_]+\}/g, () => text(r.params[i++]!).slice(0, SAFE_HEAD_BYTES / 2));
  const headers: Record<string, string> = {};
  const auth = authorization(r.auth);
  if (auth !== undefined) headers.authorization = auth;
  const all = { ...r.extra, ...r.fields };
  let body: string | undefined;
  if (route.spec.body === '*') {
    headers['content-type'] = 'application/json';
    if (r.body === undefined) {
      body = jsonText(Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)));
    } else body = 'json' in r.body ? jsonText(r.body.json) : r.body.text;
  } else {
    const query = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => {
        const p = plain(v);
        const text = typeof p === 'string' ? p : JSON.stringify(p);
        return `${pct(k)}=${pct(text.slice(0, SAFE_HEAD_BYTES / 8))}`;
      })
      .join('&');
    const q = query + r.query;
    if (q !== '') path += `?${q}`;
  }
  return { method: route.spec.method, path, headers, body };
}

// ---------------------------------------------------------------------------------------------------------------
// Sending and judging answers
// ---------------------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function describeRequest(req: HttpRequest): string {
  const body = req.body === undefined ? '' : ` body(${req.body.length} chars): ${req.body.length > 300 ? req.body.slice(0, 300) + '…' : req.body}`;
  const path = req.path.length > 300 ? `${req.path.slice(0, 300)}… (${req.path.length} chars)` : req.path;
  return `${req.method} ${path} headers: ${JSON.stringify(req.headers).slice(0, 300)}${body}`;
}

/** One request with fetch; a transport error or a timeout fails the run, naming the request. */
async function sendHttp(req: HttpRequest): Promise<Answer> {
  remember(describeRequest(req));
  try {
    const res = await fetch(server.httpUrl + req.path, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
  } catch (e) {
    const cause = (e as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS} ms (hang)` : String((e as Error).cause ?? e);
    throw await transportFailure(cause, describeRequest(req));
  }
}

/** A status from {@link ANSWER_STATUSES}; JSON; for errors exactly `{"error":{"code":status,"message":"…","details"?:[…]}}`. */
function expectAnswer(a: Answer, context: string, statuses: readonly number[] = ANSWER_STATUSES): void {
  const m = `${context}\nanswer: ${a.status} ${a.contentType} ${a.text.length > 500 ? a.text.slice(0, 500) + '…' : a.text}`;
  expect(statuses, m).toContain(a.status);
  expect(a.contentType, m).toMatch(/^application\/json/);
  let body: any;
  expect(() => (body = JSON.parse(a.text)), `not JSON: ${m}`).not.toThrow();
  expect(a.text, m).not.toMatch(STACK_TRACE);
  if (a.status !== 200) expectErrorBody(body, a.status, [], m);
}

/** A raw-socket result as an {@link Answer}; anything but a whole response fails the run. */
function rawAnswer(r: ByteResult, context: string): Answer {
  const what =
    r.outcome === 'timeout' ? `no answer within the timeout (hang), ${r.elapsedMs} ms` : `connection closed without a response after ${r.elapsedMs} ms`;
  expect(r.outcome, `${context}\n${what}; socket: ${r.socketError ?? 'ok'}; received: ${JSON.stringify(r.text.slice(0, 200))}`).toBe('answered');
  return { status: r.status, contentType: r.headers['content-type'] ?? '', text: r.text };
}

/** Runs a fetch-sized request and judges the answer and the server's health after it. */
async function judgeHttp(req: HttpRequest): Promise<Answer> {
  const headBytes = req.path.length + Object.values(req.headers).reduce((n, v) => n + v.length + 40, 200);
  fc.pre(headBytes <= SAFE_HEAD_BYTES); // larger heads: the framing test
  await ensureServer();
  const answer = await sendHttp(req);
  expectAnswer(answer, `request: ${describeRequest(req)}`);
  await expectAlive();
  return answer;
}

/** A request head: request line and headers (latin1 bytes), ending with the blank line. */
function head(method: string, target: string, headers: [string, string][]): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, `host: 127.0.0.1`, 'connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

/** Runs a raw-socket request and judges the answer and the server's health after it. */
async function judgeRaw(h: Buffer, body: Buffer | undefined, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  await ensureServer();
  const text = h.toString('latin1');
  const context = `raw request: ${JSON.stringify(text.length > 600 ? text.slice(0, 600) + '…' : text)}${body ? ` + ${body.length} body bytes: ${JSON.stringify(body.toString('latin1').slice(0, 200))}` : ''}`;
  remember(context);
  const result = await sendBytes(server.httpUrl, h, body, timeoutMs);
  if (result.outcome !== 'answered' && ((await healthz()) !== 200 || !alive())) throw await crashReport(`no answer (${result.outcome})`);
  const hint = h.length > SPLIT_HEAD_LIMIT_BYTES ? `\n(a ${h.length}-byte head: uWS drops heads over ~4 KB that it reads in more than one piece; see the HTTP framing test)` : '';
  const answer = rawAnswer(result, context + hint);
  expectAnswer(answer, context);
  await expectAlive();
  return answer;
}

// ---------------------------------------------------------------------------------------------------------------
// REST properties
// ---------------------------------------------------------------------------------------------------------------

describe('REST fuzz', () => {
  it('covers every route of src/api/operations.ts', () => {
    expect(ROUTE_INFOS.map((r) => r.spec.rpc).sort()).toEqual(ROUTES.map((r) => r.rpc).sort());
    expect(ROUTE_INFOS.length).toBeGreaterThanOrEqual(30);
  });

  it(
    'random keys, path parameters, fields of any type and odd query strings on every route: a JSON answer, never a 5xx',
    async () => {
      await fuzz(
        cases(ROUTE_INFOS, HEAD_AUTH_CLASSES),
        (route, auth) => restRecipe(route, randomFields(route), auth),
        async (recipe) => {
          await judgeHttp(buildRequest(recipe));
          if (recipe.rpc === 'UpdateOrganisation') await resetPlans();
        },
        3,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'plausible requests with one field of another type, odd, missing or null: a JSON answer, never a 5xx',
    async () => {
      const key = fc.constantFrom<Auth>({ kind: 'org' }, { kind: 'operator' }, { kind: 'project' });
      const replacements = [anyJson, oddNumber, fc.constant(undefined), fc.constant(null)];
      await fuzz(
        cases(ROUTE_INFOS, replacements),
        (route, replacement) => restRecipe(route, oneFieldReplaced(route, replacement), key),
        async (recipe) => {
          await judgeHttp(buildRequest(recipe));
          if (recipe.rpc === 'UpdateOrganisation') await resetPlans();
        },
        2,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'huge strings, deeply nested values (depth up to 100,000 as raw text) and very long arrays in a field, as an unknown field and as the whole body',
    async () => {
      const key = fc.constantFrom<Auth>({ kind: 'org' }, { kind: 'operator' });
      const placements = ['field', 'unknown field', 'whole body'] as const;
      const classes = placements.flatMap((where) => EXTREME_CLASSES.map((value) => ({ where, value })));
      await fuzz(
        cases(BODY_ROUTES, classes),
        (route, { where, value }) => {
          if (where === 'field') return restRecipe(route, oneFieldReplaced(route, value), key);
          const plain = restRecipe(route, oneFieldReplaced(route, fc.constant(undefined)), key);
          return where === 'unknown field'
            ? plain.chain((r) => value.map((v) => ({ ...r, extra: { junk: v } })))
            : plain.chain((r) => value.map((json) => ({ ...r, body: { json } })));
        },
        async (recipe) => void (await judgeHttp(buildRequest(recipe))),
        1,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'odd resource URIs in grants, revokes, checks and grant listings: a JSON answer, never a 5xx',
    async () => {
      const uriRoutes = ROUTE_INFOS.filter((r) => r.fields.some((f) => f.name.startsWith('resource_uri')));
      const key = fc.constantFrom<Auth>({ kind: 'org' }, { kind: 'project' });
      await fuzz(
        cases(uriRoutes, ODD_URI_CLASSES),
        (route, uri) => {
          const uriField = route.fields.find((f) => f.name.startsWith('resource_uri'))!;
          const uriValue = uriField.kind === 'string[]' ? fc.array(uri, { minLength: 1, maxLength: 5 }) : uri;
          const fields = fc.record(Object.fromEntries(route.fields.map((f) => [f.name, f === uriField ? uriValue : plausible(f.name, f.kind)])));
          return restRecipe(route, fields, key).map((r) => ({ ...r, query: '', body: undefined, extra: {} }));
        },
        async (recipe) => void (await judgeHttp(buildRequest(recipe))),
        4,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'invalid UTF-8 in bodies (raw socket): a JSON answer, never a 5xx',
    async () => {
      const badBytes = [
        fc.constantFrom([0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xc3]),
        fc.uint8Array({ minLength: 1, maxLength: 12 }).map((a) => [...a]),
      ];
      const classes = (['value', 'key', 'outside'] as const).flatMap((where) => badBytes.map((bytes) => ({ where, bytes })));
      await fuzz(
        cases(BODY_ROUTES, classes),
        (route, { where, bytes }) =>
          fc.record({
            route: fc.constant(route),
            auth: fc.constantFrom<Auth>({ kind: 'org' }, { kind: 'operator' }, { kind: 'none' }),
            field: fc.nat(),
            bytes,
            where: fc.constant(where),
          }),
        async ({ route, auth, field, bytes, where }) => {
          const target = where === 'value' ? route.fields[field % route.fields.length]!.name : undefined;
          const valid = Object.fromEntries(route.fields.map((f) => [f.name, f.name === target ? 'MARK' : sampleOf(f)]));
          const text = JSON.stringify(where === 'key' ? { ...valid, MARK: 1 } : valid);
          const [before, after] = where === 'outside' ? [text.slice(0, -1), '}'] : splitAtMark(text);
          const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
          const value = authorization(auth);
          const headers: [string, string][] = [['content-type', 'application/json'], ['content-length', String(body.length)]];
          if (value !== undefined) headers.push(['authorization', value]);
          await judgeRaw(head(route.spec.method, concretePath(route), headers), body);
        },
        2,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'odd raw paths and query strings (percent junk, raw non-UTF-8 bytes, dot segments, doubled slashes, very long): a JSON answer',
    async () => {
      const rawParams = [
        fc.constantFrom('%', '%zz', '%00', '%ff', '%C0%AF', '%ED%A0%80', '..', '.', '', '%2e%2e', '%2F', 'a/b', 'a//b', '~', ':accept'),
        fc.stringMatching(/^[!-~]{0,30}$/).filter((s) => !s.includes('?')),
        fc.uint8Array({ minLength: 1, maxLength: 10, min: 0x80, max: 0xff }).map((a) => Buffer.from(a).toString('latin1')),
        fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => Buffer.from(s, 'utf8').toString('latin1').replace(/[\x00-\x20\x7f?#]/g, '_')),
        fc.constantFrom(1_025, 8_000, 50_000).map(($huge): Huge => ({ $huge })),
      ];
      const rawQuery = fc.oneof(
        fc.constant(''),
        fc.constantFrom('?', '??', '?&', '?=', '?project_name', '?project_name=', '?project_name=%', '?project_name=%zz', '?project_name=%ff%fe', '?project_name=default&page_size=-1', '?page_size=99999999999999999999', '?page_token=%00', '?user_id=%ED%A0%80'),
        fc.stringMatching(/^[!-~]{0,40}$/).map((s) => '?' + s),
        fc.uint8Array({ minLength: 1, maxLength: 10, min: 0x80, max: 0xff }).map((a) => '?project_name=' + Buffer.from(a).toString('latin1')),
      );
      await fuzz(
        cases(ROUTE_INFOS, rawParams),
        (route, rawParam) =>
          fc.record({
            route: fc.constant(route),
            params: fc.array(rawParam, { minLength: 3, maxLength: 3 }),
            prefix: fc.constantFrom('', '', '', '/', '//', '/.', '/v1/..'), // '/' + '/v1/…' = '//v1/…'
            suffix: fc.constantFrom('', '', '', '/', '//', '/.', '/..'),
            query: rawQuery,
            auth: fc.constantFrom<Auth>({ kind: 'org' }, { kind: 'operator' }, { kind: 'none' }),
          }),
        async ({ route, params, prefix, suffix, query, auth }) => {
          let i = 0;
          const path = prefix + route.spec.path.replace(/\{[a-z_]+\}/g, () => text(params[i++]!)) + suffix;
          const value = authorization(auth);
          const headers: [string, string][] = value === undefined ? [] : [['authorization', value]];
          const body = route.spec.body === '*' ? Buffer.from('{}') : undefined;
          if (body) headers.push(['content-type', 'application/json'], ['content-length', String(body.length)]);
          const h = head(route.spec.method, path + query, headers);
          fc.pre(h.length <= SAFE_HEAD_BYTES); // larger heads: the framing test
          await judgeRaw(h, body);
        },
        5,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'odd headers (several or odd Authorization headers, big values, odd Content-Type, extra headers): a JSON answer',
    async () => {
      const headerValue: fc.Arbitrary<Text> = fc.oneof(
        fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
        fc.constantFrom(100, 4_000, 30_000).map(($huge): Huge => ({ $huge })),
        fc.uint8Array({ minLength: 1, maxLength: 8, min: 0x80, max: 0xff }).map((a) => Buffer.from(a).toString('latin1')),
      );
      const contentTypes = ['application/json', 'text/plain', 'application/json; charset=latin1', '', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'];
      await fuzz(
        cases(ROUTE_INFOS, contentTypes),
        (route, contentType) =>
          fc.record({
            route: fc.constant(route),
            auths: fc.array(authArb, { maxLength: 3 }),
            contentType: fc.constant(contentType),
            extra: fc.array(fc.tuple(fc.constantFrom('x-fuzz', 'accept', 'accept-encoding', 'expect', 'content-encoding', 'x-forwarded-for', 'cookie', 'x-request-id', 'authorization2'), headerValue), { maxLength: 4 }),
          }),
        async ({ route, auths, contentType, extra }) => {
          const headers: [string, string][] = [];
          for (const a of auths) {
            const v = authorization(a);
            if (v !== undefined) headers.push(['authorization', v]);
          }
          const body = route.spec.body === '*' ? Buffer.from(JSON.stringify(Object.fromEntries(route.fields.map((f) => [f.name, sampleOf(f)])))) : undefined;
          if (contentType !== '') headers.push(['content-type', contentType]);
          if (body) headers.push(['content-length', String(body.length)]);
          for (const [k, v] of extra) headers.push([k, k === 'expect' ? '100-continue' : text(v)]); // any other Expect → 417 is HTTP's business
          const h = head(route.spec.method, concretePath(route), headers);
          fc.pre(h.length <= SAFE_HEAD_BYTES); // larger heads: the framing test
          await judgeRaw(h, body);
        },
        3,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it('ids of 5,000 bytes in every path parameter and string field (operator and organisation key): 400 or 404, never a 5xx', async () => {
    const long = 'i'.repeat(LONG_ID_BYTES);
    const failures: string[] = [];
    for (const route of ROUTE_INFOS) {
      const names = [...route.pathParams, ...route.fields.filter((f) => f.kind !== 'int' && f.kind !== 'mask').map((f) => f.name)];
      for (const name of names) {
        for (const auth of [{ kind: 'operator' }, { kind: 'org' }] as Auth[]) {
          const fields = Object.fromEntries(route.fields.map((f) => [f.name, sampleOf(f)]));
          const field = route.fields.find((f) => f.name === name);
          if (field !== undefined) fields[name] = field.kind === 'string[]' ? [long] : long;
          const params = route.pathParams.map((p) => (p === name ? long : pct(sampleParam(p, route.spec.method))));
          const req = buildRequest({ rpc: route.spec.rpc, auth, params, fields, extra: {}, query: '' });
          const problem = await judgeQuietly(req);
          if (problem !== undefined) failures.push(`${req.method} ${route.spec.path} with a ${LONG_ID_BYTES}-byte ${name} (${'kind' in auth ? auth.kind : ''} key): ${problem}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, TEST_TIMEOUT_MS);

  // Malformed framing is refused by the uWebSockets.js parser before any handler runs: it closes the connection (or
  // lets it idle out) without an answer, which Permio cannot change. Those cases must still never hurt the server.
  const PARSER_OUTCOMES = new Set(['closed-without-answer', 'timeout']);

  it('HTTP framing: bad Content-Length, raw controls and malformed lines get a JSON 400-class error or are dropped by the uWS parser; the server stays healthy', async () => {
    const auth: [string, string] = ['authorization', `Bearer ${fx.keys.org}`];
    const json: [string, string] = ['content-type', 'application/json'];
    const body = Buffer.from('{"project_name":"default","name":"framing.x"}');
    const post = (headers: [string, string][], b: Buffer | undefined = body) => ({ head: head('POST', '/v1/permissions', [auth, json, ...headers]), body: b });
    const get = (target: string, headers: [string, string][] = []) => ({ head: head('GET', target, [auth, ...headers]), body: undefined });
    const cases: { name: string; statuses: number[]; req: { head: Buffer; body: Buffer | undefined }; splitHeadAt?: number }[] = [
      { name: 'Content-Length: abc', statuses: [400], req: post([['content-length', 'abc']]) },
      { name: 'Content-Length: -1', statuses: [400], req: post([['content-length', '-1']]) },
      { name: 'Content-Length: 1e2', statuses: [400], req: post([['content-length', '1e2']]) },
      { name: 'Content-Length: 99999999999999999999', statuses: [400, 413], req: post([['content-length', '99999999999999999999']]) },
      { name: 'Content-Length: 46, 47 (a list of different values)', statuses: [400], req: post([['content-length', `${body.length}, ${body.length + 1}`]]) },
      {
        name: 'Content-Length and Transfer-Encoding: chunked (reject, or use the chunked body)',
        statuses: ANSWER_STATUSES.filter((s) => s !== 413),
        req: post([['content-length', '5'], ['transfer-encoding', 'chunked']], Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)),
      },
      { name: 'a chunk size that is not hex', statuses: [400], req: post([['transfer-encoding', 'chunked']], Buffer.from('zz\r\n{}\r\n0\r\n\r\n')) },
      { name: 'a 70,000-byte header value (answered, or refused with 431)', statuses: [...ANSWER_STATUSES, 431], req: get('/v1/permissions?project_name=default', [['x-big', 'v'.repeat(70_000)]]) },
      { name: 'a 70,000-byte header value followed by another header', statuses: [...ANSWER_STATUSES, 431], req: get('/v1/permissions?project_name=default', [['x-big', 'v'.repeat(70_000)], ['x-after', '1']]) },
      { name: 'a 100,000-byte head over four headers', statuses: [...ANSWER_STATUSES, 431], req: get('/v1/permissions?project_name=default', [1, 2, 3, 4].map((i) => [`x-big-${i}`, 'v'.repeat(25_000)] as [string, string])) },
      { name: 'a 70,000-byte query string', statuses: [...ANSWER_STATUSES, 414, 431], req: get(`/v1/permissions?project_name=default&pad=${'q'.repeat(70_000)}`) },
      { name: 'a raw control character (0x01) in the path', statuses: [400, 404], req: get('/v1/permissions/a\x01b?project_name=default') },
      { name: 'a raw space in the path', statuses: [400, 404], req: get('/v1/permissions/a b?project_name=default') },
      { name: 'a raw DEL (0x7f) in the query', statuses: [400, 404], req: get('/v1/permissions?project_name=def\x7fault') },
      { name: 'a NUL byte in a header value', statuses: [400], req: get('/v1/permissions?project_name=default', [['x-fuzz', 'a\x00b']]) },
      { name: 'a control character in the Authorization value', statuses: [400, 401], req: { head: head('GET', '/v1/permissions?project_name=default', [['authorization', `Bearer \x01${fx.keys.org}`]]), body: undefined } },
      { name: 'a header line without a colon', statuses: [400], req: { head: Buffer.from(`GET /v1/permissions?project_name=default HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer ${fx.keys.org}\r\nno-colon-here\r\n\r\n`, 'latin1'), body: undefined } },
      { name: '60 extra headers', statuses: [200, 431], req: get('/v1/permissions?project_name=default', Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'v'] as [string, string])) },
    ];
    await ensureServer();
    const results = await Promise.all(cases.map((c) => sendBytes(server.httpUrl, c.req.head, c.req.body, FRAMING_TIMEOUT_MS, { splitHeadAt: c.splitHeadAt })));
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const r = results[i]!;
      if (r.outcome !== 'answered' && PARSER_OUTCOMES.has(r.outcome)) return; // refused by the uWS parser, see above
      try {
        expectAnswer(rawAnswer(r, c.name), c.name, c.statuses);
      } catch {
        const got = r.outcome === 'answered' ? `${r.status} ${r.text.slice(0, 120)}` : `${r.outcome} after ${r.elapsedMs} ms${r.socketError ? ` (${r.socketError})` : ''}`;
        failures.push(`${c.name}: expected ${c.statuses.includes(200) ? 'a JSON answer' : 'a JSON error'} ${c.statuses.join('/')}, got ${got}`);
      }
    });
    await expectAlive();
    expect(failures).toEqual([]);
  }, TEST_TIMEOUT_MS);

  // Known bug of this uWebSockets.js build (README, "Known limitations"): a request head over ~4 KB that arrives in
  // several TCP segments is dropped. `it.fails` turns red the day it is fixed, so the marker cannot go stale.
  it.fails('a 5,000-byte request head arriving in two TCP segments is answered (known uWS limitation)', async () => {
    const bigHead = head('GET', '/v1/permissions?project_name=default', [['authorization', `Bearer ${fx.keys.org}`], ['x-pad', 'p'.repeat(5_000)]]);
    await ensureServer();
    const r = await sendBytes(server.httpUrl, bigHead, undefined, FRAMING_TIMEOUT_MS, { splitHeadAt: 2_500 });
    expectAnswer(rawAnswer(r, 'split head'), 'split head', [200]);
  }, TEST_TIMEOUT_MS);
});

/** A valid-looking value of a field (for bodies whose other fields should not be the problem). */
function sampleOf(f: FieldSpec): unknown {
  const samples: Record<string, unknown> = {
    organisation_id: fx.orgId, project_name: 'default', name: 'fz.sample', user_id: 'fuzz-user', principal_id: 'fuzz-user',
    resource_uri: '/a', resource_uris: ['/a'], permissions: ['fz.read'], roles: [], email: 'fz@acme.test',
  };
  if (f.name in samples) return samples[f.name];
  return f.kind === 'string[]' ? [] : f.kind === 'int' ? 1 : f.kind === 'mask' ? { paths: [] } : 'x';
}

/** A plausible path parameter value; DELETE routes get ids that do not exist, so the fixtures survive. */
function sampleParam(name: string, method: string): string {
  const values: Record<string, string> = {
    organisation_id: fx.orgId, permission_id: fx.permId, role_id: fx.roleId, project_name: 'nope', apikey_id: 'apikey_000', user_id: 'nobody', token: 'no-such-token',
  };
  if (method === 'DELETE' && (name === 'permission_id' || name === 'role_id')) return `${name.slice(0, 4)}_000000000000000000`;
  return values[name] ?? 'x';
}

/** Sends `req` and judges the answer; returns a one-line description of what is wrong, or undefined. */
async function judgeQuietly(req: HttpRequest): Promise<string | undefined> {
  try {
    await judgeHttp(req);
    return undefined;
  } catch (e) {
    await ensureServer();
    const message = (e as Error).message;
    const answer = /^answer: (.*)$/m.exec(message)?.[1];
    return answer !== undefined ? answer.replace(/: expected .*$/, '').slice(0, 200) : message.split('\n')[0]!.slice(0, 200);
  }
}

function splitAtMark(text: string): [string, string] {
  const i = text.indexOf('MARK');
  return [text.slice(0, i), text.slice(i + 4)];
}

/** The route's path with plausible parameters. */
function concretePath(route: RouteInfo): string {
  const path = route.spec.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => sampleParam(name, route.spec.method));
  return route.spec.body === '*' ? path : `${path}?project_name=default&user_id=fuzz-user`;
}

// ---------------------------------------------------------------------------------------------------------------
// gRPC
// ---------------------------------------------------------------------------------------------------------------

const GRPC_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, includeDirs: [PROTO_DIR] };
let grpcClients: { generation: number; byService: Map<string, grpc.Client> } | undefined;
const serviceOfRpc = new Map(ROUTES.map((r) => [r.rpc, r.service]));

function grpcClientFor(rpc: string): any {
  if (grpcClients?.generation !== generation) {
    closeGrpc();
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync([...PROTO_FILES], GRPC_LOADER_OPTIONS));
    const byService = new Map<string, grpc.Client>();
    const options = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
    for (const name of SERVICE_NAMES) {
      const Ctor = PROTO_PACKAGE.split('.').reduce<any>((ns, part) => ns[part], loaded)[name] as grpc.ServiceClientConstructor;
      byService.set(name, new Ctor(server.grpcAddress, grpc.credentials.createInsecure(), options));
    }
    grpcClients = { generation, byService };
  }
  return grpcClients.byService.get(serviceOfRpc.get(rpc)!);
}

function closeGrpc(): void {
  grpcClients?.byService.forEach((c) => c.close());
  grpcClients = undefined;
}

interface GrpcAnswer {
  code: grpc.status;
  details: string;
  response?: any;
  /** The `permio-error` trailer, parsed (errors only). */
  error?: any;
}

/** One unary call with the given metadata pairs (a name may repeat) and a deadline. */
function grpcCall(rpc: string, request: object, metadata: [string, string][]): Promise<GrpcAnswer> {
  const md = new grpc.Metadata();
  for (const [k, v] of metadata) md.add(k, v);
  const answer = (err: grpc.ServiceError | null, response?: unknown): GrpcAnswer => {
    if (err === null) return { code: grpc.status.OK, details: '', response };
    const raw = err.metadata?.get(ERROR_METADATA_KEY)[0];
    let error: unknown;
    try {
      error = raw === undefined ? undefined : JSON.parse(String(raw));
    } catch {
      error = `unparsable trailer: ${String(raw)}`;
    }
    return { code: err.code, details: err.details, error };
  };
  const method = grpcClientFor(rpc)[rpc];
  const options = { deadline: Date.now() + REQUEST_TIMEOUT_MS };
  return new Promise((resolve) => {
    const answered = (err: grpc.ServiceError | null, response: unknown) => resolve(answer(err, response));
    if (method.requestStream) {
      // a client stream (ImportProject): the request is its one message
      const call = method.call(grpcClientFor(rpc), md, options, answered) as grpc.ClientWritableStream<object>;
      call.write(request);
      return void call.end();
    }
    if (!method.responseStream) return method.call(grpcClientFor(rpc), request, md, options, answered);
    // a server stream (Watch): its first message is the answer (then it is cancelled), or its error status
    const call = method.call(grpcClientFor(rpc), request, md, options) as grpc.ClientReadableStream<unknown>;
    call.once('data', (response) => {
      resolve(answer(null, response));
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => resolve(answer(err)));
    call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve(answer(null)));
  });
}

/** OK, or a mapped code with the REST error body in the trailer; never INTERNAL, UNKNOWN, UNAVAILABLE or a deadline. */
function expectGrpcAnswer(a: GrpcAnswer, context: string): void {
  const m = `${context}\nanswer: ${grpc.status[a.code]} (${a.code}) ${a.details.slice(0, 300)} trailer: ${JSON.stringify(a.error)?.slice(0, 300)}`;
  expect(BAD_GRPC_CODES, m).not.toContain(a.code);
  if (a.code === grpc.status.OK) return;
  const status = a.error?.error?.code;
  expect(ANSWER_STATUSES, m).toContain(status);
  expect(GRPC_CODE_BY_STATUS[status], m).toBe(a.code);
  expect(a.error.error.message, m).toBe(a.details);
  expectErrorBody(a.error, status, [], m);
}

/** A proto-typed garbage value: strings of any code points, int32 extremes, long repeated fields, odd masks. */
function grpcFieldValue(f: FieldSpec): fc.Arbitrary<unknown> {
  const int32 = fc.oneof(fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31)), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
  const odd: Record<FieldKind, fc.Arbitrary<unknown>> = {
    string: oddString,
    'string[]': fc.oneof(fc.array(f.name === 'resource_uris' ? oddUri : oddString, { maxLength: 8 }), fc.record({ $many: fc.constantFrom(1_000, 10_001, 50_000), of: fc.constantFrom('uri' as const, 'name' as const) })),
    int: int32,
    mask: fc.record({ paths: fc.array(oddString, { maxLength: 4 }) }),
  };
  return fc.oneof({ weight: 3, arbitrary: plausible(f.name, f.kind) }, { weight: 3, arbitrary: odd[f.kind] }, { weight: 1, arbitrary: fc.constant(undefined) });
}

describe('gRPC fuzz', () => {
  it(
    'random messages (valid protobuf, garbage field values) to every RPC with any key: a mapped status, never INTERNAL/UNKNOWN',
    async () => {
      // One authorization value: grpc-js clients refuse to send several (a client-side INTERNAL, not the server's).
      await fuzz(
        cases(ROUTE_INFOS, AUTH_CLASSES),
        (route, auth) =>
          fc.record({
            rpc: fc.constant(route.spec.rpc),
            auths: auth.map((a) => [a]),
            fields: fc.record(Object.fromEntries(route.messageFields.map((f) => [f.name, grpcFieldValue(f)]))),
          }),
        async ({ rpc, auths, fields }) => {
          await ensureServer();
          const request = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
          const metadata = auths.flatMap((a) => (authorization(a) === undefined ? [] : [['authorization', authorization(a)!] as [string, string]]));
          const context = `gRPC ${rpc} ${JSON.stringify(fields).slice(0, 500)} metadata: ${JSON.stringify(metadata).slice(0, 200)}`;
          remember(context);
          expectGrpcAnswer(await grpcCall(rpc, request, metadata), context);
          await expectAlive();
          if (rpc === 'UpdateOrganisation') await resetPlans();
        },
        2,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it('undecodable protobuf bytes to every RPC: INVALID_ARGUMENT, not INTERNAL', async () => {
    await ensureServer();
    const raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const garbage = [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x05, 0x61]), Buffer.from([0x0f])];
    const failures: string[] = [];
    try {
      for (const route of ROUTE_INFOS) {
        for (const bytes of garbage) {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${fx.keys.org}`);
          const path = `/${PROTO_PACKAGE}.${route.spec.service}/${route.spec.rpc}`;
          const res = await new Promise<{ code: grpc.status; details: string }>((resolve) =>
            raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, md, { deadline: Date.now() + REQUEST_TIMEOUT_MS }, (err) =>
              resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }),
            ),
          );
          if (BAD_GRPC_CODES.includes(res.code)) failures.push(`${route.spec.rpc} ${bytes.toString('hex')}: ${grpc.status[res.code]} "${res.details}"`);
        }
      }
    } finally {
      raw.close();
    }
    await expectAlive();
    expect(failures, 'expected INVALID_ARGUMENT (400) for messages that do not decode').toEqual([]);
  });
});

describe('after all the fuzzing', () => {
  it('the same server process is still up, /healthz is 200 and the known-good check answers as before', async () => {
    expect(crashes, 'the server crashed during the fuzz (reports above)').toEqual([]);
    await expectHealthy();
  });
});
