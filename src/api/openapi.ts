// The OpenAPI 3 document of the REST API, generated from the operation table (checked against the protos'
// google.api.http rules) and the protos' messages and comments, and its Redoc page.
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { protoRoot, PROTO_PACKAGE } from './grpc/proto.js';
import {
  componentName,
  descriptionOf,
  fieldMessages,
  fieldSchema,
  isRestField,
  messageRef,
  messageSchema,
  reachableMessages,
  type Schema,
} from './openapi-schema.js';
import { OPERATIONS, type Operation, type RestFraming } from './operations.js';

/** Where the REST app serves the document. */
export const OPENAPI_PATH = '/openapi.json';
/** Where the REST app serves the Redoc page. */
export const DOCS_PATH = '/docs';
/** Where the REST app serves the Redoc script (the file at `docsHtml().scriptPath`). */
export const DOCS_SCRIPT_PATH = '/docs/redoc.standalone.js';

/** Error statuses every operation may answer (SPEC §5), with what they mean here. */
const ERRORS: Readonly<Record<number, string>> = {
  400: 'Invalid request: bad JSON, a wrong type, a missing or invalid field, an unknown page token.',
  401: 'Missing or malformed `Authorization: Bearer <key>`, or an unknown or invalidated key.',
  403: "The key acts outside its scope (another organisation, another project, or an operator-only call).",
  404: 'An object named by the request does not exist.',
  409: 'The name is already taken.',
  413: 'The body is larger than the operation allows.',
  429: "The key's rate limit is exhausted; retry after `Retry-After` seconds.",
  500: 'Internal error (the cause is logged, never sent).',
};

/** Whether `route` can answer `status`: 409 only where something is named (creations, updates), 413 only with a body. */
function answers(route: Operation, status: number): boolean {
  if (status === 409) return route.method === 'POST' || route.method === 'PATCH';
  if (status === 413) return route.body === '*';
  return true;
}

const RATE_HEADERS = {
  'X-RateLimit-Limit': { description: "Requests per minute of the key's plan (limited keys only).", schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the current budget.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Seconds until the budget is full again.', schema: { type: 'integer' } },
};

const REVISION_HEADER = {
  'Permio-Revision': {
    description:
      'A revision token (SPEC §7). On a write: the revision the write got. On a read that evaluates grants: the revision the ' +
      'answer reflects, never older than the one asked for. Pass it back as `consistency.at_least_revision` ' +
      '(ListGrants: `at_least_revision`) to read at least that fresh. gRPC: metadata `permio-revision`.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
};

/** Whether `route`'s answer carries `Permio-Revision`: every write (any non-GET but Check) and the reads that evaluate grants. */
const carriesRevision = (route: Operation) => route.method !== 'GET' || route.rpc === 'ListGrants';

const ERROR_SCHEMA: Schema = {
  type: 'object',
  description: 'Every error has this shape; over gRPC the same body travels in the `permio-error` trailer.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'integer', description: 'The HTTP status.' },
        message: { type: 'string', description: 'What went wrong.' },
        details: { type: 'array', description: 'What was sent and the limit, e.g. the unknown permission ids.', items: { type: 'object' } },
      },
    },
  },
};

function errorResponse(status: number): Schema {
  return {
    description: ERRORS[status],
    ...(status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' } }, ...RATE_HEADERS } } : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

const pathParams = (path: string) => new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));

/** The media type of a streamed side (a client stream's request, a server stream's response); single messages are JSON. */
const MEDIA_TYPES: Readonly<Record<RestFraming, string>> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  websocket: 'application/json', // each WebSocket message is one JSON text
};

/** What a streaming operation's description adds: how REST carries its stream. */
const STREAM_NOTES: Readonly<Record<RestFraming, string>> = {
  json: '',
  ndjson: ' The stream travels as NDJSON: one message per line.',
  websocket: ' Served as a WebSocket at this path: the first text message is the request, each server message one response.',
};

/** Fields of a client stream's messages that say where a record came from, not what the call asks (not query parameters). */
const STREAM_POSITION_FIELDS: ReadonlySet<string> = new Set(['line']);

const MiB = 1024 * 1024;
const sizeOf = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`);

/** One operation: path parameters, then query parameters (no body) or a JSON body (`body: "*"`). */
function operation(route: Operation, method: protobuf.Method): Schema {
  const request = method.resolvedRequestType!;
  const response = method.resolvedResponseType!;
  const inPath = pathParams(route.path);
  const fields = request.fieldsArray.filter(isRestField);
  const param = (f: protobuf.Field, where: 'path' | 'query') => {
    const { description, ...schema } = fieldSchema(f);
    return { name: f.name, in: where, required: where === 'path', ...(description ? { description } : {}), schema };
  };
  // a client stream (ImportProject): the body is its records, one a line; its scalar fields (mode) travel in the query
  const streamed = route.kind === 'client-streaming' ? fields.find((f) => f.resolvedType instanceof protobuf.Type) : undefined;
  const inQuery = (f: protobuf.Field) =>
    !inPath.has(f.name) && (route.body === '' || (streamed !== undefined && f !== streamed && !STREAM_POSITION_FIELDS.has(f.name)));
  const parameters = [...fields.filter((f) => inPath.has(f.name)).map((f) => param(f, 'path')), ...fields.filter(inQuery).map((f) => param(f, 'query'))];
  const bodySchema = streamed !== undefined ? messageRef(streamed.resolvedType as protobuf.Type) : messageSchema(request, { omit: inPath });
  const errors = Object.keys(ERRORS)
    .map(Number)
    .filter((s) => answers(route, s));
  const requestType = route.kind === 'client-streaming' ? MEDIA_TYPES[route.rest] : MEDIA_TYPES.json;
  const responseType = route.kind === 'server-streaming' ? MEDIA_TYPES[route.rest] : MEDIA_TYPES.json;
  const { description } = descriptionOf(method.comment);
  const note = route.kind === 'unary' ? '' : STREAM_NOTES[route.rest];
  return {
    operationId: route.rpc,
    tags: [route.service],
    summary: route.rpc,
    ...(description !== undefined || note !== '' ? { description: `${description ?? ''}${note}`.trim() } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === '*'
      ? { requestBody: { required: true, content: { [requestType]: { schema: bodySchema } } } }
      : {}),
    responses: {
      200: {
        description: 'OK',
        headers: carriesRevision(route) ? { ...REVISION_HEADER, ...RATE_HEADERS } : RATE_HEADERS,
        content: { [responseType]: { schema: messageRef(response) } },
      },
      ...Object.fromEntries(
        errors.map((s) => [
          s,
          s === 413
            ? { ...errorResponse(413), description: streamed ? 'The body is larger than PERMIO_IMPORT_MAX_MB (default 4096 MiB).' : `The body is larger than ${sizeOf(route.bodyLimit)}.` }
            : { $ref: `#/components/responses/E${s}` },
        ]),
      ),
    },
  };
}

let document: Schema | undefined;

/**
 * The OpenAPI 3.0 document of every REST route: paths from the operation table, parameters from
 * path templates and (for GET/DELETE) the other request fields, bodies and responses from the messages,
 * descriptions from the proto comments, bearer-key security and the shared error shape. Built once; the same
 * object is returned on every call (do not mutate it).
 */
export function buildOpenApi(): Schema {
  if (document !== undefined) return document;
  const root = protoRoot();
  const services = new Map(OPERATIONS.map((r) => [r.service, root.lookupService(`${PROTO_PACKAGE}.${r.service}`)]));
  const paths: Record<string, Record<string, Schema>> = {};
  const messages = new Map<string, protobuf.Type>();
  for (const route of OPERATIONS) {
    const method = services.get(route.service)!.methods[route.rpc]!;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, method);
    reachableMessages(method.resolvedResponseType!, messages);
    fieldMessages(method.resolvedRequestType!, messages);
  }
  document = {
    openapi: '3.0.3',
    info: {
      title: 'Permio API',
      version: 'v1',
      description:
        'Self-hosted hierarchical authorization. REST is a transcoding of the gRPC services in `proto/permio/v1/` ' +
        '(package `permio.v1`): the same operations, fields and errors on both transports.',
    },
    servers: [{ url: '/', description: 'The server serving this document' }],
    tags: [...services].map(([name, service]) => ({ name, ...descriptionOf(service.comment) })),
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key, `perms_api_…`: the operator key, an organisation key or a project key.',
        },
      },
      schemas: {
        ...Object.fromEntries([...messages.values()].map((t) => [componentName(t), messageSchema(t, { required: true })])),
        Error: ERROR_SCHEMA,
      },
      responses: Object.fromEntries(Object.keys(ERRORS).map((s) => [`E${s}`, errorResponse(Number(s))])),
    },
  };
  return document;
}

/**
 * The Redoc page rendering {@link OPENAPI_PATH}, and the absolute path of the locally installed Redoc bundle that
 * must be served at {@link DOCS_SCRIPT_PATH} (no CDN, no network).
 */
export function docsHtml(): { html: string; scriptPath: string } {
  const scriptPath = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Permio API</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="${OPENAPI_PATH}"></redoc>
<script src="${DOCS_SCRIPT_PATH}"></script>
</body>
</html>
`;
  return { html, scriptPath };
}
