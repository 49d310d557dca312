// One line of an import file (SPEC §9) → a validated ImportLine, or a 400 naming the line and why. The field rules are
// the API's own (permission and role names, principals, URIs, windows), so a line loads exactly when the call would.
import { Errors, PermioError } from '../errors.js';
import { normalizeResourceUri } from '../resource-uri.js';
import type { ImportLine } from '../store/commands.js';
import { grantWindow } from './time-window.js';
import {
  checkDescription,
  checkPattern,
  checkPrincipal,
  checkPrintable,
  checkResourceUri,
  MAX_NAME_CHARS,
  optionalString,
  PERMISSION_NAME,
  referenceArray,
  requiredString,
  type Input,
} from './validate.js';

/** The format the header names (SPEC §9). */
export const EXPORT_FORMAT = 'permio.export.v1';

/** A 400 for line `line`: the message and the details both name it. */
export function badLine(line: number, reason: string): PermioError {
  return Errors.badRequest(`Invalid import: line ${line}: ${reason}`, [{ line, reason }]);
}

/** The reason of a field error, without the "Invalid request: " its message starts with. */
const reasonOf = (e: PermioError) => e.message.replace(/^Invalid request: /, '');

/** Every string in `value` (nested arrays too) must be well-formed Unicode (SPEC §13: no lone surrogates). */
function checkWellFormed(value: unknown): void {
  if (typeof value === 'string') {
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) throw Errors.notWellFormed('a string');
  } else if (Array.isArray(value)) for (const v of value) checkWellFormed(v);
}

/**
 * Validates one parsed line. `first` says it is the file's first record (the only place a header may be); `now` is
 * the time windows are judged at (SPEC §8: `expires_at` must be after it). A header gives `'header'`.
 */
export function importLine(value: unknown, line: number, first: boolean, now: number): ImportLine | 'header' {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badLine(line, 'not a JSON object');
  const input = value as Input;
  try {
    for (const field in input) checkWellFormed(input[field]);
    const type = requiredString(input, 'type');
    switch (type) {
      case 'header': {
        if (!first) throw Errors.badRequest('a header may only be the first line');
        const format = requiredString(input, 'format');
        if (format !== EXPORT_FORMAT) throw Errors.invalidField('format', `must be '${EXPORT_FORMAT}'`);
        return 'header';
      }
      case 'permission': {
        const name = checkPattern('name', requiredString(input, 'name'), PERMISSION_NAME, 'must be 1–128 of [A-Za-z0-9._:-]');
        const description = checkDescription(optionalString(input, 'description'));
        return description === undefined ? { line, type, name } : { line, type, name, description };
      }
      case 'role': {
        const name = checkPrintable('name', requiredString(input, 'name'), MAX_NAME_CHARS);
        const description = checkDescription(optionalString(input, 'description'));
        const permissions = referenceArray(input, 'permissions');
        return description === undefined ? { line, type, name, permissions } : { line, type, name, description, permissions };
      }
      case 'grant':
        return grantLine(input, line, now);
      default:
        throw Errors.invalidField('type', `unknown type '${type}' (expected header, permission, role or grant)`);
    }
  } catch (e) {
    if (e instanceof PermioError && e.status === 400 && !e.message.startsWith('Invalid import:')) throw badLine(line, reasonOf(e));
    throw e;
  }
}

function grantLine(input: Input, line: number, now: number): ImportLine {
  const user_id = checkPrincipal('user_id', requiredString(input, 'user_id'));
  const resource_uri = normalizeResourceUri(checkResourceUri('resource_uri', requiredString(input, 'resource_uri')));
  const permissions = referenceArray(input, 'permissions');
  const roles = referenceArray(input, 'roles');
  if (permissions.length === 0 && roles.length === 0) throw Errors.badRequest("'permissions' and 'roles' are both empty");
  return { line, type: 'grant', user_id, resource_uri, permissions, roles, ...grantWindow(input, now) }; // the rules of POST /v1/grants
}
