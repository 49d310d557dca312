// Records → API JSON bodies (SPEC §3 and seed 004 shapes). The only place response objects are shaped.
import type {
  ApiKeyRecord,
  InvitationRecord,
  OrgRecord,
  PermissionRecord,
  ProjectRecord,
  RoleRecord,
  UserRecord,
} from '../store/records.js';

export const permissionView = (p: PermissionRecord, orgId: string, projectName: string) => ({
  id: p.id,
  organisation_id: orgId,
  name: p.name,
  description: p.description,
  project_name: projectName,
});

/** A role embeds its full permission objects, in the role's order (`lookup` returns undefined for none). */
export const roleView = (
  r: RoleRecord,
  orgId: string,
  projectName: string,
  lookup: (id: string) => PermissionRecord | undefined,
) => ({
  id: r.id,
  organisation_id: orgId,
  name: r.name,
  description: r.description,
  permissions: r.permissions.flatMap((id) => {
    const p = lookup(id);
    return p ? [permissionView(p, orgId, projectName)] : [];
  }),
  project_name: projectName,
});

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

export const invitationView = (i: InvitationRecord) => ({
  id: i.id,
  email: i.email,
  token: i.token,
  expires_at: i.expires_at,
});
