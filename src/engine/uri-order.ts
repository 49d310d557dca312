// Orders and relates normalized resource URIs and principal ids as SPEC §8 wants: by the byte order of their UTF-8
// form, and "at or under" by whole segments (§4).

/**
 * Compares two strings by the byte order of their UTF-8 encodings (= code point order), which JavaScript's `<`
 * (UTF-16 code units) gets wrong above U+FFFF: '\u{10000}' sorts after '\uffff' in UTF-8, before it in UTF-16.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (supplementary code points) sort after U+E000–U+FFFF: shift both ranges into code point order
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** Whether the normalized `uri` is `prefix` or below it by whole segments: `/a` covers `/a/b`, never `/ab`. */
export function isAtOrUnder(uri: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return uri.length === prefix.length ? uri === prefix : uri.length > prefix.length && uri.charCodeAt(prefix.length) === 47 && uri.startsWith(prefix);
}

/** The normalized URI and its ancestors, nearest first: `/a/b` → `['/a/b', '/a', '/']`. */
export function selfAndAncestors(uri: string): string[] {
  const out = [uri];
  for (let i = uri.length - 1; i > 0; i--) if (uri.charCodeAt(i) === 47) out.push(uri.slice(0, i));
  if (uri !== '/') out.push('/');
  return out;
}
