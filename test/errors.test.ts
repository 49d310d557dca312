// The error table: every status maps to its gRPC code, every factory renders the one error shape.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Errors, GRPC_CODE_BY_STATUS, grpcCodeFor, PermioError, toPermioError } from '../src/errors.js';
import { errorBody } from '../src/api/rest/reply.js';

describe('errors', () => {
  it('maps every HTTP status of SPEC §5 to its gRPC code', () => {
    expect(GRPC_CODE_BY_STATUS).toMatchObject({
      400: GrpcStatus.INVALID_ARGUMENT,
      401: GrpcStatus.UNAUTHENTICATED,
      403: GrpcStatus.PERMISSION_DENIED,
      404: GrpcStatus.NOT_FOUND,
      405: GrpcStatus.UNIMPLEMENTED,
      409: GrpcStatus.ALREADY_EXISTS,
      413: GrpcStatus.RESOURCE_EXHAUSTED,
      429: GrpcStatus.RESOURCE_EXHAUSTED,
      431: GrpcStatus.RESOURCE_EXHAUSTED,
      500: GrpcStatus.INTERNAL,
    });
    expect(grpcCodeFor(418)).toBe(GrpcStatus.INTERNAL);
  });

  const samples: [string, PermioError, number][] = [
    ['badRequest', Errors.badRequest('Invalid request: x'), 400],
    ['missingField', Errors.missingField('name'), 400],
    ['invalidField', Errors.invalidField('name', 'must be a string'), 400],
    ['badJson', Errors.badJson(), 400],
    ['unauthenticated', Errors.unauthenticated(), 401],
    ['forbidden', Errors.forbidden('no'), 403],
    ['notFound', Errors.notFound('role', 'role_x'), 404],
    ['routeNotFound', Errors.routeNotFound('/x'), 404],
    ['methodNotAllowed', Errors.methodNotAllowed('PUT', '/v1/roles', ['GET', 'POST']), 405],
    ['conflict', Errors.conflict('role', 'Editor'), 409],
    ['payloadTooLarge', Errors.payloadTooLarge(1024), 413],
    ['headTooLarge', Errors.headTooLarge(20_000, 16_384), 431],
    ['unknownPermissions', Errors.unknownPermissions(['a', 'b']), 400],
    ['unknownRoles', Errors.unknownRoles(['r']), 400],
    ['tooManyPairs', Errors.tooManyPairs(10_001, 10_000), 400],
    ['tooManyExplainPairs', Errors.tooManyExplainPairs(1_001, 1_000), 400],
    ['rateLimited', Errors.rateLimited(3, { 'x-ratelimit-limit': '100' }), 429],
    ['unavailable', Errors.unavailable('restarting'), 503],
    ['internal', Errors.internal(), 500],
  ];

  it.each(samples)('%s renders {"error":{code,message,details?}} with its status', (_name, e, status) => {
    expect(e.status).toBe(status);
    const body = JSON.parse(errorBody(e));
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(status);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(0);
    if (e.details === undefined) expect(body.error).not.toHaveProperty('details');
    else expect(body.error.details).toEqual(e.details);
  });

  it('details say what was sent and the limit', () => {
    expect(Errors.tooManyPairs(10_001, 10_000).details).toEqual([{ limit: 10_000, count: 10_001 }]);
    expect(Errors.unknownPermissions(['x']).details).toEqual([{ unknown_permissions: ['x'] }]);
    expect(Errors.rateLimited(7, {}).headers).toMatchObject({ 'retry-after': '7' });
  });

  it('anything that is not a PermioError becomes a generic 500 (the cause is never sent)', () => {
    const e = toPermioError(new Error('secret stack detail'));
    expect(e.status).toBe(500);
    expect(e.message).toBe('Internal error');
  });
});
