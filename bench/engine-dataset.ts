// Deterministic synthetic grants for the engine bench: grant i is a pure function of i, so nothing is held in memory.

/** Permission names of the synthetic project (~20, so masks stay on the one-word fast path). */
export const PERMISSION_NAMES = [
  'read', 'write', 'delete', 'admin', 'share', 'comment', 'view', 'edit', 'create', 'list',
  'approve', 'publish', 'archive', 'restore', 'export', 'import', 'audit', 'billing', 'invite', 'transfer',
];
/** Role id → permission indices. */
export const ROLES: readonly (readonly number[])[] = [
  [0, 6, 9],
  [0, 1, 6, 7, 8, 9],
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [10, 11, 12, 13],
  [14, 15, 16, 17, 18, 19],
];
// Tree shape: segment names per depth and branching; 20·20·10·10·10·10 = 4 M leaves at depth 6.
const LEVEL_NAMES = ['org', 'team', 'proj', 'env', 'svc', 'res'];
const BRANCHING = [20, 20, 10, 10, 10, 10];
const MIN_DEPTH = 3;
const MAX_DEPTH = 6;
const ROLE_GRANT_PERCENT = 25;
const DIRECT_GRANT_PERCENT = 80;
const MAX_PRINCIPALS = 5000; // "a few thousand"
const GRANTS_PER_PRINCIPAL = 200;

/** One generated grant. */
export interface GeneratedGrant {
  principal: string;
  uri: string;
  permissionIds: string[];
  roleIds: string[];
}

/** A well-mixed uint32 from (i, salt): the bench's only randomness. */
export function mix(i: number, salt: number): number {
  let h = Math.imul(i ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Principals for a dataset of `grants` grants. */
export function principalCount(grants: number): number {
  return Math.max(100, Math.min(MAX_PRINCIPALS, Math.floor(grants / GRANTS_PER_PRINCIPAL)));
}

/** Id of the p-th permission. */
export function permissionId(p: number): string {
  return `perm_${p}`;
}

/** Id of the r-th role. */
export function roleId(r: number): string {
  return `role_${r}`;
}

/** A URI 3–6 segments deep, drawn from the fixed tree by (i, salt). */
export function treeUri(i: number, salt: number): string {
  const depth = MIN_DEPTH + (mix(i, salt) % (MAX_DEPTH - MIN_DEPTH + 1));
  let uri = '';
  for (let d = 0; d < depth; d++) uri += `/${LEVEL_NAMES[d]}${mix(i, salt + 1 + d) % BRANCHING[d]!}`;
  return uri;
}

/** The i-th grant of a dataset with `principals` principals. */
export function generateGrant(i: number, principals: number): GeneratedGrant {
  const permissionIds: string[] = [];
  const roleIds: string[] = [];
  const hasRole = mix(i, 11) % 100 < ROLE_GRANT_PERCENT;
  if (!hasRole || mix(i, 12) % 100 < DIRECT_GRANT_PERCENT) {
    const count = 1 + (mix(i, 13) % 3);
    for (let k = 0; k < count; k++) permissionIds.push(permissionId(mix(i, 14 + k) % PERMISSION_NAMES.length));
  }
  if (hasRole) roleIds.push(roleId(mix(i, 20) % ROLES.length));
  return { principal: `user_${mix(i, 1) % principals}`, uri: treeUri(i, 2), permissionIds, roleIds };
}
