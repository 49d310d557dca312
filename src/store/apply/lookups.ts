// The records a command must find inside its transaction (else 404), shared by the domain files.
import { Errors } from '../../errors.js';
import type { ProjectRef } from '../commands.js';
import { keyOf } from '../keys.js';
import type { OrgRecord, PermissionRecord, ProjectRecord, RoleRecord } from '../records.js';
import type { WriteTxn } from './write-txn.js';

export function requireOrg(tx: WriteTxn, id: string): OrgRecord {
  const org = tx.db.orgs.get(keyOf.org(id)) as OrgRecord | undefined;
  if (!org) throw Errors.notFound('organisation', id);
  return org;
}

/** Re-checks that the project the caller resolved still exists (not deleted and recreated meanwhile); returns its id. */
export function requireProject(tx: WriteTxn, ref: ProjectRef): string {
  const project = tx.db.projects.get(keyOf.project(ref.organisation_id, ref.project_name)) as ProjectRecord | undefined;
  if (!project || project.id !== ref.project_id) throw Errors.notFound('project', ref.project_name);
  return project.id;
}

export function requirePermission(tx: WriteTxn, projectId: string, id: string): PermissionRecord {
  const rec = tx.db.permissions.get(keyOf.permission(projectId, id)) as PermissionRecord | undefined;
  if (!rec) throw Errors.notFound('permission', id);
  return rec;
}

export function requireRole(tx: WriteTxn, projectId: string, id: string): RoleRecord {
  const rec = tx.db.roles.get(keyOf.role(projectId, id)) as RoleRecord | undefined;
  if (!rec) throw Errors.notFound('role', id);
  return rec;
}
