// Resource URI validation and normalisation (SPEC §4).
import { describe, expect, test } from 'vitest';
import { MAX_URI_BYTES, normalizeResourceUri, validateResourceUri } from '../src/resource-uri.js';

describe('validateResourceUri', () => {
  test.each([
    '/',
    '/a',
    '/a/',
    '/teams/eng',
    '/teams/eng/projects/app1/',
    '/%2e%2e%2e', // three dots: not a traversal
    '/a/%2ex',
    '/a/%252e', // decodes once to '%2e', not to '.'
    '/a/%2f', // compared as sent: '%2f' is not a separator
    '/...', // only '.' and '..' are dot segments
    '/a/.b/..c/b.',
    '/ümlaut/日本/😀',
    '/with space/and:colon@x',
  ])('accepts %j', (uri) => {
    expect(validateResourceUri(uri)).toBeNull();
  });

  test.each([
    ['', 'must start with /'],
    ['a/b', 'must start with /'],
    [' /a', 'must start with /'],
    ['//', 'empty segment'],
    ['///', 'empty segment'],
    ['//a', 'empty segment'],
    ['/a//b', 'empty segment'],
    ['/a//', 'empty segment'],
    ['/.', 'dot segment'],
    ['/..', 'dot segment'],
    ['/a/./b', 'dot segment'],
    ['/a/../b', 'dot segment'],
    ['/a/..', 'dot segment'],
    ['/a/../', 'dot segment'],
    ['/%2e', 'encoded dot segment'], // SPEC §13: a segment that percent-decodes to '.' or '..'
    ['/%2E', 'encoded dot segment'],
    ['/a/%2e%2e', 'encoded dot segment'],
    ['/teams/eng/%2e%2e/admin', 'encoded dot segment'],
    ['/a/%2E%2e/', 'encoded dot segment'],
    ['/a/.%2e/b', 'encoded dot segment'],
    ['/a/%2e./b', 'encoded dot segment'],
    ['/a/\ud800', 'lone surrogate'], // SPEC §13: would collide with U+FFFD once encoded
    ['/a/\udfffx', 'lone surrogate'],
    ['/a/x\ud83d', 'lone surrogate'],
    ['/a\u0000b', 'control character'],
    ['/a\nb', 'control character'],
    ['/a\tb', 'control character'],
    ['/a\u001fb', 'control character'],
    ['/a\u007fb', 'control character'],
    ['/a\u0080b', 'control character'],
    ['/a\u009fb', 'control character'],
  ])('rejects %j (%s)', (uri, reason) => {
    expect(validateResourceUri(uri)).toBe(reason);
  });

  test('limit is 1024 UTF-8 bytes as sent', () => {
    const ascii = '/' + 'a'.repeat(MAX_URI_BYTES - 1);
    expect(validateResourceUri(ascii)).toBeNull();
    expect(validateResourceUri(ascii + 'a')).toMatch(/longer than 1024/);
    // the ignored trailing '/' still counts: it was sent
    expect(validateResourceUri(ascii + '/')).toMatch(/longer than 1024/);
    expect(validateResourceUri(ascii.slice(0, -1) + '/')).toBeNull();
  });

  test.each([
    ['é', 2],
    ['€', 3],
    ['😀', 4],
  ])('counts %s as %i bytes', (ch, size) => {
    // '/' + n chars + padding reaching exactly 1024 bytes, then one byte more
    const n = Math.floor((MAX_URI_BYTES - 1) / size);
    const pad = 'x'.repeat(MAX_URI_BYTES - 1 - n * size);
    const exact = '/' + ch.repeat(n) + pad;
    expect(Buffer.byteLength(exact)).toBe(MAX_URI_BYTES);
    expect(validateResourceUri(exact)).toBeNull();
    expect(Buffer.byteLength(exact + 'x')).toBe(MAX_URI_BYTES + 1);
    expect(validateResourceUri(exact + 'x')).toMatch(/longer than 1024/);
    // swapping one padding byte for a multibyte char also crosses the line
    if (pad.length > 0) expect(validateResourceUri('/' + ch.repeat(n + 1) + pad.slice(1))).toMatch(/longer than 1024/);
  });

  test('multibyte URI under 1025 UTF-16 units but over 1024 bytes is rejected', () => {
    const uri = '/' + 'é'.repeat(600); // 601 units, 1201 bytes
    expect(uri.length).toBeLessThan(MAX_URI_BYTES);
    expect(validateResourceUri(uri)).toMatch(/longer than 1024/);
  });
});

describe('normalizeResourceUri', () => {
  test.each([
    ['/', '/'],
    ['/a', '/a'],
    ['/a/', '/a'],
    ['/a/b/', '/a/b'],
    ['/%2e%2e%2e/', '/%2e%2e%2e'],
  ])('%j → %j', (uri, normal) => {
    expect(normalizeResourceUri(uri)).toBe(normal);
  });
});
