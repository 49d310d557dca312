// The write commands the writer thread accepts; inputs are validated (shapes, formats) before they are sent.
import type { Plan } from '../config.js';
import type { ApiLogRecord } from './records.js';

export type WriteCommand =
  | { op: 'createOrganisation'; name: string; user_id: string; plan: Plan; rate_limit_per_minute: number }
  | { op: 'updateOrganisation'; organisation_id: string; name?: string; plan?: Plan; rate_limit_per_minute?: number }
  | { op: 'addUser'; organisation_id: string; user_id: string; email: string }
  | { op: 'removeUser'; organisation_id: string; user_id: string }
  | { op: 'createInvitation'; organisation_id: string; email: string; token: string; ttl_ms: number }
  | { op: 'acceptInvitation'; token: string; user_id: string }
  | { op: 'appendLogs'; entries: Omit<ApiLogRecord, 'id'>[]; max_age_ms: number; max_per_org: number }
  | { op: 'createProject'; organisation_id: string; name: string }
  | { op: 'deleteProject'; organisation_id: string; name: string }
  | { op: 'createApiKey'; organisation_id: string; project_name: string; name: string; hash: string }
  | { op: 'invalidateApiKey'; organisation_id: string; apikey_id: string }
  | ({ op: 'createPermission'; name: string; description: string } & ProjectRef)
  | ({ op: 'updatePermission'; permission_id: string; name?: string; description?: string } & ProjectRef)
  | ({ op: 'deletePermission'; permission_id: string } & ProjectRef)
  | ({ op: 'createRole'; name: string; description: string; permissions: string[] } & ProjectRef)
  | ({ op: 'updateRole'; role_id: string; name?: string; description?: string; permissions?: string[] } & ProjectRef)
  | ({ op: 'deleteRole'; role_id: string } & ProjectRef)
  | ({ op: 'grant' | 'revoke'; user_id: string; resource_uri: string; permissions: string[]; roles: string[] } & ProjectRef);

/** A project as resolved by the caller; the writer re-checks it inside the transaction. */
export interface ProjectRef {
  organisation_id: string;
  project_name: string;
  project_id: string;
}
