// The REST ↔ RPC table: every REST route is the transcoding of one RPC (checked against the protos' google.api.http annotations by test/api/routes.test.ts).

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type ServiceName = 'PermissionsService' | 'OrganisationService';

export interface RouteSpec {
  readonly service: ServiceName;
  readonly rpc: string;
  readonly method: HttpMethod;
  /** Path template with `{field}` parameters, e.g. `/v1/permissions/{permission_id}`. */
  readonly path: string;
  /** `'*'` when the JSON body maps onto the request message, `''` when fields come from the query string. */
  readonly body: '*' | '';
}

const P = 'PermissionsService';
const O = 'OrganisationService';
const ORG = '/v1/organisations/{organisation_id}';

export const ROUTES: readonly RouteSpec[] = Object.freeze([
  { service: P, rpc: 'CreatePermission', method: 'POST', path: '/v1/permissions', body: '*' },
  { service: P, rpc: 'ListPermissions', method: 'GET', path: '/v1/permissions', body: '' },
  { service: P, rpc: 'GetPermission', method: 'GET', path: '/v1/permissions/{permission_id}', body: '' },
  { service: P, rpc: 'UpdatePermission', method: 'PATCH', path: '/v1/permissions/{permission_id}', body: '*' },
  { service: P, rpc: 'DeletePermission', method: 'DELETE', path: '/v1/permissions/{permission_id}', body: '' },
  { service: P, rpc: 'CreateRole', method: 'POST', path: '/v1/roles', body: '*' },
  { service: P, rpc: 'ListRoles', method: 'GET', path: '/v1/roles', body: '' },
  { service: P, rpc: 'GetRole', method: 'GET', path: '/v1/roles/{role_id}', body: '' },
  { service: P, rpc: 'UpdateRole', method: 'PATCH', path: '/v1/roles/{role_id}', body: '*' },
  { service: P, rpc: 'DeleteRole', method: 'DELETE', path: '/v1/roles/{role_id}', body: '' },
  { service: P, rpc: 'Grant', method: 'POST', path: '/v1/grants', body: '*' },
  { service: P, rpc: 'Revoke', method: 'DELETE', path: '/v1/grants', body: '*' },
  { service: P, rpc: 'ListGrants', method: 'GET', path: '/v1/grants', body: '' },
  { service: P, rpc: 'Check', method: 'POST', path: '/v1/check', body: '*' },
  { service: O, rpc: 'CreateOrganisation', method: 'POST', path: '/v1/organisations', body: '*' },
  { service: O, rpc: 'ListOrganisations', method: 'GET', path: '/v1/organisations', body: '' },
  { service: O, rpc: 'GetOrganisation', method: 'GET', path: ORG, body: '' },
  { service: O, rpc: 'UpdateOrganisation', method: 'PATCH', path: ORG, body: '*' },
  { service: O, rpc: 'CreateProject', method: 'POST', path: `${ORG}/projects`, body: '*' },
  { service: O, rpc: 'ListProjects', method: 'GET', path: `${ORG}/projects`, body: '' },
  { service: O, rpc: 'DeleteProject', method: 'DELETE', path: `${ORG}/projects/{project_name}`, body: '' },
  { service: O, rpc: 'CreateApiKey', method: 'POST', path: `${ORG}/apikeys`, body: '*' },
  { service: O, rpc: 'ListApiKeys', method: 'GET', path: `${ORG}/apikeys`, body: '' },
  { service: O, rpc: 'InvalidateApiKey', method: 'DELETE', path: `${ORG}/apikeys/{apikey_id}`, body: '' },
  { service: O, rpc: 'AddUser', method: 'POST', path: `${ORG}/users`, body: '*' },
  { service: O, rpc: 'ListUsers', method: 'GET', path: `${ORG}/users`, body: '' },
  { service: O, rpc: 'RemoveUser', method: 'DELETE', path: `${ORG}/users/{user_id}`, body: '' },
  { service: O, rpc: 'CreateInvitation', method: 'POST', path: `${ORG}/invitations`, body: '*' },
  { service: O, rpc: 'AcceptInvitation', method: 'POST', path: '/v1/invitations/{token}:accept', body: '*' },
  { service: O, rpc: 'ListApiLogs', method: 'GET', path: `${ORG}/logs`, body: '' },
] as const);
