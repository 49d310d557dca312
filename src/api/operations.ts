// The operation table: every RPC once, with its REST binding (as its proto's google.api.http annotation says;
// test/api/routes.test.ts compares them), kind, size limit and answer format. Both transports and /openapi.json read it.

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type ServiceName = 'PermissionsService' | 'OrganisationService';

/**
 * How an RPC exchanges messages. REST carries `unary` as one JSON body each way; a streaming RPC says how in
 * {@link Operation.rest}. Each kind has one handler per transport (`api/rest/app.ts`, `api/grpc/handlers.ts`).
 */
export type OperationKind = 'unary' | 'server-streaming' | 'client-streaming';

/** How REST carries an RPC: JSON bodies, a streamed NDJSON body (request or response), or a WebSocket upgrade. */
export type RestFraming = 'json' | 'ndjson' | 'websocket';

/** An RPC's REST binding, field for field what its `google.api.http` annotation says. */
export interface RouteSpec {
  readonly service: ServiceName;
  readonly rpc: string;
  readonly method: HttpMethod;
  /** Path template with `{field}` parameters, e.g. `/v1/permissions/{permission_id}`. */
  readonly path: string;
  /** `'*'` when the JSON body maps onto the request message, `''` when fields come from the query string. */
  readonly body: '*' | '';
}

/** One RPC as both transports serve it. */
export interface Operation extends RouteSpec {
  readonly kind: OperationKind;
  readonly rest: RestFraming;
  /**
   * Largest request in bytes (REST body, gRPC message): 413 / RESOURCE_EXHAUSTED past it. A client stream's messages
   * are bounded one by one here; the stream's total by the service (ImportProject: PERMIO_IMPORT_MAX_MB).
   */
  readonly bodyLimit: number;
  /** The service answers with the response as JSON text (REST sends it as is; gRPC encodes each distinct text once). */
  readonly preEncoded: boolean;
  /** The call log keeps a sample of the successful calls (`PERMIO_CALL_LOG_CHECK_SAMPLE`), not every one. */
  readonly sampled: boolean;
}

const MiB = 1024 * 1024;
/** Largest request of every RPC but Check (SPEC §5: 1 MiB elsewhere). */
export const MAX_BODY_BYTES = MiB;
/** Largest Check request (SPEC §5: 16 MiB for `/v1/check`); also gRPC's server-wide receive limit. */
export const MAX_CHECK_BODY_BYTES = 16 * MiB;

type Extra = Partial<Pick<Operation, 'kind' | 'rest' | 'bodyLimit' | 'preEncoded' | 'sampled'>>;

function op(service: ServiceName, rpc: string, method: HttpMethod, path: string, body: '*' | '', extra: Extra = {}): Operation {
  return Object.freeze({ service, rpc, method, path, body, kind: 'unary', rest: 'json', bodyLimit: MAX_BODY_BYTES, preEncoded: false, sampled: false, ...extra });
}

const P = 'PermissionsService';
const O = 'OrganisationService';
const ORG = '/v1/organisations/{organisation_id}';

/** Every RPC of both services, in proto order. */
export const OPERATIONS: readonly Operation[] = Object.freeze([
  op(P, 'CreatePermission', 'POST', '/v1/permissions', '*'),
  op(P, 'ListPermissions', 'GET', '/v1/permissions', ''),
  op(P, 'GetPermission', 'GET', '/v1/permissions/{permission_id}', ''),
  op(P, 'UpdatePermission', 'PATCH', '/v1/permissions/{permission_id}', '*'),
  op(P, 'DeletePermission', 'DELETE', '/v1/permissions/{permission_id}', ''),
  op(P, 'CreateRole', 'POST', '/v1/roles', '*'),
  op(P, 'ListRoles', 'GET', '/v1/roles', ''),
  op(P, 'GetRole', 'GET', '/v1/roles/{role_id}', ''),
  op(P, 'UpdateRole', 'PATCH', '/v1/roles/{role_id}', '*'),
  op(P, 'DeleteRole', 'DELETE', '/v1/roles/{role_id}', ''),
  op(P, 'Grant', 'POST', '/v1/grants', '*'),
  op(P, 'Revoke', 'DELETE', '/v1/grants', '*'),
  op(P, 'ListGrants', 'GET', '/v1/grants', ''),
  op(P, 'Check', 'POST', '/v1/check', '*', { bodyLimit: MAX_CHECK_BODY_BYTES, preEncoded: true, sampled: true }),
  op(P, 'ExplainCheck', 'POST', '/v1/explain', '*'),
  op(P, 'LookupResources', 'POST', '/v1/lookup/resources', '*'),
  op(P, 'LookupSubjects', 'POST', '/v1/lookup/subjects', '*'),
  op(P, 'Watch', 'GET', '/v1/watch', '', { kind: 'server-streaming', rest: 'websocket' }),
  op(O, 'CreateOrganisation', 'POST', '/v1/organisations', '*'),
  op(O, 'ListOrganisations', 'GET', '/v1/organisations', ''),
  op(O, 'GetOrganisation', 'GET', ORG, ''),
  op(O, 'UpdateOrganisation', 'PATCH', ORG, '*'),
  op(O, 'CreateProject', 'POST', `${ORG}/projects`, '*'),
  op(O, 'ListProjects', 'GET', `${ORG}/projects`, ''),
  op(O, 'DeleteProject', 'DELETE', `${ORG}/projects/{project_name}`, ''),
  op(O, 'CreateApiKey', 'POST', `${ORG}/apikeys`, '*'),
  op(O, 'ListApiKeys', 'GET', `${ORG}/apikeys`, ''),
  op(O, 'InvalidateApiKey', 'DELETE', `${ORG}/apikeys/{apikey_id}`, ''),
  op(O, 'AddUser', 'POST', `${ORG}/users`, '*'),
  op(O, 'ListUsers', 'GET', `${ORG}/users`, ''),
  op(O, 'RemoveUser', 'DELETE', `${ORG}/users/{user_id}`, ''),
  op(O, 'CreateInvitation', 'POST', `${ORG}/invitations`, '*'),
  op(O, 'AcceptInvitation', 'POST', '/v1/invitations/{token}:accept', '*'),
  op(O, 'ListApiLogs', 'GET', `${ORG}/logs`, ''),
  op(O, 'ExportProject', 'GET', `${ORG}/projects/{project_name}:export`, '', { kind: 'server-streaming', rest: 'ndjson' }),
  op(O, 'ImportProject', 'POST', `${ORG}/projects/{project_name}:import`, '*', { kind: 'client-streaming', rest: 'ndjson' }),
]);

/** Each operation's row by RPC name. */
export const OPERATION_BY_RPC: ReadonlyMap<string, Operation> = new Map(OPERATIONS.map((o) => [o.rpc, o]));

/** The REST bindings alone, comparable with the protos' annotations (`protoRoutes()`). */
export const ROUTES: readonly RouteSpec[] = Object.freeze(
  OPERATIONS.map(({ service, rpc, method, path, body }): RouteSpec => ({ service, rpc, method, path, body })),
);

