// ExplainCheck (SPEC §8): the Check answer plus, per distinct pair, every active grant entry that supplies it.
import type { CheckResult, MissingEntry } from './check.js';
import { supplyingEntries, type GrantView } from './grant-view.js';
import { selfAndAncestors } from './uri-order.js';
import { normalizeResourceUri } from '../resource-uri.js';

/** One grant entry that supplies a pair: where it was granted, through which role (`null`: directly), its window. */
export interface ExplanationSource {
  resource_uri: string;
  role: { id: string; name: string } | null;
  starts_at?: string;
  expires_at?: string;
}

export interface Explanation {
  resource_uri: string;
  permission: string;
  allowed: boolean;
  sources: ExplanationSource[];
}

export interface ExplainResult extends CheckResult {
  explanations: Explanation[];
}

/**
 * Explains `principal` × `uris` × `permissions` at `now`. URIs were validated by the caller; a URI (normalized) or
 * name repeated is answered once, at its first position, and `resource_uri` is echoed as sent. Sources are ordered by
 * the URI they were granted on, nearest first; on one URI the direct permission first, then roles by name.
 */
export function explainCheck(view: GrantView, principal: string, uris: readonly string[], permissions: readonly string[], now: number): ExplainResult {
  const names = [...new Set(permissions)];
  const ids = names.map((n) => view.permissionId(n));
  const seen = new Set<string>();
  const missing: MissingEntry[] = [];
  const explanations: Explanation[] = [];
  for (const sent of uris) {
    const uri = normalizeResourceUri(sent);
    if (seen.has(uri)) continue;
    seen.add(uri);
    const chain = selfAndAncestors(uri);
    const grants = chain.map((a) => view.grant(principal, a));
    const lacking: string[] = [];
    for (let k = 0; k < names.length; k++) {
      const sources: ExplanationSource[] = [];
      const id = ids[k];
      for (let i = 0; id !== undefined && i < chain.length; i++) {
        const g = grants[i];
        if (g === undefined) continue;
        for (const entry of supplyingEntries(view, g, id, now)) {
          const w = g.w?.[entry ?? id];
          sources.push({
            resource_uri: chain[i]!,
            role: entry === null ? null : { id: entry, name: view.role(entry)!.name },
            ...(w?.s === undefined ? {} : { starts_at: w.s }),
            ...(w?.e === undefined ? {} : { expires_at: w.e }),
          });
        }
      }
      explanations.push({ resource_uri: sent, permission: names[k]!, allowed: sources.length > 0, sources });
      if (sources.length === 0) lacking.push(names[k]!);
    }
    if (lacking.length > 0) missing.push({ resource_uri: sent, missing_permissions: lacking });
  }
  return { passed: missing.length === 0, missing_permissions: missing, explanations };
}
