// Time-bounded grant entries of one project (SPEC §8), kept beside the grant trie: the trie holds only permanent
// entries, so a check of a principal without windowed entries takes the unchanged hot path.
import { isAtOrUnder } from './uri-order.js';

/** A window's bounds as sent to the engine: RFC 3339 strings, absent = unbounded. */
export interface WindowBounds {
  readonly starts_at?: string;
  readonly expires_at?: string;
}

/** One windowed entry: a permission or a role granted on `uri`, active while `startsAt ≤ now < expiresAt`. */
export interface WindowedEntry {
  readonly uri: string;
  readonly id: string;
  readonly isRole: boolean;
  readonly startsAt: number;
  readonly expiresAt: number;
}

/** Whether a window is given at all (a grant without times is permanent). */
export const hasBounds = (w: WindowBounds | undefined): w is WindowBounds => w !== undefined && (w.starts_at !== undefined || w.expires_at !== undefined);

/** Whether the entry is active at `now` (ms). */
export const isActive = (e: WindowedEntry, now: number): boolean => e.startsAt <= now && now < e.expiresAt;

/** The windowed entries of a project, by principal. */
export class WindowedGrants {
  private readonly byPrincipal = new Map<string, WindowedEntry[]>();

  /** Principals holding at least one windowed entry (0: every check takes the plain path). */
  get size(): number {
    return this.byPrincipal.size;
  }

  /** The principal's windowed entries, or undefined. */
  of(principal: string): readonly WindowedEntry[] | undefined {
    return this.byPrincipal.get(principal);
  }

  /** Sets the window of `id` on `uri` (replacing an earlier one). */
  put(principal: string, uri: string, id: string, isRole: boolean, w: WindowBounds): void {
    const entry: WindowedEntry = {
      uri,
      id,
      isRole,
      startsAt: w.starts_at === undefined ? -Infinity : Date.parse(w.starts_at),
      expiresAt: w.expires_at === undefined ? Infinity : Date.parse(w.expires_at),
    };
    const list = this.byPrincipal.get(principal);
    if (list === undefined) return void this.byPrincipal.set(principal, [entry]);
    const at = list.findIndex((e) => e.uri === uri && e.id === id);
    if (at >= 0) list[at] = entry;
    else list.push(entry);
  }

  /** Drops the windows of `ids` on `uri` (revoked, expired, or granted again without times). */
  remove(principal: string, uri: string, ids: readonly string[]): void {
    const list = this.byPrincipal.get(principal);
    if (list === undefined) return;
    const kept = list.filter((e) => e.uri !== uri || !ids.includes(e.id));
    if (kept.length === 0) this.byPrincipal.delete(principal);
    else this.byPrincipal.set(principal, kept);
  }

  /** The principal's entries active at `now` on the normalized `uri` or an ancestor. */
  activeOn(principal: string, uri: string, now: number): WindowedEntry[] {
    const out: WindowedEntry[] = [];
    for (const e of this.byPrincipal.get(principal) ?? []) if (isActive(e, now) && isAtOrUnder(uri, e.uri)) out.push(e);
    return out;
  }
}
