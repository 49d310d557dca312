// Every LMDB key layout, in one place. Keys are arrays (lmdb-js ordered-binary), scope first, so a
// project's or organisation's records are one contiguous getRange.
//
// db            key                               value
// meta          'seq'                             number: last allocated sequence (ids, ordering)
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
// invitations   [token]                           InvitationRecord
// apiLogs       [orgId, seq]                      ApiLogRecord      (seq order = time order)

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
] as const;

export type DbName = (typeof DB_NAMES)[number];

export type Key = (string | number)[];

/** Sorts after every string and number element (ordered-binary), closing a prefix range. */
const KEY_END = '\uffff';

/** `{start, end}` covering every key that begins with `prefix`. */
export function prefixRange(prefix: Key): { start: Key; end: Key } {
  return { start: prefix, end: [...prefix, KEY_END] };
}

export const SEQ_KEY = 'seq';
