// Scope rules (SPEC §2, §5): which organisation and project a caller may act on. 403s and the 404s of scope objects.
import { Errors } from '../errors.js';
import type { OrgRecord, ProjectRecord } from '../store/records.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { checkIdLength, checkPattern, optionalString, PROJECT_NAME, PROJECT_NAME_RULE, type Input } from './validate.js';

export function requireOperator(caller: Caller, action: string): void {
  if (caller.kind !== 'operator') throw Errors.forbidden(`only the operator key may ${action}`);
}

/**
 * The organisation `orgId` if the caller may act on it. `manage` (projects, keys, users) excludes project keys.
 * A key of another organisation gets 403 whether or not `orgId` exists; the operator gets 404 for unknown ids.
 */
export function orgInScope(ctx: ServiceContext, caller: Caller, orgId: string, opts: { manage: boolean }): OrgRecord {
  if (caller.kind !== 'operator') {
    if (caller.organisationId !== orgId) throw Errors.forbidden('the API key belongs to another organisation');
    if (opts.manage && caller.kind === 'project') {
      throw Errors.forbidden('project keys may not manage projects, keys or users');
    }
  }
  const org = ctx.reader.org(orgId);
  if (org === undefined) throw Errors.notFound('organisation', orgId);
  return org;
}

/** Reads `organisation_id` / `project_name` (400s) — call with the other field checks, before any scope check. */
export function projectFields(caller: Caller, input: Input): { orgId: string | undefined; projectName: string | undefined } {
  const orgId = optionalString(input, 'organisation_id') || undefined;
  if (orgId !== undefined) checkIdLength('organisation_id', orgId);
  const projectName = optionalString(input, 'project_name') || undefined;
  if (projectName !== undefined) checkPattern('project_name', projectName, PROJECT_NAME, PROJECT_NAME_RULE);
  if (caller.kind === 'operator' && orgId === undefined) {
    throw Errors.badRequest("Invalid request: the operator key must name the organisation with 'organisation_id'", [
      { field: 'organisation_id', description: 'This field is required for the operator key' },
    ]);
  }
  if (projectName === undefined && caller.kind !== 'project') throw Errors.missingField('project_name');
  return { orgId, projectName };
}

/** Resolves the project named by a project-scoped call inside the caller's scope: 403, then 404. */
export function projectInScope(
  ctx: ServiceContext,
  caller: Caller,
  fields: { orgId: string | undefined; projectName: string | undefined },
): ProjectRecord {
  const orgId = fields.orgId ?? caller.organisationId!;
  const projectName = fields.projectName ?? caller.projectName!;
  if (caller.kind !== 'operator' && orgId !== caller.organisationId) {
    throw Errors.forbidden('the API key belongs to another organisation');
  }
  if (caller.kind === 'project' && projectName !== caller.projectName) {
    throw Errors.forbidden(`the API key is scoped to project '${caller.projectName}'`);
  }
  const project = ctx.project(orgId, projectName);
  if (project === undefined) {
    if (caller.kind === 'operator' && ctx.reader.org(orgId) === undefined) throw Errors.notFound('organisation', orgId);
    throw Errors.notFound('project', projectName);
  }
  return project;
}
