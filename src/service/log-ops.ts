// OrganisationService.ListApiLogs: an organisation's API call log, newest first, filtered and paged by key range.
import { Errors } from '../errors.js';
import { MAX_FILTER_ROUTE_CHARS } from '../store/call-log-facets.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { encodeToken, pageRequest } from './pagination.js';
import { orgInScope } from './scope.js';
import { checkIdLength, optionalCount, optionalString, requiredId, type Input } from './validate.js';

const TOKEN_KIND = 'logs';
const MIN_STATUS = 100; // HTTP status codes
const MAX_STATUS = 599;
// RFC 3339 date-time (section 5.6): `T`/`Z` in either case, optional fraction, `Z` or a numeric offset
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An optional RFC 3339 filter time, as the log stores times (UTC, `toISOString`). */
function time(input: Input, field: string): string | undefined {
  const raw = optionalString(input, field);
  if (raw === undefined || raw === '') return undefined;
  const ms = RFC3339.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw Errors.invalidField(field, 'must be an RFC 3339 timestamp, e.g. 2025-01-01T00:00:00Z');
  return new Date(ms).toISOString();
}

function status(input: Input): number | undefined {
  const s = optionalCount(input, 'status');
  if (s !== undefined && (s < MIN_STATUS || s > MAX_STATUS)) {
    throw Errors.invalidField('status', `must be an HTTP status code (${MIN_STATUS}–${MAX_STATUS})`);
  }
  return s;
}

function route(input: Input): string | undefined {
  const r = optionalString(input, 'route') || undefined;
  if (r !== undefined && r.length > MAX_FILTER_ROUTE_CHARS) {
    throw Errors.invalidField('route', `must be at most ${MAX_FILTER_ROUTE_CHARS} characters`);
  }
  return r;
}

export async function listApiLogs(ctx: ServiceContext, caller: Caller, input: Input) {
  const orgId = requiredId(input, 'organisation_id');
  const startTime = time(input, 'start_time');
  const endTime = time(input, 'end_time');
  if (startTime !== undefined && endTime !== undefined && endTime < startTime) {
    throw Errors.invalidField('end_time', 'must not be before start_time');
  }
  const keyId = optionalString(input, 'key_id') || undefined;
  if (keyId !== undefined) checkIdLength('key_id', keyId);
  const query = { startTime, endTime, status: status(input), keyId, route: route(input) };
  const req = pageRequest(TOKEN_KIND, input);
  // the cursor is the sequence number of the previous page's last entry: exact however many calls are logged since
  if (req.after !== undefined && !(Number.isSafeInteger(req.after) && (req.after as number) > 0)) {
    throw Errors.invalidField('page_token', 'unknown page token');
  }
  orgInScope(ctx, caller, orgId, { manage: true });
  const page = ctx.reader.apiLogPage(orgId, { ...query, size: req.size, beforeSeq: req.after as number | undefined });
  return {
    logs: page.entries,
    next_page_token: page.nextBeforeSeq === undefined ? '' : encodeToken(TOKEN_KIND, page.nextBeforeSeq),
    total_items: page.total,
  };
}
