// The change feed: what a committed write changed in one project's grant index, replayed by check workers.

/**
 * One idempotent, order-replayable change to a project's index (ids, never names, for grants and roles).
 * Replaying a suffix of deltas onto a state that already contains them yields the same state.
 */
export type Delta =
  | readonly ['perm', id: string, name: string]
  | readonly ['delperm', id: string]
  | readonly ['role', id: string, permissionIds: readonly string[]]
  | readonly ['delrole', id: string]
  | readonly ['grant', principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[]]
  | readonly ['revoke', principal: string, uri: string, permissionIds: readonly string[], roleIds: readonly string[]]
  | readonly ['drop'];

/** The deltas of one committed command, addressed to the worker that owns the project. */
export interface ProjectChange {
  readonly projectId: string;
  readonly deltas: readonly Delta[];
}
