// Bounds a JSON body before it is parsed (SPEC §13): nesting depth, item count and well-formed `\u` escapes, checked in
// one incremental pass over the bytes as they arrive, so a hostile body is refused without ever being parsed whole.

import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../request-bounds.js';

const QUOTE = 34; // '"'
const BACKSLASH = 92; // '\'
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const LOWER_U = 117;

/** Why a body is refused before parsing. */
export type GuardVerdict = 'too-deep' | 'too-many-items' | 'lone-surrogate' | null;

/** Inside a string, after a backslash: which character of `\uXXXX` comes next (0 = none pending). */
const ESC_NONE = 0;
const ESC_AFTER_BACKSLASH = 1;
const ESC_HEX_FIRST = 2; // 2, 3, 4, 5: the four hex digits

/**
 * One body's scan state, fed chunk by chunk. It does not check JSON syntax (`JSON.parse` does, once the body passed):
 * it counts brackets outside strings and follows escapes inside them.
 * @example new JsonGuard().feed(Buffer.from('{"a":"\\ud800"}')) // 'lone-surrogate'
 */
export class JsonGuard {
  private depth = 0;
  private items = 0;
  private inString = false;
  private escape = ESC_NONE;
  private code = 0;
  /** A high-surrogate escape was just read: 1 = a `\` must follow, 2 = its `u`, 3 = its hex (a low surrogate). */
  private wantLow = 0;

  /** Scans the next bytes of the body (a Buffer: its indexOf is memchr); the first verdict other than `null` is final. */
  feed(bytes: Uint8Array): GuardVerdict {
    const len = bytes.length;
    let nextBackslash = -1; // cached across strings: one indexOf per backslash, not per string
    let i = 0;
    while (i < len) {
      if (this.inString) {
        if (this.escape === ESC_NONE && this.wantLow === 0) {
          // plain string bytes: jump (memchr) to the next quote or backslash
          const quote = indexOf(bytes, QUOTE, i);
          if (nextBackslash < i) nextBackslash = indexOf(bytes, BACKSLASH, i);
          if (nextBackslash < quote) {
            this.escape = ESC_AFTER_BACKSLASH;
            i = nextBackslash + 1;
          } else {
            if (quote === len) return null;
            this.inString = false;
            i = quote + 1;
          }
          continue;
        }
        const verdict = this.escapeByte(bytes[i]!);
        if (verdict !== null) return verdict;
        i++;
        continue;
      }
      const c = bytes[i++]!;
      if (c === QUOTE) this.inString = true;
      else if (c === COMMA) {
        if (++this.items > MAX_REQUEST_ITEMS) return 'too-many-items';
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++this.depth > MAX_REQUEST_DEPTH) return 'too-deep';
        if (++this.items > MAX_REQUEST_ITEMS) return 'too-many-items';
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) this.depth--;
    }
    return null;
  }

  /** One byte inside a string while an escape or a surrogate pair is under way. */
  private escapeByte(c: number): GuardVerdict {
    if (this.escape === ESC_NONE) {
      // wantLow === 1: a high surrogate must be followed by `\u` + a low one, nothing else
      if (c !== BACKSLASH) return 'lone-surrogate';
      this.escape = ESC_AFTER_BACKSLASH;
      this.wantLow = 2;
      return null;
    }
    if (this.escape === ESC_AFTER_BACKSLASH) {
      if (c === LOWER_U) {
        this.escape = ESC_HEX_FIRST;
        this.code = 0;
        if (this.wantLow === 2) this.wantLow = 3;
        return null;
      }
      if (this.wantLow !== 0) return 'lone-surrogate';
      this.escape = ESC_NONE; // `\"`, `\\`, `\n`, …: one character
      return null;
    }
    this.code = (this.code << 4) | hexValue(c);
    if (++this.escape < ESC_HEX_FIRST + 4) return null;
    this.escape = ESC_NONE;
    const isHigh = this.code >= 0xd800 && this.code <= 0xdbff;
    const isLow = this.code >= 0xdc00 && this.code <= 0xdfff;
    if (this.wantLow === 3) {
      this.wantLow = 0;
      return isLow ? null : 'lone-surrogate';
    }
    if (isLow) return 'lone-surrogate';
    if (isHigh) this.wantLow = 1;
    return null;
  }
}

/** `bytes.indexOf(byte, from)`, or `bytes.length` when absent. */
function indexOf(bytes: Uint8Array, byte: number, from: number): number {
  const at = bytes.indexOf(byte, from);
  return at === -1 ? bytes.length : at;
}

/** A hex digit's value; anything else is 0 (JSON.parse refuses the body later anyway). */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : 0;
}
