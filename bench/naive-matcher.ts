// The bench's same-run baseline: the obvious Map<string, Set<string>> matcher, walking URI prefixes by split.
import type { CheckResult, MissingEntry } from '../src/engine/project-index.js';

/** Grants keyed by "principal uri", each holding permission names (roles expanded when granted). */
export class NaiveMatcher {
  private readonly grants = new Map<string, Set<string>>();

  /** Adds `names` to (principal, uri). */
  grant(principal: string, uri: string, names: readonly string[]): void {
    const key = `${principal} ${uri}`;
    let set = this.grants.get(key);
    if (set === undefined) this.grants.set(key, (set = new Set()));
    for (const name of names) set.add(name);
  }

  /** Same answer shape and rules as ProjectIndex.check. */
  check(principal: string, uris: readonly string[], permissions: readonly string[]): CheckResult {
    const wanted = [...new Set(permissions)];
    const seen = new Set<string>();
    const missing: MissingEntry[] = [];
    for (const uri of uris) {
      const normal = uri.length > 1 && uri.endsWith('/') ? uri.slice(0, -1) : uri;
      if (seen.has(normal)) continue;
      seen.add(normal);
      const absent = wanted.filter((name) => !this.holds(principal, normal, name));
      if (absent.length > 0) missing.push({ resource_uri: uri, missing_permissions: absent });
    }
    return { passed: missing.length === 0, missing_permissions: missing };
  }

  private holds(principal: string, uri: string, name: string): boolean {
    if (this.grants.get(`${principal} /`)?.has(name)) return true;
    let prefix = '';
    for (const segment of uri.split('/')) {
      if (segment === '') continue;
      prefix += `/${segment}`;
      if (this.grants.get(`${principal} ${prefix}`)?.has(name)) return true;
    }
    return false;
  }
}
