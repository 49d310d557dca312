// Every LMDB key layout, in one place: nothing else writes a key array. Keys are arrays (lmdb-js ordered-binary),
// scope first, so a project's or organisation's records are one contiguous getRange.
//
// db            key                               value
// meta          'seq'                             number: last allocated sequence (ids, creation order)
//               'revision'                        number: revision of the last applied command
//               'storeId'                         string: random id of this store (tags revision tokens); a
//                                                 cluster's nodes share one, derived from the log stream's name
//               'replicaOf'                       {stream, created}: cluster mode, the log stream this replica follows
//               'changesTrimmedThrough'           number: highest revision trimmed from the change log (0: none)
//               'callLogFacets'                   number: version of apiLogFacets (absent: build it from apiLogs)
//               'grantIndexes'                    number: version of grantSubjects and grantExpiry (absent: build them)
// orgs          [orgId]                           OrgRecord         (org ids are sequence-ordered)
// users         [orgId, userId]                   UserRecord
// projects      [orgId, projectName]              ProjectRecord
// apikeys       [orgId, apikeyId]                 ApiKeyRecord      (apikey ids are sequence-ordered)
// keyHashes     [sha256hex]                       [orgId, apikeyId]
// permissions   [projectId, permId]               PermissionRecord  (perm ids are sequence-ordered)
// permNames     [projectId, name]                 permId
// roles         [projectId, roleId]               RoleRecord
// roleNames     [projectId, name]                 roleId
// grants        [projectId, userId, uri]          GrantRecord
// grantOrder    [projectId, userId, seq]          uri               (creation order of a user's grants)
// grantSubjects [projectId, uri, userId]          null              (who holds a grant entry on a URI: LookupSubjects)
// grantExpiry   [expiresMs, projectId, userId, uri, id]  null       (when windowed entries end: the expiry sweep)
// invitations   [tokenHash]                       InvitationRecord (the token itself is never stored)
// apiLogs       [orgId, seq]                      ApiLogRecord      (seq order = time order)
// apiLogFacets  [orgId, seq]                      LogFacets         (the entry's time and filterable fields)
// changes       [projectId, revision]             {committed_at, events}: the change log, a project's changes in order
// changeOrder   revision (a number)               [projectId, committed ms]: every stored change in revision order
//                                                 (retention trims from its start; meta 'changesTrimmedThrough')
// importJobs    [importId]                        ImportJobRecord: an import being staged (SPEC §9)
// importStaging [importId, chunk]                 ImportLine[]: a chunk of validated lines, chunks numbered in file order
//
// Only changes with events are stored (a no-op write has a revision but no entry). The writer puts both entries in
// the write's own transaction; the trim removes both, oldest first.

import crypto from 'node:crypto';
export const DB_NAMES = [
  'meta',
  'orgs',
  'users',
  'projects',
  'apikeys',
  'keyHashes',
  'permissions',
  'permNames',
  'roles',
  'roleNames',
  'grants',
  'grantOrder',
  'invitations',
  'apiLogs',
  'changes',
  'changeOrder',
  'apiLogFacets',
  'grantSubjects',
  'grantExpiry',
  'importJobs',
  'importStaging',
] as const;

export type DbName = (typeof DB_NAMES)[number];

export type Key = (string | number)[];

export interface KeyRange {
  start: Key;
  end: Key;
}

/** Sorts after every string and number element (ordered-binary), closing a prefix range. */
const KEY_END = '\uffff';

/** `{start, end}` covering every key that begins with `prefix`. */
function prefixRange(prefix: Key): KeyRange {
  return { start: prefix, end: [...prefix, KEY_END] };
}

/** Keys of the `meta` database. */
export const META = {
  seq: 'seq',
  revision: 'revision',
  storeId: 'storeId',
  replicaOf: 'replicaOf',
  changesTrimmedThrough: 'changesTrimmedThrough',
  callLogFacets: 'callLogFacets',
  grantIndexes: 'grantIndexes',
} as const;

/** The key of one record, by database. */
/** How a secret (API key, invitation token) is stored and looked up: its SHA-256, hex. */
export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

export const keyOf = {
  org: (orgId: string): Key => [orgId],
  user: (orgId: string, userId: string): Key => [orgId, userId],
  project: (orgId: string, name: string): Key => [orgId, name],
  apiKey: (orgId: string, apikeyId: string): Key => [orgId, apikeyId],
  keyHash: (hash: string): Key => [hash],
  permission: (projectId: string, permissionId: string): Key => [projectId, permissionId],
  permissionName: (projectId: string, name: string): Key => [projectId, name],
  role: (projectId: string, roleId: string): Key => [projectId, roleId],
  roleName: (projectId: string, name: string): Key => [projectId, name],
  grant: (projectId: string, userId: string, uri: string): Key => [projectId, userId, uri],
  grantOrder: (projectId: string, userId: string, seq: number): Key => [projectId, userId, seq],
  grantSubject: (projectId: string, uri: string, userId: string): Key => [projectId, uri, userId],
  grantExpiry: (expiresMs: number, projectId: string, userId: string, uri: string, id: string): Key => [expiresMs, projectId, userId, uri, id],
  invitation: (tokenHash: string): Key => [tokenHash],
  apiLog: (orgId: string, seq: number): Key => [orgId, seq],
  change: (projectId: string, revision: number): Key => [projectId, revision],
  /** A plain number: lmdb-js hands one-element array keys back as their element. */
  changeOrder: (revision: number): number => revision,
  apiLogFacets: (orgId: string, seq: number): Key => [orgId, seq],
  importJob: (importId: string): Key => [importId],
  stagedChunk: (importId: string, chunk: number): Key => [importId, chunk],
};

/** Every record of one scope: one contiguous range. */
export const rangeOf = {
  /** users, projects, apikeys, apiLogs of an organisation. */
  organisation: (orgId: string): KeyRange => prefixRange([orgId]),
  /** permissions, permNames, roles, roleNames, grants, grantOrder of a project. */
  project: (projectId: string): KeyRange => prefixRange([projectId]),
  /** grants, grantOrder of one principal in a project (exactly that principal: not ids it prefixes). */
  principal: (projectId: string, userId: string): KeyRange => prefixRange([projectId, userId]),
  /** grantSubjects of one exact URI in a project: the principals holding a grant entry on it. */
  // not prefixRange: its '\uffff' end would stop before principal ids that start above U+FFFF; `uri + '\0'` sorts
  // after every [projectId, uri, …] key (and no URI holds a control character)
  subjectsOn: (projectId: string, uri: string): KeyRange => ({ start: [projectId, uri], end: [projectId, `${uri}\u0000`] }),
  /**
   * grants of one principal at or under the normalized URI `prefix`: they sort from `prefix` to before `prefix0`
   * ('0' follows '/'); the range also holds siblings such as `/a-c` for `/a`, which callers skip.
   */
  principalUnder: (projectId: string, userId: string, prefix: string): KeyRange => ({
    start: [projectId, userId, prefix],
    end: [projectId, userId, `${prefix === '/' ? '' : prefix}0`],
  }),
  /** grantExpiry keys of entries ending at or before `nowMs`. */
  expiredBy: (nowMs: number): KeyRange => ({ start: [0], end: [nowMs, KEY_END] }),
  /** changes of a project with a revision above `after`. */
  changesAfter: (projectId: string, after: number): KeyRange => ({ start: [projectId, after + 1], end: [projectId, KEY_END] }),
  /** apiLogs or apiLogFacets of an organisation from sequence number `from` on. */
  apiLogsFrom: (orgId: string, from: number): KeyRange => ({ start: [orgId, from], end: [orgId, Number.MAX_SAFE_INTEGER] }),
  /** Every staged chunk of an import, in file order. */
  staged: (importId: string): KeyRange => prefixRange([importId]),
};

/** The sequence number of an `apiLogs` or `apiLogFacets` key. */
export const seqOfLogKey = (key: Key): number => key[key.length - 1] as number;

/** The principal of a `grants` key. */
export const userOfGrantKey = (key: Key): string => key[1] as string;

/** The resource URI of a `grants` key. */
export const uriOfGrantKey = (key: Key): string => key[2] as string;

/** The principal of a `grantSubjects` key. */
export const userOfSubjectKey = (key: Key): string => key[2] as string;

/** The parts of a `grantExpiry` key. */
export const partsOfExpiryKey = (key: Key) => ({
  expiresMs: key[0] as number,
  projectId: key[1] as string,
  userId: key[2] as string,
  uri: key[3] as string,
  id: key[4] as string,
});

/** The creation sequence of a `grantOrder` key. */
export const seqOfGrantOrderKey = (key: Key): number => key[2] as number;

/** The revision of a `changes` key. */
export const revisionOfChangeKey = (key: Key): number => key[1] as number;

/** The revision of a `changeOrder` key. */
export const revisionOfOrderKey = (key: unknown): number => key as number;
