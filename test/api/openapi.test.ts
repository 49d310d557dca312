// The generated OpenAPI document covers every REST route, resolves every reference, and the docs page stays offline.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { buildOpenApi, docsHtml, DOCS_SCRIPT_PATH, OPENAPI_PATH } from '../../src/api/openapi.js';
import { OPERATION_BY_RPC, ROUTES } from '../../src/api/operations.js';

const doc = buildOpenApi() as any;

/** Every `$ref` string anywhere in `value`. */
function refs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, into));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.push(v);
      else refs(v, into);
    }
  }
  return into;
}

describe('buildOpenApi', () => {
  test('is an OpenAPI 3 document with bearer-key security', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  test.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s is documented', (_name, route) => {
    const op = doc.paths[route.path]?.[route.method.toLowerCase()];
    expect(op).toBeDefined();
    expect(op.operationId).toBe(route.rpc);
    expect(op.tags).toEqual([route.service]);
    expect(op.description).toBeTruthy(); // from the proto comment
    const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const inPath = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
    expect(inPath).toEqual(params);
    const streamed = OPERATION_BY_RPC.get(route.rpc)!.kind;
    if (streamed === 'client-streaming') {
      // ImportProject: the body is NDJSON records, `mode` a query parameter
      expect(op.requestBody.content['application/x-ndjson'].schema.$ref).toMatch(/ExportProjectRecord$/);
      expect((op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name)).toEqual(['mode']);
    } else if (route.body === '*') {
      expect(op.requestBody.content['application/json'].schema.type).toBe('object');
      expect((op.parameters ?? []).some((p: any) => p.in === 'query')).toBe(false);
    } else {
      expect(op.requestBody).toBeUndefined();
    }
    const responseType = streamed === 'server-streaming' && route.rpc !== 'Watch' ? 'application/x-ndjson' : 'application/json';
    expect(op.responses[200].content[responseType].schema).toBeDefined();
    expect(op.responses[401]).toEqual({ $ref: '#/components/responses/E401' });
  });

  test('has exactly the REST routes', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  test('every $ref resolves', () => {
    for (const ref of refs(doc)) {
      const [, section, name] = ref.match(/^#\/components\/(\w+)\/(\w+)$/) ?? [];
      expect(doc.components[section!]?.[name!], ref).toBeDefined();
    }
  });

  test('query parameters of reads carry the request fields, e.g. pagination', () => {
    const names = doc.paths['/v1/grants'].get.parameters.map((p: any) => p.name);
    expect(names).toEqual(['organisation_id', 'project_name', 'user_id', 'resource_uri', 'page_size', 'page_token', 'at_least_revision']);
    const pageSize = doc.paths['/v1/grants'].get.parameters.find((p: any) => p.name === 'page_size');
    expect(pageSize.schema).toEqual({ type: 'integer', format: 'int32' });
  });

  test('response schemas are the REST bodies: always-present fields required, optional ones not', () => {
    expect(doc.components.schemas.CheckResponse.required).toEqual(['passed', 'missing_permissions']);
    expect(doc.components.schemas.ApiKey.required).not.toContain('key');
    expect(doc.components.schemas.CreateOrganisationResponse.properties.organisation.allOf).toEqual([{ $ref: '#/components/schemas/Organisation' }]);
    expect(doc.paths['/v1/grants'].post.responses[200].content['application/json'].schema.type).toBe('object'); // Empty → {}
  });

  test('gRPC-only fields (the FieldMask) are not in the REST body', () => {
    const body = doc.paths['/v1/roles/{role_id}'].patch.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(['organisation_id', 'project_name', 'name', 'description', 'permissions']);
  });

  test('the error shape is shared', () => {
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
    expect(doc.components.responses.E429.headers['Retry-After']).toBeDefined();
  });
});

describe('docsHtml', () => {
  test('renders the document with the local Redoc bundle, nothing from the network', () => {
    const { html, scriptPath } = docsHtml();
    expect(fs.existsSync(scriptPath)).toBe(true);
    expect(html).toContain(`spec-url="${OPENAPI_PATH}"`);
    expect(html).toContain(`<script src="${DOCS_SCRIPT_PATH}"></script>`);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
