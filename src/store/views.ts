// Records → API JSON bodies (SPEC §3 and seed 004 shapes): the only place response objects are shaped (the service's
// answers, and the writer's call-log entries of writes).
import type { ApiKeyRecord, InvitationRecord, OrgRecord, ProjectRecord, UserRecord } from './records.js';

/** The 004 permission and role objects: built in one place, for API answers and change events alike. */
export { permissionObject as permissionView, roleObject as roleView } from './change-feed.js';

export const userView = (u: UserRecord) => ({ id: u.id, email: u.email });

export const organisationView = (o: OrgRecord, users: UserRecord[]) => ({
  id: o.id,
  name: o.name,
  plan: o.plan,
  rate_limit_per_minute: o.rate_limit_per_minute,
  users: users.map(userView),
  created_at: o.created_at,
  updated_at: o.updated_at,
});

export const projectView = (p: ProjectRecord) => ({
  organisation_id: p.organisation_id,
  name: p.name,
  created_at: p.created_at,
});

/** Listed keys never carry the secret; `secret` is passed only in the create response. */
export const apiKeyView = (k: ApiKeyRecord, secret?: string) => ({
  id: k.id,
  name: k.name,
  organisation_id: k.organisation_id,
  project_name: k.project_name,
  ...(secret === undefined ? {} : { key: secret }),
  created_at: k.created_at,
  invalidated: k.invalidated,
});

/** The token is passed only in the create response: the store holds its hash. */
export const invitationView = (i: InvitationRecord, token: string) => ({
  id: i.id,
  email: i.email,
  token,
  expires_at: i.expires_at,
});
