// PermissionsService operations on permissions and roles.
import { Errors } from '../errors.js';
import type { PermissionRecord, ProjectRecord, RoleRecord } from '../store/records.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { paginate, pageRequest } from './pagination.js';
import { projectFields, projectInScope } from './scope.js';
import {
  checkDescription,
  checkPattern,
  checkPrintable,
  MAX_NAME_CHARS,
  optionalString,
  optionalReferenceArray,
  referenceArray,
  PERMISSION_NAME,
  requiredId,
  requiredString,
  type Input,
} from './validate.js';
import { permissionView, roleView } from '../store/views.js';

const PERMISSION_NAME_RULE = 'must be 1–128 of [A-Za-z0-9._:-]';

function permissionName(input: Input, required: boolean): string | undefined {
  const name = required ? requiredString(input, 'name') : optionalString(input, 'name');
  return name === undefined ? undefined : checkPattern('name', name, PERMISSION_NAME, PERMISSION_NAME_RULE);
}

function roleName(input: Input, required: boolean): string | undefined {
  const name = required ? requiredString(input, 'name') : optionalString(input, 'name');
  return name === undefined ? undefined : checkPrintable('name', name, MAX_NAME_CHARS);
}

const ref = (p: ProjectRecord) => ({ organisation_id: p.organisation_id, project_name: p.name, project_id: p.id });

function roleBody(ctx: ServiceContext, p: ProjectRecord, r: RoleRecord) {
  return roleView(r, p.organisation_id, p.name, (id) => ctx.reader.permission(p.id, id));
}

// ── permissions ─────────────────────────────────────────────────────────────

export async function createPermission(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const name = permissionName(input, true)!;
  const description = checkDescription(optionalString(input, 'description')) ?? '';
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'createPermission', ...ref(p), name, description }, (rec: PermissionRecord) => permissionView(rec, p.organisation_id, p.name));
}

export async function getPermission(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'permission_id');
  const p = projectInScope(ctx, caller, fields);
  const rec = ctx.reader.permission(p.id, id);
  if (rec === undefined) throw Errors.notFound('permission', id);
  return permissionView(rec, p.organisation_id, p.name);
}

export async function updatePermission(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'permission_id');
  const name = permissionName(input, false);
  const description = checkDescription(optionalString(input, 'description'));
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'updatePermission', ...ref(p), permission_id: id, name, description }, (rec: PermissionRecord) =>
    permissionView(rec, p.organisation_id, p.name),
  );
}

export async function listPermissions(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const req = pageRequest('permissions', input);
  const p = projectInScope(ctx, caller, fields);
  const page = paginate('permissions', ctx.reader.permissions(p.id), req, (r) => r.id, (r) =>
    permissionView(r, p.organisation_id, p.name),
  );
  return { permissions: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function deletePermission(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'permission_id');
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'deletePermission', ...ref(p), permission_id: id });
}

// ── roles ───────────────────────────────────────────────────────────────────

export async function createRole(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const name = roleName(input, true)!;
  const description = checkDescription(optionalString(input, 'description')) ?? '';
  const permissions = referenceArray(input, 'permissions');
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'createRole', ...ref(p), name, description, permissions }, (rec: RoleRecord) => roleBody(ctx, p, rec));
}

export async function getRole(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'role_id');
  const p = projectInScope(ctx, caller, fields);
  const rec = ctx.reader.role(p.id, id);
  if (rec === undefined) throw Errors.notFound('role', id);
  return roleBody(ctx, p, rec);
}

export async function updateRole(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'role_id');
  const name = roleName(input, false);
  const description = checkDescription(optionalString(input, 'description'));
  const permissions = optionalReferenceArray(input, 'permissions');
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'updateRole', ...ref(p), role_id: id, name, description, permissions }, (rec: RoleRecord) => roleBody(ctx, p, rec));
}

export async function listRoles(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const req = pageRequest('roles', input);
  const p = projectInScope(ctx, caller, fields);
  const page = paginate('roles', ctx.reader.roles(p.id), req, (r) => r.id, (r) => roleBody(ctx, p, r));
  return { roles: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function deleteRole(ctx: ServiceContext, caller: Caller, input: Input) {
  const fields = projectFields(caller, input);
  const id = requiredId(input, 'role_id');
  const p = projectInScope(ctx, caller, fields);
  return ctx.write({ op: 'deleteRole', ...ref(p), role_id: id });
}
