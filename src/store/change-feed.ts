// The change feed: what each committed write did, stamped with its revision and dispatched on the main thread, in
// commit order, to the listeners wired once at start (check pool, caches, watchers). Its events are SPEC §7's event
// JSON: one format from the writer to the change log, the check workers, the caches and the watchers.
import { log } from '../log.js';
import type { PermissionRecord, RoleRecord } from './records.js';

/** The 004 permission object. */
export interface PermissionObject {
  id: string;
  organisation_id: string;
  name: string;
  description: string;
  project_name: string;
}

/** The 004 role object: its permissions embedded, in the role's order. */
export interface RoleObject {
  id: string;
  organisation_id: string;
  name: string;
  description: string;
  permissions: PermissionObject[];
  project_name: string;
}

/** A grant entry that changed: only the permission and role ids the write added (or removed). */
export interface GrantEvent {
  type: 'GRANT' | 'REVOKE' | 'GRANT_EXPIRED';
  user_id: string;
  resource_uri: string;
  permissions: string[];
  roles: string[];
  starts_at?: string;
  expires_at?: string;
}

export interface PermissionEvent {
  type: 'PERMISSION_CREATED' | 'PERMISSION_UPDATED' | 'PERMISSION_DELETED';
  permission: PermissionObject;
}

/** Deleting a permission is one PERMISSION_DELETED (roles and grants lose it implicitly), a role one ROLE_DELETED. */
export interface RoleEvent {
  type: 'ROLE_CREATED' | 'ROLE_UPDATED' | 'ROLE_DELETED';
  role: RoleObject;
}

export interface ProjectDeletedEvent {
  type: 'PROJECT_DELETED';
}

/** One SPEC §7 event, `type` first. */
export type WatchEvent = GrantEvent | PermissionEvent | RoleEvent | ProjectDeletedEvent;

/** What one committed write did. Every applied command has one, a write that changed nothing with `events: []`. */
export interface Change {
  readonly revision: number;
  /** RFC 3339: the command's time (drawn by its caller, so the same on every node). */
  readonly committed_at: string;
  /** The project the events belong to; absent for writes outside any project (organisations, keys, users). */
  readonly project_id?: string;
  /** In the order the write applied them. */
  readonly events: readonly WatchEvent[];
  /** The organisation's record changed (name, plan, rate limit). */
  readonly organisation_updated?: string;
  /** API keys were invalidated (directly, or by deleting their project). */
  readonly keys_invalidated?: true;
  /**
   * Set instead of `events` (then `[]`) when the write made more events than are worth carrying between threads (a
   * large import): how many there are. They are in the change log; whoever needs them reads them there, and the
   * project's indexes and caches are rebuilt from the committed state.
   */
  readonly elided_events?: number;
}

/** Events past this many travel through the change log only ({@link Change.elided_events}). */
export const MAX_CARRIED_EVENTS = 10_000;

/** Whether every event of the change is about grants (so only their principals' answers can change). */
export function onlyGrantEvents(change: Change): boolean {
  for (const e of change.events) if (e.type !== 'GRANT' && e.type !== 'REVOKE' && e.type !== 'GRANT_EXPIRED') return false;
  return true;
}

export const permissionObject = (p: PermissionRecord, orgId: string, projectName: string): PermissionObject => ({
  id: p.id,
  organisation_id: orgId,
  name: p.name,
  description: p.description,
  project_name: projectName,
});

/** `lookup` gives the role's permission records; ids it does not know are left out. */
export const roleObject = (
  r: RoleRecord,
  orgId: string,
  projectName: string,
  lookup: (id: string) => PermissionRecord | undefined,
): RoleObject => ({
  id: r.id,
  organisation_id: orgId,
  name: r.name,
  description: r.description,
  permissions: r.permissions.flatMap((id) => {
    const p = lookup(id);
    return p ? [permissionObject(p, orgId, projectName)] : [];
  }),
  project_name: projectName,
});

export type ChangeListener = (change: Change) => void;

/**
 * Dispatches committed changes, in revision order, to listeners registered once at wiring time; `applied` is the
 * highest revision dispatched. A write is answered only once `applied` reached its revision (read-your-writes).
 */
export class ChangeFeed {
  private readonly listeners: ChangeListener[] = [];
  private waiters: { revision: number; resolve: () => void }[] = [];
  private current = 0;

  /** The highest revision dispatched (or known to hold nothing more to dispatch). */
  get applied(): number {
    return this.current;
  }

  /** Registers `listener` for every later change; listeners run in registration order. */
  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Dispatches one committed change; changes at or below `applied` are ignored (already dispatched). */
  publish(change: Change): void {
    if (change.revision <= this.current) return;
    for (let i = 0; i < this.listeners.length; i++) {
      try {
        this.listeners[i]!(change);
      } catch (err) {
        log.error('change feed: listener failed', { revision: change.revision, error: String((err as Error)?.stack ?? err) });
      }
    }
    this.advance(change.revision);
  }

  /** Moves `applied` up to `revision` without a change (revisions of failed commands; the writer's state at start). */
  advance(revision: number): void {
    if (revision <= this.current) return;
    this.current = revision;
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.revision <= revision);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of due) w.resolve();
  }

  /** Resolves once `applied` ≥ `revision` (at once when it already is). */
  reached(revision: number): Promise<void> {
    if (revision <= this.current) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ revision, resolve }));
  }

  /** Resolves to true once `applied` ≥ `revision`, or to false after `ms` (and then forgets the waiter). */
  reachedWithin(revision: number, ms: number): Promise<boolean> {
    if (revision <= this.current) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.waiters.push(waiter);
    });
  }
}
