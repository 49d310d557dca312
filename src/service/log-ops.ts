// OrganisationService.ListApiLogs: an organisation's API call log with filters and pagination.
import { Errors } from '../errors.js';
import type { ApiLogRecord } from '../store/records.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { paginate, pageRequest } from './pagination.js';
import { orgInScope } from './scope.js';
import { optionalCount, optionalString, requiredId, type Input } from './validate.js';

function time(input: Input, field: string): string | undefined {
  const raw = optionalString(input, field);
  if (raw === undefined || raw === '') return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw Errors.invalidField(field, 'must be an RFC 3339 timestamp');
  return new Date(ms).toISOString();
}

export async function listApiLogs(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const from = time(input, 'start_time');
  const to = time(input, 'end_time');
  const status = optionalCount(input, 'status');
  const keyId = optionalString(input, 'key_id') || undefined;
  const route = optionalString(input, 'route') || undefined;
  const req = pageRequest('logs', input);
  orgInScope(ctx, caller, orgId, { manage: true });
  const matches = (e: ApiLogRecord) =>
    (from === undefined || e.time >= from) &&
    (to === undefined || e.time < to) &&
    (status === undefined || e.status === status) &&
    (keyId === undefined || e.actor === keyId) &&
    (route === undefined || e.rpc === route || e.route === route);
  const page = paginate('logs', ctx.reader.apiLogs(orgId).filter(matches), req, (e) => e.id, (e) => e);
  return { logs: page.items, next_page_token: page.next_page_token, total_items: page.total_items };
}
