// One project's in-memory authorization index: the engine's only entry point for store, worker and service.
import { checkAccess, type CheckResult, type MissingEntry } from './check.js';
import { GrantTrie } from './grant-trie.js';
import { PermissionTable } from './permissions.js';
import { RoleTable } from './roles.js';
import { hasBounds, WindowedGrants, type WindowBounds, type WindowedEntry } from './windows.js';
import { normalizeResourceUri } from '../resource-uri.js';

export type { CheckResult, MissingEntry } from './check.js';
export type { WindowBounds } from './windows.js';

/**
 * Permissions, roles and grants of one project, answering checks without I/O.
 *
 * Every write is idempotent and order-replayable: re-applying a suffix of the operations onto a state
 * that already contains them yields the same state (a worker replays change-feed deltas after a load).
 * Unknown permission or role ids are ignored (the writer validated them; a replay may meet deleted ones).
 * Roles are expanded into each grant's effective bits here, at write time, never during a check.
 * Cost: grant/revoke/check are O(URI depth); editing a held role or deleting a permission or a held
 * role scans every grant record (≈25 ms per million grants, bench machine), a rare admin write.
 * Time-bounded entries (SPEC §8) live beside the trie, judged at the `now` a check passes: only a check of a
 * principal holding one, that the trie alone does not pass, looks at them.
 */
export class ProjectIndex {
  private readonly permissions = new PermissionTable();
  private readonly roles = new RoleTable(1);
  private readonly trie = new GrantTrie(1);
  private readonly windows = new WindowedGrants();
  private mask = new Int32Array(1); // write-path scratch: the permission bits of one operation

  /** Number of (principal, resource) grant records held. */
  get grantCount(): number {
    return this.trie.grants.size;
  }

  /** Whether `principal` holds or held a grant record here (a worker loads a principal's grants on first sight). */
  hasPrincipal(principal: string): boolean {
    return this.trie.principals.find(principal) >= 0;
  }

  /** Creates permission `id`, or renames it (grants refer to ids; checks use the current name). */
  putPermission(id: string, name: string): void {
    this.permissions.put(id, name);
    const words = this.permissions.words;
    if (words > this.trie.words) {
      this.trie.widen(words);
      this.roles.widen(words);
    }
  }

  /** Deletes permission `id`, removing it from every role and grant. */
  deletePermission(id: string): void {
    const bit = this.permissions.delete(id);
    if (bit < 0) return;
    this.roles.clearBit(bit);
    this.trie.clearBit(bit);
  }

  /** Creates role `id` or replaces its permission set, re-expanding every grant holding it. */
  putRole(id: string, permissionIds: readonly string[]): void {
    const r = this.roles.ensure(id);
    const changed = this.roles.setMask(r, this.maskOf(permissionIds));
    if (changed && this.roles.holders[r]! > 0) this.trie.reexpandRole(r, this.roles.masks);
  }

  /** Deletes role `id` and its grants. */
  deleteRole(id: string): void {
    const r = this.roles.indexOf(id);
    if (r < 0) return;
    if (this.roles.holders[r]! > 0) this.trie.dropRole(r, this.roles.masks);
    this.roles.delete(id);
  }

  /**
   * Adds permissions and roles to `principal` on the normalized `uri` (granting twice is a no-op). With a `window`
   * the entries become time-bounded (replacing a permanent or earlier window); without, permanent.
   */
  grant(principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[], window?: WindowBounds): void {
    if (hasBounds(window)) return this.grantWindowed(principal, uri, permissionIds, roleIds, window);
    if (this.windows.size !== 0) this.windows.remove(principal, uri, [...permissionIds, ...roleIds]);
    const mask = this.maskOf(permissionIds);
    if (isZero(mask, this.trie.words) && !this.anyKnownRole(roleIds)) return; // nothing known: no empty grant
    const trie = this.trie;
    const o = trie.upsertGrant(uri, trie.principals.intern(principal));
    const d = trie.grants.data;
    for (let k = 0, at = o + trie.directAt; k < trie.words; k++) d[at + k] |= mask[k]!;
    for (const id of roleIds) {
      const r = this.roles.indexOf(id);
      if (r >= 0 && trie.addRole(o, r)) this.roles.holders[r]++;
    }
    trie.expand(o, this.roles.masks);
  }

  /** Removes permissions and roles from `principal` on the normalized `uri` (revoking what is absent is a no-op). */
  revoke(principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[]): void {
    if (this.windows.size !== 0) this.windows.remove(principal, uri, [...permissionIds, ...roleIds]);
    const trie = this.trie;
    const p = trie.principals.find(principal);
    const o = p < 0 ? -1 : trie.findGrant(uri, p);
    if (o < 0) return;
    const mask = this.maskOf(permissionIds);
    const d = trie.grants.data;
    for (let k = 0, at = o + trie.directAt; k < trie.words; k++) d[at + k] &= ~mask[k]!;
    for (const id of roleIds) {
      const r = this.roles.indexOf(id);
      if (r >= 0 && trie.removeRole(o, r)) this.roles.holders[r]--;
    }
    trie.expand(o, this.roles.masks);
    if (trie.isEmpty(o)) trie.remove(o);
  }

  /**
   * For every resource × permission pair: does `principal` hold the permission (by current name) on the
   * resource or an ancestor, directly or through a role? Repeated URIs (normalized) and names answer once.
   * `uris` may come joined by URI_SEPARATOR (as the worker receives them).
   */
  check(principal: string, uris: string | readonly string[], permissions: readonly string[], now = Date.now()): CheckResult {
    const result = checkAccess(this.trie, this.permissions, principal, uris, permissions);
    // what the trie passes, windows cannot take away; projects without windowed entries stop here
    if (result.passed || this.windows.size === 0 || this.windows.of(principal) === undefined) return result;
    return this.withWindows(result, principal, now);
  }

  /** Whether checks of `principal` depend on the time (it holds a windowed entry): their answers must not be cached. */
  dependsOnTime(principal: string): boolean {
    return this.windows.size !== 0 && this.windows.of(principal) !== undefined;
  }

  /** `result` less the names that an entry of `principal` active at `now` supplies. */
  private withWindows(result: CheckResult, principal: string, now: number): CheckResult {
    const missing: MissingEntry[] = [];
    for (const m of result.missing_permissions) {
      const active = this.windows.activeOn(principal, normalizeResourceUri(m.resource_uri), now);
      const names = active.length === 0 ? m.missing_permissions : m.missing_permissions.filter((n) => !this.supplies(active, n));
      if (names.length > 0) missing.push(names === m.missing_permissions ? m : { resource_uri: m.resource_uri, missing_permissions: names });
    }
    return { passed: missing.length === 0, missing_permissions: missing };
  }

  /** Whether one of `entries` supplies the permission currently named `name` (itself, or a role holding it). */
  private supplies(entries: readonly WindowedEntry[], name: string): boolean {
    const bit = this.permissions.bitOfName(name);
    if (bit < 0) return false;
    const words = this.roles.words;
    for (const e of entries) {
      if (!e.isRole) {
        if (this.permissions.bitOfId(e.id) === bit) return true;
        continue;
      }
      const r = this.roles.indexOf(e.id);
      if (r >= 0 && (this.roles.masks[r * words + (bit >>> 5)]! & (1 << (bit & 31))) !== 0) return true;
    }
    return false;
  }

  /** Makes the known entries time-bounded: out of the trie, into the windows. */
  private grantWindowed(principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[], window: WindowBounds): void {
    this.trie.principals.intern(principal); // loaded: a principal known to the index is never read again
    this.revoke(principal, uri, permissionIds, roleIds);
    for (const id of permissionIds) if (this.permissions.bitOfId(id) >= 0) this.windows.put(principal, uri, id, false, window);
    for (const id of roleIds) if (this.roles.indexOf(id) >= 0) this.windows.put(principal, uri, id, true, window);
  }

  /** Approximate bytes held (typed arrays + tables), for the bench. */
  byteSize(): number {
    return this.trie.byteSize() + this.roles.byteSize() + this.mask.byteLength + this.permissions.bitCount * 96;
  }

  /** The bits of the known ids among `permissionIds`, in the write-path scratch. */
  private maskOf(permissionIds: readonly string[]): Int32Array {
    const words = this.trie.words;
    if (this.mask.length < words) this.mask = new Int32Array(words);
    this.mask.fill(0);
    for (const id of permissionIds) {
      const bit = this.permissions.bitOfId(id);
      if (bit >= 0) this.mask[bit >>> 5] |= 1 << (bit & 31);
    }
    return this.mask;
  }

  private anyKnownRole(roleIds: readonly string[]): boolean {
    for (const id of roleIds) if (this.roles.indexOf(id) >= 0) return true;
    return false;
  }
}

function isZero(mask: Int32Array, words: number): boolean {
  for (let k = 0; k < words; k++) if (mask[k] !== 0) return false;
  return true;
}
