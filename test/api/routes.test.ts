// The REST table (src/api/routes.ts) and the protos' google.api.http annotations must describe the same routes.
import { describe, expect, test } from 'vitest';
import { ROUTES, type RouteSpec } from '../../src/api/operations.js';
import { protoRoutes, serviceDefinition } from '../../src/api/grpc/proto.js';

const key = (r: RouteSpec) => `${r.service}.${r.rpc}`;
const annotated = new Map(protoRoutes().map((r) => [key(r), r]));
const rest = new Map(ROUTES.map((r) => [key(r), r]));

describe('REST routes ↔ proto annotations', () => {
  test.each(ROUTES.map((r) => [key(r), r] as const))('%s is annotated with its REST route', (_name, route) => {
    expect(annotated.get(key(route))).toEqual(route);
  });

  test.each(protoRoutes().map((r) => [key(r), r] as const))('%s is in the REST table', (_name, route) => {
    expect(rest.get(key(route))).toEqual(route);
  });

  test('the two lists have the same size and no duplicates', () => {
    expect(rest.size).toBe(ROUTES.length);
    expect(annotated.size).toBe(protoRoutes().length);
    expect(annotated.size).toBe(rest.size);
  });

  test('no two routes share a method and path', () => {
    const seen = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(seen.size).toBe(ROUTES.length);
  });

  test.each(protoRoutes().map((r) => [key(r), r] as const))('%s: every path parameter is a request field', (_name, route) => {
    const type = serviceDefinition(route.service)[route.rpc]!.requestType.type as { field: { name: string }[] };
    const fields = type.field.map((f) => f.name);
    const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const param of params) expect(fields).toContain(param);
  });
});
