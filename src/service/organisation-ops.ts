// OrganisationService operations: organisations, users, invitations, projects and API keys.
import crypto from 'node:crypto';
import { PLANS, type Plan } from '../config.js';
import { Errors } from '../errors.js';
import { generateKeySecret } from '../admin-key.js';
import type { OrgRecord, ProjectRecord, ApiKeyRecord, InvitationRecord, UserRecord } from '../store/records.js';
import { hashKey } from './auth.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { paginate, pageRequest } from './pagination.js';
import { orgInScope, requireOperator } from './scope.js';
import {
  checkEmail,
  checkPattern,
  checkPrincipal,
  checkPrintable,
  MAX_NAME_CHARS,
  MAX_ORG_NAME_CHARS,
  optionalCount,
  optionalString,
  PROJECT_NAME,
  PROJECT_NAME_RULE,
  requiredId,
  requiredString,
  type Input,
} from './validate.js';
import { apiKeyView, invitationView, organisationView, projectView, userView } from '../store/views.js';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000; // one week
const INVITATION_TOKEN_BYTES = 24;

function orgName(input: Input, required: boolean): string | undefined {
  const name = required ? requiredString(input, 'name') : optionalString(input, 'name');
  return name === undefined ? undefined : checkPrintable('name', name, MAX_ORG_NAME_CHARS);
}

function plan(input: Input): Plan | undefined {
  const p = optionalString(input, 'plan');
  if (p !== undefined && !PLANS.includes(p as Plan)) throw Errors.invalidField('plan', `must be one of ${PLANS.join(', ')}`);
  return p as Plan | undefined;
}

function projectName(input: Input, field: string): string {
  return checkPattern(field, requiredString(input, field), PROJECT_NAME, PROJECT_NAME_RULE);
}

function orgBody(ctx: ServiceContext, org: OrgRecord) {
  return { organisation: organisationView(org, ctx.reader.users(org.id)) };
}

export async function createOrganisation(ctx: ServiceContext, caller: Caller, input: Input) {
  const name = orgName(input, true)!;
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const p = plan(input) ?? ctx.config.defaultPlan;
  const limit = optionalCount(input, 'rate_limit_per_minute') ?? 0;
  requireOperator(caller, 'create organisations');
  return ctx.write({ op: 'createOrganisation', name, user_id: userId, plan: p, rate_limit_per_minute: limit }, (org: OrgRecord) => orgBody(ctx, org));
}

export async function getOrganisation(ctx: ServiceContext, caller: Caller, input: Input) {
  const id = requiredId(input, 'organisation_id');
  return orgBody(ctx, orgInScope(ctx, caller, id, { manage: false }));
}

export async function listOrganisations(ctx: ServiceContext, caller: Caller, input: Input) {
  const req = pageRequest('organisations', input);
  const all = caller.kind === 'operator' ? ctx.reader.orgs() : [ctx.reader.org(caller.organisationId!)].filter((o) => o !== undefined);
  const page = paginate('organisations', all, req, (o) => o.id, (o) => organisationView(o, ctx.reader.users(o.id)));
  return { organisations: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function updateOrganisation(ctx: ServiceContext, caller: Caller, input: Input) {
  const id = requiredId(input, 'organisation_id');
  const name = orgName(input, false);
  const p = plan(input);
  const limit = optionalCount(input, 'rate_limit_per_minute');
  requireOperator(caller, 'update organisations');
  return ctx.write({ op: 'updateOrganisation', organisation_id: id, name, plan: p, rate_limit_per_minute: limit }, (org: OrgRecord) => orgBody(ctx, org));
}

// ── users and invitations ───────────────────────────────────────────────────

export async function addUser(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const emailRaw = optionalString(input, 'email');
  const email = emailRaw ? checkEmail('email', emailRaw) : '';
  orgInScope(ctx, caller, orgId, { manage: true });
  return ctx.write({ op: 'addUser', organisation_id: orgId, user_id: userId, email }, (user: UserRecord) => ({ user: userView(user) }));
}

export async function listUsers(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const req = pageRequest('users', input);
  orgInScope(ctx, caller, orgId, { manage: true });
  const page = paginate('users', ctx.reader.users(orgId), req, (u) => u.seq, userView);
  return { users: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function removeUser(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  orgInScope(ctx, caller, orgId, { manage: true });
  return ctx.write({ op: 'removeUser', organisation_id: orgId, user_id: userId });
}

export async function createInvitation(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const email = checkEmail('email', requiredString(input, 'email'));
  orgInScope(ctx, caller, orgId, { manage: true });
  const token = crypto.randomBytes(INVITATION_TOKEN_BYTES).toString('base64url');
  const cmd = { op: 'createInvitation', organisation_id: orgId, email, token_hash: hashKey(token), ttl_ms: INVITATION_TTL_MS } as const;
  return ctx.write(cmd, (inv: InvitationRecord) => ({
    invitation: invitationView(inv, token),
  }));
}

export async function acceptInvitation(ctx: ServiceContext, caller: Caller, input: Input) {
  const token = requiredId(input, 'token');
  const userId = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const tokenHash = hashKey(token);
  const inv = ctx.reader.invitation(tokenHash);
  if (inv === undefined) throw Errors.unknownInvitation();
  orgInScope(ctx, caller, inv.organisation_id, { manage: true });
  return ctx.write({ op: 'acceptInvitation', token_hash: tokenHash, user_id: userId }, ({ organisation_id }: { organisation_id: string }) =>
    orgBody(ctx, ctx.reader.org(organisation_id)!),
  );
}

// ── projects ────────────────────────────────────────────────────────────────

export async function createProject(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const name = projectName(input, 'name');
  orgInScope(ctx, caller, orgId, { manage: true });
  return ctx.write({ op: 'createProject', organisation_id: orgId, name }, (project: ProjectRecord) => ({ project: projectView(project) }));
}

export async function listProjects(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const req = pageRequest('projects', input);
  orgInScope(ctx, caller, orgId, { manage: true });
  const page = paginate('projects', ctx.reader.projects(orgId), req, (p) => p.seq, projectView);
  return { projects: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function deleteProject(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const name = projectName(input, 'project_name');
  orgInScope(ctx, caller, orgId, { manage: true });
  return ctx.write({ op: 'deleteProject', organisation_id: orgId, name });
}

// ── API keys ────────────────────────────────────────────────────────────────

export async function createApiKey(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const name = checkPrintable('name', requiredString(input, 'name'), MAX_NAME_CHARS);
  const project = optionalString(input, 'project_name') || '';
  if (project) checkPattern('project_name', project, PROJECT_NAME, PROJECT_NAME_RULE);
  orgInScope(ctx, caller, orgId, { manage: true });
  const secret = generateKeySecret();
  return ctx.write({ op: 'createApiKey', organisation_id: orgId, project_name: project, name, hash: hashKey(secret) }, (rec: ApiKeyRecord) => ({
    api_key: apiKeyView(rec, secret),
  }));
}

export async function listApiKeys(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const req = pageRequest('api_keys', input);
  orgInScope(ctx, caller, orgId, { manage: true });
  const page = paginate('api_keys', ctx.reader.apiKeys(orgId), req, (k) => k.id, (k) => apiKeyView(k));
  return { api_keys: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}

export async function invalidateApiKey(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const id = requiredId(input, 'apikey_id');
  orgInScope(ctx, caller, orgId, { manage: true });
  return ctx.write({ op: 'invalidateApiKey', organisation_id: orgId, apikey_id: id });
}
