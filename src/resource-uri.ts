// Resource URI rules (SPEC §4), a leaf anyone may use: validation and normalisation in one charCodeAt pass, no split or regex.

/** Longest resource URI accepted, in UTF-8 bytes as sent. */
export const MAX_URI_BYTES = 1024; // SPEC §4

const SLASH = 47; // '/'
const DOT = 46; // '.'
const FIRST_PRINTABLE = 0x20; // below: C0 control characters
const DEL = 0x7f; // DEL, then the C1 controls U+0080–U+009F: control characters too (as for principal ids)
const LAST_C1 = 0x9f;
const HIGH_SURROGATE_MIN = 0xd800;
const HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00;
const LOW_SURROGATE_MAX = 0xdfff;

/**
 * Checks a resource URI against SPEC §4.
 * @returns `null` when valid, else a short reason (for a 400's message).
 * @example validateResourceUri('/teams/eng/') // null: a single trailing '/' is ignored
 * @example validateResourceUri('/a//b')       // 'empty segment'
 */
export function validateResourceUri(uri: string): string | null {
  const len = uri.length;
  if (len === 0 || uri.charCodeAt(0) !== SLASH) return 'must start with /';
  // every UTF-16 unit is at least one UTF-8 byte, so this bounds the loop before counting
  if (len > MAX_URI_BYTES) return `longer than ${MAX_URI_BYTES} bytes`;
  // '/a/' => '/a'; but '//' strips to '/' through an empty segment, which stays invalid
  const end = len > 1 && uri.charCodeAt(len - 1) === SLASH ? len - 1 : len;
  if (end === 1 && len === 2) return 'empty segment';
  let bytes = 1 + (len - end); // the leading '/', and an ignored trailing one: the limit is on the URI as sent
  let segStart = 1;
  for (let i = 1; i <= end; i++) {
    const c = i < end ? uri.charCodeAt(i) : SLASH; // a virtual '/' closes the last segment
    if (c === SLASH) {
      const segLen = i - segStart;
      if (segLen === 0) {
        if (end > 1) return 'empty segment'; // end === 1 is the root '/'
      } else if (uri.charCodeAt(segStart) === DOT && (segLen === 1 || (segLen === 2 && uri.charCodeAt(segStart + 1) === DOT))) {
        return 'dot segment';
      } else if (segLen >= 3 && segLen <= 6 && isEncodedDotSegment(uri, segStart, i)) {
        return 'encoded dot segment';
      }
      if (i < end) bytes += 1;
      segStart = i + 1;
      continue;
    }
    if (c < FIRST_PRINTABLE || (c >= DEL && c <= LAST_C1)) return 'control character';
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= HIGH_SURROGATE_MIN && c <= LOW_SURROGATE_MAX) {
      // a pair is one 4-byte code point; a lone surrogate has no UTF-8 form (it would collide with U+FFFD, SPEC §13)
      if (c > HIGH_SURROGATE_MAX || i + 1 >= end || !isLowSurrogate(uri.charCodeAt(i + 1))) return 'lone surrogate';
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes > MAX_URI_BYTES ? `longer than ${MAX_URI_BYTES} bytes` : null;
}

const PERCENT = 37; // '%'

/**
 * Whether `uri[start, stop)` percent-decodes to '.' or '..' (SPEC §13): '%2e', '%2E%2e', '.%2e', '%2e.'; 3–6 chars.
 * URIs are still compared as sent; an encoded traversal is refused rather than granted under its literal spelling.
 */
function isEncodedDotSegment(uri: string, start: number, stop: number): boolean {
  let dots = 0;
  for (let i = start; i < stop; dots++) {
    if (uri.charCodeAt(i) === DOT) i += 1;
    else if (uri.charCodeAt(i) === PERCENT && uri.charCodeAt(i + 1) === 50 /* '2' */ && (uri.charCodeAt(i + 2) | 0x20) === 101 /* 'e' */) i += 3;
    else return false;
  }
  return dots <= 2;
}

function isLowSurrogate(c: number): boolean {
  return c >= LOW_SURROGATE_MIN && c <= LOW_SURROGATE_MAX;
}

/**
 * Canonical form of a valid URI: the single trailing '/' dropped, except for the root.
 * @example normalizeResourceUri('/a/') // '/a'
 * @example normalizeResourceUri('/')   // '/'
 */
export function normalizeResourceUri(uri: string): string {
  return uriEnd(uri) === uri.length ? uri : uri.slice(0, -1);
}

/**
 * Index just past the last meaningful character of the URI `str[start, stop)` (by default the whole string):
 * `stop`, less an ignored trailing '/'.
 */
export function uriEnd(str: string, start = 0, stop = str.length): number {
  return stop - start > 1 && str.charCodeAt(stop - 1) === SLASH ? stop - 1 : stop;
}
