// SPEC §13 over real sockets, both transports: encoded dot segments, ill-formed text (lone surrogates in JSON,
// invalid UTF-8 in protobuf and query strings), JSON nested deeper than 32 levels or with too many items.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_PACKAGE, protoRoot } from '../../src/api/grpc/proto.js';
import { ERROR_METADATA_KEY } from '../../src/api/grpc/status.js';
import { OPERATIONS } from '../../src/api/operations.js';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../../src/api/request-bounds.js';
import { apiClient, closeApiClients, TRANSPORTS } from '../helpers/api.js';
import { createOrg, expectError, expectErrorBody, ok, type OrgFixture } from '../helpers/expect-api.js';
import { client } from '../helpers/http.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let fx: OrgFixture;

beforeAll(async () => {
  server = await startServer();
  fx = await createOrg(client(server.httpUrl, server.adminKey));
  const api = client(server.httpUrl, fx.orgKey);
  ok(await api.post('/v1/permissions', { project_name: 'default', name: 'read' }));
  ok(await api.post('/v1/grants', { project_name: 'default', user_id: 'u', resource_uri: '/teams/eng', permissions: ['read'] }));
}, 60_000);

afterAll(async () => {
  closeApiClients();
  await server.stop();
  server.cleanup();
});

const check = (uri: string, principal = 'u') => ({ project_name: 'default', principal_id: principal, resource_uris: [uri], permissions: ['read'] });

describe.each(TRANSPORTS)('encoded dot segments over %s (SPEC §13)', (transport) => {
  it.each(['/teams/eng/%2e%2e/admin', '/teams/eng/%2E%2e', '/teams/eng/.%2e/x', '/teams/eng/%2e', '/teams/eng/%2e./x'])(
    'check and grant of %s → 400',
    async (uri) => {
      const api = apiClient(server, transport, fx.orgKey);
      expectError(await api.post('/v1/check', check(uri)), 400, ['encoded dot segment']);
      expectError(await api.post('/v1/grants', { project_name: 'default', user_id: 'u', resource_uri: uri, permissions: ['read'] }), 400, [
        'encoded dot segment',
      ]);
    },
  );

  it('segments that only look like dots stay literal: %2e%2e%2e and %252e are checked byte for byte', async () => {
    const api = apiClient(server, transport, fx.orgKey);
    expect(ok(await api.post('/v1/check', check('/teams/eng/%2e%2e%2e'))).passed).toBe(true);
    expect(ok(await api.post('/v1/check', check('/teams/eng/%252e/x'))).passed).toBe(true);
    expect(ok(await api.post('/v1/check', check('/teams/%2e%2e%2e/eng'))).passed).toBe(false);
  });
});

describe('lone surrogates over REST (SPEC §13)', () => {
  const api = () => client(server.httpUrl, fx.orgKey);

  it.each([
    ['principal_id', { ...check('/teams/eng', 'u\ud800') }],
    ['resource_uris', { ...check('/teams/eng/\udfff') }],
    ['permissions', { ...check('/teams/eng'), permissions: ['read', 'x\ud800'] }],
    ['an unknown field', { ...check('/teams/eng'), ['extra\udc00']: 1 }],
    ['a nested value', { ...check('/teams/eng'), extra: [{ deep: ['\ud83d'] }] }],
  ])('check with one in %s → 400', async (_where, body) => {
    expect(JSON.stringify(body)).toMatch(/\\ud[89a-f]/); // sent as a JSON escape: the only way JSON can carry one
    expectError(await api().post('/v1/check', body), 400, ['well-formed']);
  });

  it('every body route refuses one in any string', async () => {
    for (const op of OPERATIONS.filter((o) => o.body === '*' && o.kind === 'unary')) {
      const path = op.path.replace(/\{[a-z_]+\}/g, (p) => (p === '{organisation_id}' ? fx.orgId : 'x'));
      const res = await api().call(op.method, path, { project_name: 'default', name: 'n\ud800', user_id: 'u\udfff' });
      expectError(res, 400, ['well-formed'], `${op.rpc} ${path}`);
    }
  });

  it('a grant to "u\\ud800" is refused, so it can never satisfy "u\\udfff"; a well-formed pair is its own principal', async () => {
    const grant = (user: string) => ({ project_name: 'default', user_id: user, resource_uri: '/s', permissions: ['read'] });
    expectError(await api().post('/v1/grants', grant('u\ud800')), 400, ['well-formed']);
    ok(await api().post('/v1/grants', grant('u\ud83d\ude00')));
    expect(ok(await api().post('/v1/check', check('/s', 'u\ud83d\ude00'))).passed).toBe(true);
    expect(ok(await api().post('/v1/check', check('/s', 'u\ud83d\ude01'))).passed).toBe(false);
    expect(ok(await api().post('/v1/check', check('/s', 'u\ufffd'))).passed).toBe(false);
  });

  it('query strings: percent-escapes that are not UTF-8 → 400; malformed escapes stay literal', async () => {
    for (const bad of ['u%ED%A0%80', 'u%ED%BF%BF', 'u%FF', 'u%C0%AF']) {
      expectError(await api().get(`/v1/grants?project_name=default&user_id=${bad}`), 400, ['well-formed'], bad);
    }
    expect(ok(await api().get('/v1/grants?project_name=default&user_id=%F0%9F%98%80+x%zz')).grants).toEqual([]);
  });
});

describe('invalid UTF-8 over gRPC (SPEC §13)', () => {
  const CheckRequest = () => protoRoot().lookupType(`${PROTO_PACKAGE}.CheckRequest`);

  /** One Check with raw bytes; field 3 (principal_id) is written as given. */
  async function rawCheck(principal: Buffer, extra: Buffer = Buffer.alloc(0)) {
    const w = protobuf.Writer.create();
    w.uint32((2 << 3) | 2).string('default');
    w.uint32((3 << 3) | 2).bytes(principal);
    w.uint32((4 << 3) | 2).string('/teams/eng');
    w.uint32((5 << 3) | 2).string('read');
    const bytes = Buffer.concat([Buffer.from(w.finish()), extra]);
    if (extra.length === 0) expect(CheckRequest().decode(bytes)).toBeTruthy(); // a well-formed message: only its text is wrong
    const raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${fx.orgKey}`);
    try {
      return await new Promise<{ code: grpc.status; body: any }>((resolve) =>
        raw.makeUnaryRequest(`/${PROTO_PACKAGE}.PermissionsService/Check`, (b: Buffer) => b, (b: Buffer) => b, bytes, md, (err, res) => {
          if (!err) return resolve({ code: grpc.status.OK, body: CheckRequest().root.lookupType(`${PROTO_PACKAGE}.CheckResponse`).decode(res!) });
          const trailer = err.metadata.get(ERROR_METADATA_KEY)[0];
          resolve({ code: err.code, body: trailer === undefined ? undefined : JSON.parse(String(trailer)) });
        }),
      );
    } finally {
      raw.close();
    }
  }

  it.each([
    ['a UTF-8-encoded surrogate', [0x75, 0xed, 0xa0, 0x80]],
    ['the other half of one', [0x75, 0xed, 0xbf, 0xbf]],
    ['a stray byte', [0x75, 0xff]],
    ['an overlong "/"', [0x75, 0xc0, 0xaf]],
    ['a truncated sequence', [0x75, 0xe2, 0x82]],
  ])('%s in principal_id → INVALID_ARGUMENT with the error body', async (_name, bytes) => {
    const res = await rawCheck(Buffer.from(bytes));
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expectErrorBody(res.body, 400, ['well-formed'], JSON.stringify(res.body));
  });

  it('the same message with valid UTF-8 is answered; U+FFFD sent as such is an ordinary character', async () => {
    expect((await rawCheck(Buffer.from('u'))).code).toBe(grpc.status.OK);
    expect((await rawCheck(Buffer.from('u\ufffd'))).code).toBe(grpc.status.OK);
  });

  it('unknown fields are skipped by length, but a group (proto2) or too many fields → INVALID_ARGUMENT', async () => {
    const unknown = Buffer.from([(9 << 3) | 2, 3, 0xff, 0xff, 0xff]); // field 9, bytes that are not UTF-8: not a string field
    expect((await rawCheck(Buffer.from('u'), unknown)).code).toBe(grpc.status.OK);
    const groups = Buffer.alloc(100_000, (9 << 3) | 3); // 100,000 nested group starts
    expect((await rawCheck(Buffer.from('u'), groups)).code).toBe(grpc.status.INVALID_ARGUMENT);
    const many = Buffer.alloc(2 * (MAX_REQUEST_ITEMS + 1), 0);
    for (let i = 0; i < many.length; i += 2) many[i] = 9 << 3; // field 9, varint 0
    const res = await rawCheck(Buffer.from('u'), many);
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expectErrorBody(res.body, 400, [String(MAX_REQUEST_ITEMS)], JSON.stringify(res.body));
  });
});

describe('JSON bounds on every body route (SPEC §13)', () => {
  /** A member value that makes the whole body `depth` levels deep. */
  const nested = (depth: number) => '['.repeat(depth - 1) + ']'.repeat(depth - 1);
  const bodyRoutes = OPERATIONS.filter((o) => o.body === '*' && o.kind === 'unary');

  it(`nested ${MAX_REQUEST_DEPTH + 1} levels (the top-level object is one) → 400 naming the limit; ${MAX_REQUEST_DEPTH} levels are not refused for depth`, async () => {
    const api = client(server.httpUrl, fx.orgKey);
    for (const op of bodyRoutes) {
      const path = op.path.replace(/\{[a-z_]+\}/g, (p) => (p === '{organisation_id}' ? fx.orgId : 'x'));
      const deep = await api.call(op.method, path, `{"project_name":"default","extra":${nested(MAX_REQUEST_DEPTH + 1)}}`);
      expectError(deep, 400, [`${MAX_REQUEST_DEPTH} levels`], op.rpc);
      const fine = await api.call(op.method, path, `{"project_name":"default","extra":${nested(MAX_REQUEST_DEPTH)}}`);
      expect(JSON.stringify(fine.body), op.rpc).not.toMatch(/levels deep/);
    }
  });

  it('a 16 MiB check nested 8,000,000 deep, and a million permission names, are refused with 400 before parsing', async () => {
    const api = client(server.httpUrl, fx.orgKey);
    const depth = 8_000_000;
    const deep = `{"project_name":"default","principal_id":"u","resource_uris":["/a"],"permissions":["read"],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectError(await api.call('POST', '/v1/check', deep), 400, [`${MAX_REQUEST_DEPTH} levels`]);
    const names = { ...check('/a'), permissions: Array.from({ length: 1_000_000 }, (_, i) => `p${i}`) };
    expectError(await api.post('/v1/check', names), 400, [String(MAX_REQUEST_ITEMS)]);
    // the legal maximum passes: 10,000 pairs
    const legal = ok(await api.post('/v1/check', { ...check('/a'), permissions: Array.from({ length: 10_000 }, (_, i) => `p${i}`) }));
    expect(legal.missing_permissions[0].missing_permissions).toHaveLength(10_000);
  }, 60_000);
});
