// The pre-parse bounds of a JSON body (SPEC §13): depth, item count and lone-surrogate escapes, fed whole or byte by byte.
import { describe, expect, test } from 'vitest';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../../src/api/request-bounds.js';
import { JsonGuard, type GuardVerdict } from '../../src/api/rest/json-guard.js';

/** The verdict on `text` fed in one piece, and again split into pieces of `size` bytes: they must agree. */
function verdictOf(text: string): GuardVerdict {
  const bytes = Buffer.from(text);
  const whole = new JsonGuard().feed(bytes);
  for (const size of [1, 2, 3, 7]) {
    const guard = new JsonGuard();
    let split: GuardVerdict = null;
    for (let i = 0; i < bytes.length && split === null; i += size) split = guard.feed(bytes.subarray(i, i + size));
    expect(split, `split in pieces of ${size}`).toBe(whole);
  }
  return whole;
}

const nested = (depth: number) => '{"a":' + '['.repeat(depth - 1) + ']'.repeat(depth - 1) + '}';

describe('JsonGuard', () => {
  test('depth: the top-level object is level 1; 32 levels pass, 33 do not', () => {
    expect(verdictOf(nested(MAX_REQUEST_DEPTH))).toBeNull();
    expect(verdictOf(nested(MAX_REQUEST_DEPTH + 1))).toBe('too-deep');
    expect(verdictOf('{"a":' + '{"b":'.repeat(40) + '1' + '}'.repeat(41))).toBe('too-deep');
  });

  test('brackets inside strings, escaped quotes and backslashes do not count', () => {
    expect(verdictOf(JSON.stringify({ a: '['.repeat(100), b: '\\"[[[[' + '{'.repeat(50), c: ['\\', '"'] }))).toBeNull();
    expect(verdictOf(JSON.stringify({ ['{'.repeat(40)]: 1 }))).toBeNull();
  });

  test('items: members and elements up to the limit', () => {
    const list = (n: number) => JSON.stringify({ p: Array.from({ length: n }, () => 1) });
    expect(verdictOf(list(MAX_REQUEST_ITEMS - 2))).toBeNull();
    expect(verdictOf(list(MAX_REQUEST_ITEMS + 2))).toBe('too-many-items');
    expect(new JsonGuard().feed(Buffer.from('[' + '{},'.repeat(MAX_REQUEST_ITEMS) + '{}]'))).toBe('too-many-items');
  });

  test.each([
    ['"\\ud800"', 'lone-surrogate'],
    ['"\\uDFFF"', 'lone-surrogate'],
    ['"x\\ud800y"', 'lone-surrogate'],
    ['"\\ud800\\n"', 'lone-surrogate'],
    ['"\\ud800\\ud800"', 'lone-surrogate'],
    ['"\\udc00\\ud800"', 'lone-surrogate'],
    ['"\\ud83d\\ude00"', null], // 😀 as a pair
    ['"\\uD83D\\uDE00\\u00e9\\n\\\\u d800"', null],
    ['"😀 é"', null],
    ['"\\\\ud800"', null], // an escaped backslash, then the text "ud800"
  ] as const)('escapes in %s → %s', (str, verdict) => {
    expect(verdictOf(`{"k":${str}}`)).toBe(verdict);
    expect(verdictOf(`{${str}:1}`)).toBe(verdict); // keys are strings too
  });
});
