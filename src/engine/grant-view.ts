// What the reverse questions (SPEC §8: explain, lookups) read of a project's grants: an interface the service layer
// implements over the store, so the engine's answers stay pure functions of it and of `now`.
import { compareBytes } from './uri-order.js';

/** One grant record: the permission and role ids held on one (principal, URI), and the windows of those that have one. */
export interface GrantEntries {
  readonly p: readonly string[];
  readonly r: readonly string[];
  /** RFC 3339 bounds by id: `s ≤ now < e`; absent = permanent. */
  readonly w?: Readonly<Record<string, { readonly s?: string; readonly e?: string }>>;
}

/** A role as explanations name it. */
export interface RoleInfo {
  readonly name: string;
  readonly permissions: readonly string[];
}

/** Read access to one project's grants. */
export interface GrantView {
  /** The id of the permission currently named `name`. */
  permissionId(name: string): string | undefined;
  role(id: string): RoleInfo | undefined;
  /** The record of `principal` on exactly the normalized `uri`. */
  grant(principal: string, uri: string): GrantEntries | undefined;
  /** `principal`'s records at or under the normalized `prefix` in UTF-8 byte order of URI (siblings such as `/a-c` of `/a` may be included). */
  grantsUnder(principal: string, prefix: string): Iterable<readonly [uri: string, grant: GrantEntries]>;
  /** The principals holding a record on exactly the normalized `uri`. */
  subjectsOn(uri: string): Iterable<string>;
}

/** Whether entry `id` of `g` is active at `now` (ms): no window, or `starts_at ≤ now < expires_at`. */
export function isEntryActive(g: GrantEntries, id: string, now: number): boolean {
  const w = g.w?.[id];
  if (w === undefined) return true;
  return (w.s === undefined || Date.parse(w.s) <= now) && (w.e === undefined || now < Date.parse(w.e));
}

/** The entries of `g` active at `now` that supply permission `permissionId`: `null` for the direct one, else role ids by role name. */
export function supplyingEntries(view: GrantView, g: GrantEntries, permissionId: string, now: number): (string | null)[] {
  const out: (string | null)[] = [];
  if (g.p.includes(permissionId) && isEntryActive(g, permissionId, now)) out.push(null);
  const roles: [string, string][] = [];
  for (const id of g.r) {
    const role = view.role(id);
    if (role !== undefined && role.permissions.includes(permissionId) && isEntryActive(g, id, now)) roles.push([role.name, id]);
  }
  if (roles.length > 1) roles.sort((a, b) => compareBytes(a[0], b[0]));
  for (const [, id] of roles) out.push(id);
  return out;
}

/** Whether an active entry of `g` supplies `permissionId` (the first one found; no sorting). */
export function supplies(view: GrantView, g: GrantEntries, permissionId: string, now: number): boolean {
  if (g.p.includes(permissionId) && isEntryActive(g, permissionId, now)) return true;
  for (const id of g.r) {
    if (view.role(id)?.permissions.includes(permissionId) === true && isEntryActive(g, id, now)) return true;
  }
  return false;
}
