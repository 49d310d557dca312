// LookupResources and LookupSubjects (SPEC §8): the whole answer set, in UTF-8 byte order, for the caller to page by
// cursor (the last item returned), so pages never skip or repeat an item that exists for the whole walk.
import { supplies, type GrantView } from './grant-view.js';
import { compareBytes, isAtOrUnder, selfAndAncestors } from './uri-order.js';

/**
 * The maximal subtrees at or under the normalized `prefix` on which `principal` holds the permission named
 * `permission` at `now`: `[prefix]` when a check on the prefix passes, else the supplying URIs under it without a
 * proper ancestor among them. Reads only the principal's own records at or under the prefix, and its ancestors'.
 */
export function lookupResources(view: GrantView, principal: string, permission: string, prefix: string, now: number): string[] {
  const permissionId = view.permissionId(permission);
  if (permissionId === undefined) return [];
  for (const a of selfAndAncestors(prefix)) {
    const g = view.grant(principal, a);
    if (g !== undefined && supplies(view, g, permissionId, now)) return [prefix];
  }
  const found: string[] = [];
  for (const [uri, g] of view.grantsUnder(principal, prefix)) {
    if (uri !== prefix && isAtOrUnder(uri, prefix) && supplies(view, g, permissionId, now)) found.push(uri);
  }
  const set = new Set(found);
  const maximal = found.filter((uri) => !hasProperAncestorIn(uri, prefix, set));
  return maximal.sort(compareBytes); // the store's order already; sorting keeps the contract independent of it
}

/** Whether a proper ancestor of `uri` strictly below `prefix` is in `set`. */
function hasProperAncestorIn(uri: string, prefix: string, set: ReadonlySet<string>): boolean {
  const stop = prefix === '/' ? 0 : prefix.length;
  for (let i = uri.length - 1; i > stop; i--) if (uri.charCodeAt(i) === 47 && set.has(uri.slice(0, i))) return true;
  return false;
}

/**
 * Every principal for whom a check of `permission` on the normalized `uri` passes at `now`, in byte order: the
 * holders of records on the URI and each ancestor (the subject index), each record judged once.
 */
export function lookupSubjects(view: GrantView, uri: string, permission: string, now: number): string[] {
  const permissionId = view.permissionId(permission);
  if (permissionId === undefined) return [];
  const out = new Set<string>();
  for (const a of selfAndAncestors(uri)) {
    for (const principal of view.subjectsOn(a)) {
      if (out.has(principal)) continue;
      const g = view.grant(principal, a);
      if (g !== undefined && supplies(view, g, permissionId, now)) out.add(principal);
    }
  }
  return [...out].sort(compareBytes);
}

/** The index of the first item of the sorted `all` after the cursor `after` (byte order), by binary search. */
export function indexAfter(all: readonly string[], after: string | undefined): number {
  if (after === undefined) return 0;
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(all[mid]!, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
