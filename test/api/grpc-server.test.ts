// The gRPC front end against a fake service object: real grpc-js server on port 0, real client from the same protos.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { Errors, GRPC_CODE_BY_STATUS, PermioError } from '../../src/errors.js';
import { Answer } from '../../src/service/answer.js';
import type { Caller } from '../../src/service/caller.js';
import { startGrpcServer, type GrpcServer } from '../../src/api/grpc/server.js';
import type { ServiceLike } from '../../src/api/service-port.js';
import { protoRoutes } from '../../src/api/grpc/proto.js';
import { MAX_BODY_BYTES as MAX_REQUEST_BYTES, OPERATION_BY_RPC } from '../../src/api/operations.js';
import { MAX_STATUS_MESSAGE_CHARS } from '../../src/api/grpc/status.js';
import { grpcClient, type GrpcClient } from '../helpers/grpc-client.js';

const CALLER: Caller = { kind: 'organisation', keyId: 'apikey_1', organisationId: 'org_1', projectName: undefined };
const GOOD = 'Bearer perms_api_good';

/** The fake service: records what reaches it; `answer` decides each invoke. */
class FakeService implements ServiceLike {
  calls: { rpc: string; caller: Caller; input: Record<string, unknown> }[] = [];
  authorizations: (string | undefined)[] = [];
  rateHeaders: Record<string, string> | undefined;
  rateError: PermioError | undefined;
  answer: (rpc: string, input: Record<string, unknown>) => Promise<unknown> = async () => ({});

  authenticate(authorization: string | undefined): Caller {
    this.authorizations.push(authorization);
    if (authorization !== GOOD) throw Errors.unauthenticated('unknown API key');
    return CALLER;
  }

  admit(): Record<string, string> | undefined {
    if (this.rateError) throw this.rateError;
    return this.rateHeaders;
  }

  invoke(rpc: string, caller: Caller, input: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ rpc, caller, input });
    return this.answer(rpc, input);
  }

  reset(): void {
    this.calls = [];
    this.authorizations = [];
    this.rateHeaders = undefined;
    this.rateError = undefined;
    this.answer = async () => ({});
  }
}

const fake = new FakeService();

/** Makes the next call wait at the service: `reached` once it is there, `release(value)` answers it. */
function holdAnswers(): { reached: Promise<void>; release: (value: unknown) => void } {
  let arrived!: () => void;
  let release!: (value: unknown) => void;
  const reached = new Promise<void>((r) => (arrived = r));
  const answer = new Promise<unknown>((r) => (release = r));
  fake.answer = () => {
    arrived();
    return answer;
  };
  return { reached, release };
}
const internalErrors: { rpc: string; cause: unknown }[] = [];
let server: GrpcServer;
let client: GrpcClient;
let address: string;

beforeAll(async () => {
  server = await startGrpcServer({
    service: fake,
    port: 0,
    onInternalError: (rpc, cause) => internalErrors.push({ rpc, cause }),
  });
  address = `127.0.0.1:${server.port}`;
  client = grpcClient(address, 'perms_api_good');
});

afterAll(async () => {
  client.close();
  await server.close();
});

beforeEach(() => {
  fake.reset();
  internalErrors.length = 0;
});

describe('dispatch', () => {
  test('binds port 0 to a real port', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  test('every unary RPC reaches service.invoke under its name, with the authenticated caller', async () => {
    const unary = protoRoutes().filter((r) => OPERATION_BY_RPC.get(r.rpc)?.kind === 'unary'); // streams have their own tests
    for (const route of unary) {
      const res = await client.call(route.rpc);
      expect(res.code, route.rpc).toBe(grpc.status.OK);
    }
    expect(fake.calls.map((c) => c.rpc)).toEqual(unary.map((r) => r.rpc));
    expect(fake.calls.every((c) => c.caller === CALLER)).toBe(true);
    expect(new Set(fake.authorizations)).toEqual(new Set([GOOD]));
  });

  test('responses are the REST bodies: wrappers kept, defaults emitted, unknown fields dropped', async () => {
    fake.answer = async () => ({
      organisation: { id: 'org_1', name: 'Acme', plan: 'free', rate_limit_per_minute: 0, users: [{ id: 'u1', email: 'a@b.c' }], created_at: 't0', updated_at: 't1' },
      billing_customer: { id: 'cus_1' },
    });
    const res = await client.call('GetOrganisation', { organisation_id: 'org_1' });
    expect(res.body).toEqual({
      organisation: { id: 'org_1', name: 'Acme', plan: 'free', rate_limit_per_minute: 0, users: [{ id: 'u1', email: 'a@b.c' }], created_at: 't0', updated_at: 't1' },
    });
  });

  test('a check answer keeps passed and missing_permissions', async () => {
    fake.answer = async () => ({ passed: false, missing_permissions: [{ resource_uri: '/d/2', missing_permissions: ['doc.write'] }] });
    const res = await client.call('Check', { principal_id: 'u', resource_uris: ['/d/1', '/d/2'], permissions: ['doc.write'] });
    expect(res.body).toEqual({ passed: false, missing_permissions: [{ resource_uri: '/d/2', missing_permissions: ['doc.write'] }] });
    fake.answer = async () => ({ passed: true, missing_permissions: [] });
    expect((await client.call('Check', {})).body).toEqual({ passed: true, missing_permissions: [] });
  });

  test("an Answer's headers travel as trailing metadata beside its body", async () => {
    fake.answer = async () => new Answer({ roles: [], next_page_token: '', total_items: 0 }, { 'permio-revision': '1a_deadbeef' });
    const res = await client.call('ListRoles');
    expect(res.body).toEqual({ roles: [], next_page_token: '', total_items: 0 });
    expect(res.trailers.get('permio-revision')).toEqual(['1a_deadbeef']);
  });

  test('an API key listed without its secret has no `key`; a created one has it', async () => {
    const key = { id: 'apikey_1', name: 'k', organisation_id: 'org_1', project_name: '', created_at: 't', invalidated: false };
    fake.answer = async () => ({ api_keys: [key], next_page_token: '', total_items: 1 });
    expect((await client.call('ListApiKeys', { organisation_id: 'org_1' })).body).toEqual({ api_keys: [key], next_page_token: '', total_items: 1 });
    fake.answer = async () => ({ api_key: { ...key, key: 'perms_api_x' } });
    expect((await client.call('CreateApiKey', { organisation_id: 'org_1', name: 'k' })).body).toEqual({ api_key: { ...key, key: 'perms_api_x' } });
  });
});

describe('request normalisation', () => {
  const inputOf = async (rpc: string, request: object) => {
    await client.call(rpc, request);
    return fake.calls.at(-1)!.input;
  };

  test('absent scalars stay absent; proto3 optional fields carry no virtual oneof field', async () => {
    expect(await inputOf('UpdatePermission', { organisation_id: 'org_1', project_name: 'default', permission_id: 'perm_1', name: 'doc.read' })).toEqual({
      organisation_id: 'org_1',
      project_name: 'default',
      permission_id: 'perm_1',
      name: 'doc.read',
    });
  });

  test('implicit-presence scalars at their default count as absent, however the client encoded them', async () => {
    expect(await inputOf('ListPermissions', { page_size: 0, page_token: '', project_name: '' })).toEqual({});
    expect(await inputOf('ListPermissions', { page_size: -1 })).toEqual({ page_size: -1 });
  });

  test('an explicitly set optional field is kept even when empty or zero', async () => {
    expect(await inputOf('UpdatePermission', { permission_id: 'perm_1', description: '' })).toEqual({ permission_id: 'perm_1', description: '' });
    expect(await inputOf('UpdateOrganisation', { organisation_id: 'org_1', rate_limit_per_minute: 0 })).toEqual({
      organisation_id: 'org_1',
      rate_limit_per_minute: 0,
    });
  });

  test('repeated fields are arrays, empty when absent', async () => {
    expect(await inputOf('Check', { principal_id: 'u' })).toEqual({ principal_id: 'u', resource_uris: [], permissions: [] });
    expect(await inputOf('Grant', { user_id: 'u', resource_uri: '/', roles: ['admin'] })).toEqual({
      user_id: 'u',
      resource_uri: '/',
      permissions: [],
      roles: ['admin'],
    });
  });

  test('UpdateRole: an empty permissions list means unchanged unless update_mask names it', async () => {
    expect(await inputOf('UpdateRole', { role_id: 'role_1', name: 'Editor' })).toEqual({ role_id: 'role_1', name: 'Editor' });
    expect(await inputOf('UpdateRole', { role_id: 'role_1', update_mask: { paths: ['permissions'] } })).toEqual({ role_id: 'role_1', permissions: [] });
    expect(await inputOf('UpdateRole', { role_id: 'role_1', permissions: ['perm_1'] })).toEqual({ role_id: 'role_1', permissions: ['perm_1'] });
    expect(await inputOf('UpdateRole', { role_id: 'role_1', update_mask: { paths: ['name'] } })).toEqual({ role_id: 'role_1' });
  });
});

describe('errors', () => {
  test('missing or wrong authorization → UNAUTHENTICATED with the REST error body; the service is not invoked', async () => {
    for (const opts of [{ key: null }, { key: 'perms_api_bad' }, { authorization: 'Basic abc' }]) {
      const res = await client.call('ListRoles', {}, opts);
      expect(res.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(res.message).toBe('Unauthenticated: unknown API key');
      expect(res.body).toEqual({ error: { code: 401, message: 'Unauthenticated: unknown API key' } });
    }
    expect(fake.authorizations).toEqual([undefined, 'Bearer perms_api_bad', 'Basic abc']);
    expect(fake.calls).toEqual([]);
  });

  test.each(Object.entries(GRPC_CODE_BY_STATUS))('HTTP %s → gRPC code %s, same message, details in the permio-error trailer', async (status, code) => {
    const details = [{ field: 'name', description: 'must be 1–128 printable characters' }];
    fake.answer = async () => {
      throw new PermioError(Number(status), `failed with ${status} – “quoted”`, details);
    };
    const res = await client.call('CreateRole', { name: 'x' });
    expect(res.code).toBe(code);
    expect(res.message).toBe(`failed with ${status} – “quoted”`);
    expect(res.body).toEqual({ error: { code: Number(status), message: `failed with ${status} – “quoted”`, details } });
  });

  test('the named factories keep their messages and details', async () => {
    fake.answer = async () => {
      throw Errors.unknownPermissions(['perm_x', 'perm_y']);
    };
    const res = await client.call('CreateRole', { name: 'x', permissions: ['perm_x', 'perm_y'] });
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.body).toEqual({
      error: { code: 400, message: 'Invalid request: unknown permissions: perm_x, perm_y', details: [{ unknown_permissions: ['perm_x', 'perm_y'] }] },
    });
  });

  test('a huge error is cut to fit the trailers instead of leaving the call hanging', async () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `perm_${'x'.repeat(20)}${i}`);
    fake.answer = async () => {
      throw Errors.unknownPermissions(ids);
    };
    const res = await client.call('Grant', { permissions: ids }, { deadlineMs: 5000 });
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.message).toHaveLength(MAX_STATUS_MESSAGE_CHARS);
    expect(res.message).toMatch(/^Invalid request: unknown permissions: perm_x+0, .*…$/);
    expect(res.body).toEqual({ error: { code: 400, message: res.message } }); // details dropped: they would not fit
  });

  test('anything but a PermioError → INTERNAL "Internal error"; the cause is logged, never sent', async () => {
    fake.answer = async () => {
      throw new TypeError('secret stack detail');
    };
    const res = await client.call('GetRole', { role_id: 'role_1' });
    expect(res.code).toBe(grpc.status.INTERNAL);
    expect(res.message).toBe('Internal error');
    expect(res.body).toEqual({ error: { code: 500, message: 'Internal error' } });
    expect(internalErrors).toHaveLength(1);
    expect(internalErrors[0]!.rpc).toBe('GetRole');
    expect(String(internalErrors[0]!.cause)).toContain('secret stack detail');
  });

  test('a synchronous throw from invoke is answered like a rejection', async () => {
    fake.answer = () => {
      throw Errors.notFound('role', 'role_1');
    };
    const res = await client.call('GetRole', { role_id: 'role_1' });
    expect(res.code).toBe(grpc.status.NOT_FOUND);
    expect(res.body.error.code).toBe(404);
  });
});

describe('rate limits', () => {
  test('the rate-limit headers travel as initial metadata', async () => {
    fake.rateHeaders = { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': '1' };
    const res = await client.call('ListRoles');
    expect(res.code).toBe(grpc.status.OK);
    expect(res.metadata.get('x-ratelimit-limit')).toEqual(['100']);
    expect(res.metadata.get('x-ratelimit-remaining')).toEqual(['99']);
    expect(res.metadata.get('x-ratelimit-reset')).toEqual(['1']);
  });

  test('over the limit → RESOURCE_EXHAUSTED with retry-after, before the service runs', async () => {
    fake.rateError = Errors.rateLimited(45, { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '45' });
    const res = await client.call('ListRoles');
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(res.body.error).toEqual({ code: 429, message: 'Rate limit exceeded. Please retry after 45 seconds.' });
    expect(res.metadata.get('retry-after')).toEqual(['45']);
    expect(res.metadata.get('x-ratelimit-remaining')).toEqual(['0']);
    expect(fake.calls).toEqual([]);
  });
});

describe('limits and deadlines', () => {
  test('a request above 1 MiB → RESOURCE_EXHAUSTED (413) without reaching the service', async () => {
    const res = await client.call('CreatePermission', { name: 'p', description: 'x'.repeat(MAX_REQUEST_BYTES) });
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(res.body).toEqual({
      error: { code: 413, message: `Payload too large: the body exceeds ${MAX_REQUEST_BYTES} bytes`, details: [{ limit_bytes: MAX_REQUEST_BYTES }] },
    });
    expect(fake.calls).toEqual([]);
  });

  test('Check accepts up to 16 MiB', async () => {
    const uris = Array.from({ length: 40_000 }, (_, i) => `/documents/${'x'.repeat(40)}/${i}`); // ≈ 2.5 MB
    const res = await client.call('Check', { principal_id: 'u', resource_uris: uris, permissions: ['p'] });
    expect(res.code).toBe(grpc.status.OK);
    expect((fake.calls[0]!.input.resource_uris as string[]).length).toBe(40_000);
  });

  test('a Check above 16 MiB is refused by grpc-js', async () => {
    const res = await client.call('Check', { principal_id: 'u', resource_uris: ['/' + 'x'.repeat(17 * 1024 * 1024)], permissions: ['p'] });
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(fake.calls).toEqual([]);
  });

  test('past the deadline the client gets DEADLINE_EXCEEDED and the server stays healthy', async () => {
    // the service answers only once the client has given up: the late answer must go nowhere, harmlessly
    const held = holdAnswers();
    const res = await client.call('ListRoles', {}, { deadlineMs: 50 });
    expect(res.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await held.reached;
    held.release({ roles: [], next_page_token: '', total_items: 0 });
    fake.answer = async () => ({ roles: [], next_page_token: '', total_items: 0 });
    expect((await client.call('ListRoles')).code).toBe(grpc.status.OK);
  });
});

describe('health and reflection', () => {
  test('grpc.health.v1 answers SERVING for the server and both services', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(address, grpc.credentials.createInsecure()) as any;
    for (const name of ['', 'permio.v1.PermissionsService', 'permio.v1.OrganisationService']) {
      const res = await new Promise<any>((resolve, reject) => health.check({ service: name }, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
      expect(res.status).toBe('SERVING');
    }
    health.close();
  });

  /** One request on the v1 reflection stream, like `grpcurl list` / `describe`. */
  async function reflect(request: object): Promise<any> {
    const require = createRequire(import.meta.url);
    const protoRoot = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, oneofs: true, includeDirs: [protoRoot] });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
    const stream = reflection.ServerReflectionInfo();
    const response = new Promise((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
    });
    stream.write(request);
    stream.end();
    const res = await response;
    reflection.close();
    return res;
  }

  test('reflection lists both services and health (grpcurl list)', async () => {
    const res = await reflect({ list_services: '' });
    const names = res.list_services_response.service.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['permio.v1.PermissionsService', 'permio.v1.OrganisationService', 'grpc.health.v1.Health']));
  });

  test('reflection describes each service with linked files: every type reference resolves in a declared dependency (grpcurl describe)', async () => {
    for (const symbol of ['permio.v1.PermissionsService', 'permio.v1.OrganisationService', 'grpc.health.v1.Health']) {
      const res = await reflect({ file_containing_symbol: symbol });
      const files = res.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => descriptor.FileDescriptorProto.decode(b) as any);
      const declaredIn = new Map<string, string>();
      const declare = (file: any, scope: string, messages: any[], enums: any[]) => {
        for (const e of enums) declaredIn.set(`${scope}.${e.name}`, file.name);
        for (const m of messages) {
          declaredIn.set(`${scope}.${m.name}`, file.name);
          declare(file, `${scope}.${m.name}`, m.nestedType, m.enumType);
        }
      };
      for (const f of files) declare(f, `.${f.package}`, f.messageType, f.enumType);
      for (const f of files) {
        const reachable = new Set([f.name, ...f.dependency]);
        const refs = [
          ...f.messageType.flatMap((m: any) => m.field.filter((x: any) => x.typeName).map((x: any) => x.typeName)),
          ...f.service.flatMap((s: any) => s.method.flatMap((m: any) => [m.inputType, m.outputType])),
        ];
        for (const ref of refs) expect(reachable, `${f.name} → ${ref}`).toContain(declaredIn.get(ref));
      }
      const service = files.flatMap((f: any) => f.service).find((s: any) => symbol.endsWith(`.${s.name}`));
      expect(service.method.length).toBeGreaterThan(0);
    }
  });

  test('reflected proto3 optional fields are marked as such', async () => {
    const res = await reflect({ file_containing_symbol: 'permio.v1.UpdatePermissionRequest' });
    const file = res.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => descriptor.FileDescriptorProto.decode(b) as any)[0];
    const message = file.messageType.find((m: any) => m.name === 'UpdatePermissionRequest');
    const optional = message.field.filter((f: any) => f.proto3Optional).map((f: any) => f.name);
    expect(optional).toEqual(['name', 'description']);
  });
});

describe('shutdown', () => {
  test('close() lets an in-flight call finish, then stops serving', async () => {
    const other = await startGrpcServer({ service: fake, port: 0, host: '127.0.0.1' });
    const c = grpcClient(`127.0.0.1:${other.port}`, 'perms_api_good');
    const held = holdAnswers();
    const inFlight = c.call('ListRoles');
    await held.reached; // the call is with the service: in flight, whatever the machine's load
    let isClosed = false;
    const closed = other.close().then(() => (isClosed = true));
    await new Promise((r) => setImmediate(r));
    expect(isClosed).toBe(false); // still waiting for the call
    held.release({ roles: [], next_page_token: '', total_items: 0 });
    await closed;
    expect((await inFlight).code).toBe(grpc.status.OK);
    expect((await c.call('ListRoles', {}, { deadlineMs: 1000 })).code).toBe(grpc.status.UNAVAILABLE);
    c.close();
  });
});
