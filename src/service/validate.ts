// Input validation shared by every operation: one function per field kind, each throwing a 400 that names the field.
import { Errors } from '../errors.js';
import { validateResourceUri } from '../resource-uri.js';

export type Input = Record<string, unknown>;

export const MAX_PRINCIPAL_BYTES = 256; // SPEC §3
export const MAX_NAME_CHARS = 128; // SPEC §3: permission and role names
export const MAX_DESCRIPTION_CHARS = 4096;
export const MAX_ORG_NAME_CHARS = 256;
export const MAX_EMAIL_CHARS = 320; // RFC 5321 path limit
export const DEFAULT_PAGE_SIZE = 50; // SPEC §5
export const MAX_PAGE_SIZE = 1000; // SPEC §5: larger values are clamped

export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/; // SPEC §3
export const PROJECT_NAME_RULE = 'must match [a-z0-9][a-z0-9_-]{0,62}';
export const PERMISSION_NAME = /^[A-Za-z0-9._:-]{1,128}$/; // SPEC §3
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** A required string field. */
export function requiredString(input: Input, field: string): string {
  const v = input[field];
  if (isAbsent(v)) throw Errors.missingField(field);
  if (typeof v !== 'string') throw Errors.invalidField(field, 'must be a string');
  return v;
}

/** Longest id, token or id-or-name reference accepted: every store key stays far below LMDB's key limit. */
export const MAX_ID_CHARS = 128;

/** A required id or token (`perm_…`, `org_…`, an invitation token, …): a string of at most 128 characters. */
export function requiredId(input: Input, field: string): string {
  return checkIdLength(field, requiredString(input, field));
}

export function checkIdLength(field: string, value: string): string {
  if (value.length > MAX_ID_CHARS) throw Errors.invalidField(field, `must be at most ${MAX_ID_CHARS} characters`);
  return value;
}

/** An optional string field (`undefined` when absent). */
export function optionalString(input: Input, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw Errors.invalidField(field, 'must be a string');
  return v;
}

export function checkPattern(field: string, value: string, pattern: RegExp, description: string): string {
  if (!pattern.test(value)) throw Errors.invalidField(field, description);
  return value;
}

/** 1–max printable characters. */
export function checkPrintable(field: string, value: string, max: number): string {
  const chars = [...value].length;
  if (chars === 0 || chars > max || CONTROL.test(value)) {
    throw Errors.invalidField(field, `must be 1–${max} printable characters`);
  }
  return value;
}

export function checkDescription(value: string | undefined): string | undefined {
  if (value !== undefined && value.length > MAX_DESCRIPTION_CHARS) {
    throw Errors.invalidField('description', `must be at most ${MAX_DESCRIPTION_CHARS} characters`);
  }
  return value;
}

/** Principal ids: opaque, case-sensitive, 1–256 bytes, no control characters (SPEC §3). */
export function checkPrincipal(field: string, value: string): string {
  if (Buffer.byteLength(value) > MAX_PRINCIPAL_BYTES || CONTROL.test(value)) {
    throw Errors.invalidField(field, `must be 1–${MAX_PRINCIPAL_BYTES} bytes without control characters`);
  }
  return value;
}

/** A resource URI as sent (SPEC §4: a trailing '/' is kept; normalise it where it is stored). */
export function checkResourceUri(field: string, uri: string): string {
  const why = validateResourceUri(uri);
  if (why !== null) throw Errors.invalidField(field, `invalid resource URI '${uri}': ${why}`);
  return uri;
}

export function checkEmail(field: string, value: string): string {
  if (value.length > MAX_EMAIL_CHARS || !EMAIL.test(value)) throw Errors.invalidField(field, 'must be an email address');
  return value;
}

/** An array of strings; `nonEmpty` makes an empty or absent list a 400. */
export function stringArray(input: Input, field: string, opts: { nonEmpty: boolean }): string[] {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.nonEmpty) throw Errors.missingField(field);
    return [];
  }
  if (!Array.isArray(v)) throw Errors.invalidField(field, 'must be an array of strings');
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') throw Errors.invalidField(field, 'must be an array of strings');
  }
  if (opts.nonEmpty && v.length === 0) throw Errors.invalidField(field, 'must not be empty');
  return v as string[];
}

/** An array of ids or names (grant references, role permissions): each at most 128 characters. */
export function referenceArray(input: Input, field: string): string[] {
  const refs = stringArray(input, field, { nonEmpty: false });
  for (let i = 0; i < refs.length; i++) checkIdLength(field, refs[i]!);
  return refs;
}

/** An optional array of strings (`undefined` when absent: PATCH keeps the value). */
export function optionalReferenceArray(input: Input, field: string): string[] | undefined {
  return input[field] === undefined || input[field] === null ? undefined : referenceArray(input, field);
}

/** A non-negative integer from JSON (number) or a query string (digits). */
export function optionalCount(input: Input, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw Errors.invalidField(field, 'must be a non-negative integer');
  }
  return n;
}

/** `page_size`: default 50, clamped to 1000, ≤0 or not a number → 400 (SPEC §5). */
export function pageSize(input: Input): number {
  const v = input.page_size;
  if (v === undefined || v === null || v === '') return DEFAULT_PAGE_SIZE;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw Errors.invalidField('page_size', 'must be a positive integer');
  }
  return Math.min(n, MAX_PAGE_SIZE);
}

/** Rejects a body that is not a JSON object. */
export function requireObject(value: unknown): Input {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw Errors.badRequest('Invalid request: the body must be a JSON object');
  }
  return value as Input;
}
