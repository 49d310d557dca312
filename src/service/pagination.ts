// Opaque page tokens and page slicing over items in creation order (SPEC §5).
import { Errors } from '../errors.js';
import { pageSize, type Input } from './validate.js';

export interface Page<T> {
  items: T[];
  next_page_token: string;
  total_items: number;
}

const TOKEN_VERSION = 'p1';

/** Encodes "continue after this cursor" for list `kind` (tokens of one list are refused by another). */
export function encodeToken(kind: string, cursor: string | number): string {
  return Buffer.from(JSON.stringify([TOKEN_VERSION, kind, cursor])).toString('base64url');
}

function decodeToken(kind: string, token: string): string | number {
  try {
    const [version, k, cursor] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (version === TOKEN_VERSION && k === kind && (typeof cursor === 'string' || typeof cursor === 'number')) {
      return cursor;
    }
  } catch {
    // fall through: not a token we issued
  }
  throw Errors.invalidField('page_token', 'unknown page token');
}

/** Reads `page_size` and `page_token` (400 on bad values) before any scope or object checks. */
export function pageRequest(kind: string, input: Input): { size: number; after: string | number | undefined } {
  const size = pageSize(input);
  const token = input.page_token;
  if (token !== undefined && token !== null && typeof token !== 'string') {
    throw Errors.invalidField('page_token', 'must be a string');
  }
  return { size, after: token ? decodeToken(kind, token) : undefined };
}

/**
 * One page of `all` (already in creation order, `cursorOf` increasing): the items after the cursor.
 * A cursor whose item was deleted meanwhile still resumes at the right place.
 */
export function paginate<T, V>(
  kind: string,
  all: readonly T[],
  req: { size: number; after: string | number | undefined },
  cursorOf: (item: T) => string | number,
  view: (item: T) => V,
): Page<V> {
  let start = 0;
  if (req.after !== undefined) {
    while (start < all.length && cursorOf(all[start]!) <= req.after) start++;
  }
  const slice = all.slice(start, start + req.size);
  const more = start + req.size < all.length;
  return {
    items: slice.map(view),
    next_page_token: more ? encodeToken(kind, cursorOf(slice[slice.length - 1]!)) : '',
    total_items: all.length,
  };
}
