// The `starts_at` / `expires_at` of a time-bounded grant (SPEC §8): strict RFC 3339, stored in UTC.
import { Errors } from '../errors.js';
import type { Input } from './validate.js';

// date, 'T' (or 't' / ' '), time, optional fraction, 'Z' or an offset
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const MINUTE_MS = 60_000;

/** Milliseconds since the epoch of an RFC 3339 time, or NaN (Date.parse alone accepts '2030-02-30'). */
export function parseRfc3339(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) return NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return NaN;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  return Date.UTC(year, month - 1, day, hour, minute, second, fraction) - offsetMin * MINUTE_MS;
}

/** A window as the grant command carries it: UTC text (as sent when already `…Z`) and its bounds in ms. */
export interface GrantWindowInput {
  starts_at?: string;
  expires_at?: string;
}

/**
 * Reads `starts_at` / `expires_at` of a grant request: each optional; unparseable, `expires_at` not after `now`, or
 * not after `starts_at` → 400 naming the field.
 */
export function grantWindow(input: Input, now: number): GrantWindowInput {
  const starts = optionalTime(input, 'starts_at');
  const expires = optionalTime(input, 'expires_at');
  if (expires !== undefined && expires.ms <= now) throw Errors.invalidField('expires_at', 'must be in the future');
  if (expires !== undefined && starts !== undefined && expires.ms <= starts.ms) throw Errors.invalidField('expires_at', 'must be after starts_at');
  return { ...(starts && { starts_at: starts.text }), ...(expires && { expires_at: expires.text }) };
}

function optionalTime(input: Input, field: string): { text: string; ms: number } | undefined {
  const v = input[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw Errors.invalidField(field, 'must be an RFC 3339 time string');
  const ms = parseRfc3339(v);
  if (!Number.isFinite(ms)) throw Errors.invalidField(field, `must be an RFC 3339 time, e.g. 2030-01-01T00:00:00Z (got '${v.slice(0, 64)}')`);
  return { text: CANONICAL_UTC.test(v) ? v : new Date(ms).toISOString().replace('.000Z', 'Z'), ms };
}
