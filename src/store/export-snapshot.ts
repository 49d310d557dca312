// One project as the records of the export format (SPEC §9), read from one LMDB read transaction: a consistent
// snapshot however long the export takes, produced a batch at a time so a 10 M-grant project never sits in memory.
import type { Transaction } from 'lmdb';
import type { Store } from './env.js';
import { entryWindow, windowKey, type EntryWindow } from './grant-windows.js';
import { META, rangeOf, revisionOfChangeKey, uriOfGrantKey, userOfGrantKey, type Key } from './keys.js';
import type { GrantRecord, PermissionRecord, RoleRecord } from './records.js';

export type PermissionLine = { type: 'permission'; name: string; description: string };
export type RoleLine = { type: 'role'; name: string; description: string; permissions: string[] };
export type GrantLine = { type: 'grant'; user_id: string; resource_uri: string; permissions: string[]; roles: string[] } & EntryWindow;
/** A record after the header, fields in the order the format writes them. */
export type ExportLine = PermissionLine | RoleLine | GrantLine;

/**
 * A read snapshot of one project. {@link next} yields its records in format order — permissions and roles in
 * creation order, then grant entries by principal and URI — a bounded batch per call; {@link close} ends the read
 * transaction (call it however the export ends).
 */
export class ProjectSnapshot {
  private readonly txn: Transaction;
  /**
   * The revision the snapshot reflects: the project's last change in it (what the project is at every later revision
   * up to the snapshot's), so replicas at the same project state name the same one whatever else — the call log,
   * other projects — moved on; the snapshot's own revision for a project without a change on record.
   */
  readonly revision: number;
  private readonly permNames = new Map<string, string>();
  private readonly roleNames = new Map<string, string>();
  private readonly lines: Iterator<ExportLine>;
  private closed = false;

  /**
   * @param now the time windows are judged at (ms): entries whose window ended by then are left out.
   */
  constructor(
    private readonly store: Store,
    private readonly projectId: string,
    private readonly now: number,
  ) {
    this.txn = store.root.useReadTransaction();
    const last = store.dbs.changes.getKeys({ start: [projectId, Number.MAX_SAFE_INTEGER], end: [projectId, 0], reverse: true, limit: 1, transaction: this.txn });
    let changed: number | undefined;
    for (const key of last) changed = revisionOfChangeKey(key as Key);
    this.revision = changed ?? (store.dbs.meta.get(META.revision, { transaction: this.txn }) as number | undefined) ?? 0;
    this.lines = this.generate();
  }

  /** Up to `max` more records; an empty array once every record was given. */
  next(max: number): ExportLine[] {
    const out: ExportLine[] = [];
    if (this.closed) return out;
    while (out.length < max) {
      const r = this.lines.next();
      if (r.done) break;
      out.push(r.value);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.txn.done();
  }

  private *generate(): Generator<ExportLine> {
    const { dbs } = this.store;
    const range = { ...rangeOf.project(this.projectId), transaction: this.txn };
    // permission and role names of the whole project: small beside its grants, and every grant line needs them
    for (const { value } of dbs.permissions.getRange(range)) this.permNames.set((value as PermissionRecord).id, (value as PermissionRecord).name);
    for (const { value } of dbs.roles.getRange(range)) this.roleNames.set((value as RoleRecord).id, (value as RoleRecord).name);
    for (const { value } of dbs.permissions.getRange(range)) {
      const p = value as PermissionRecord;
      yield { type: 'permission', name: p.name, description: p.description };
    }
    for (const { value } of dbs.roles.getRange(range)) {
      const r = value as RoleRecord;
      yield { type: 'role', name: r.name, description: r.description, permissions: this.names(r.permissions, this.permNames) };
    }
    for (const { key, value } of dbs.grants.getRange(range)) yield* this.grantLines(key as Key, value as GrantRecord);
  }

  private names(ids: readonly string[], byId: ReadonlyMap<string, string>): string[] {
    const out: string[] = [];
    for (const id of ids) {
      const name = byId.get(id);
      if (name !== undefined) out.push(name);
    }
    return out;
  }

  /** One line per distinct window of the entry's permissions and roles (the permanent ones first). */
  private *grantLines(key: Key, rec: GrantRecord): Generator<GrantLine> {
    const user_id = userOfGrantKey(key);
    const resource_uri = uriOfGrantKey(key);
    const groups = new Map<string, { window: EntryWindow; p: string[]; r: string[] }>([['', { window: {}, p: [], r: [] }]]);
    const add = (id: string, list: 'p' | 'r') => {
      const window = entryWindow(rec, id);
      const k = windowKey(window);
      let g = groups.get(k);
      if (g === undefined) groups.set(k, (g = { window, p: [], r: [] }));
      g[list].push(id);
    };
    for (const id of rec.p) add(id, 'p');
    for (const id of rec.r) add(id, 'r');
    for (const g of groups.values()) {
      // an entry whose window has ended is no grant any more (the writer removes it within a second: SPEC §8)
      if (g.window.expires_at !== undefined && Date.parse(g.window.expires_at) <= this.now) continue;
      const permissions = this.names(g.p, this.permNames);
      const roles = this.names(g.r, this.roleNames);
      if (permissions.length === 0 && roles.length === 0) continue;
      const line: GrantLine = { type: 'grant', user_id, resource_uri, permissions, roles };
      if (g.window.starts_at !== undefined) line.starts_at = g.window.starts_at;
      if (g.window.expires_at !== undefined) line.expires_at = g.window.expires_at;
      yield line;
    }
  }
}
