// ProjectIndex against a deliberately naive reference (Maps, split, name sets) on random op sequences, plus replay idempotence.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ProjectIndex, type CheckResult, type MissingEntry } from '../../src/engine/project-index.js';

/** One write, as the change feed carries it (ids, never names, for grants and roles). */
type Op =
  | readonly ['perm', id: string, name: string]
  | readonly ['delperm', id: string]
  | readonly ['role', id: string, permissionIds: string[]]
  | readonly ['delrole', id: string]
  | readonly ['grant' | 'revoke', principal: string, uri: string, permissionIds: string[], roleIds: string[]]
  | readonly ['check', principal: string, uris: string[], names: string[]];

// Segment names that are prefixes of each other, so a string-prefix matcher would be caught.
const SEGMENTS = ['a', 'ab', 'a-b', 'b'];
const PRINCIPALS = ['u', 'u1', 'u2'];
const NAMES = ['read', 'write', 'read:all', 'admin', 'view', 'edit', 'x.y', 'rea'];
const MAX_DEPTH = 3;
const WIDE_FILLERS = 33; // pushes the project past one 32-bit mask word

/** Every URI up to MAX_DEPTH over SEGMENTS, each also with a trailing '/'. */
const ALL_URIS: string[] = (() => {
  const out = ['/'];
  let level = [''];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    level = level.flatMap((prefix) => SEGMENTS.map((s) => `${prefix}/${s}`));
    for (const uri of level) out.push(uri, `${uri}/`);
  }
  return out;
})();

/** The obvious implementation: nothing precomputed, roles expanded at check time, URIs split. */
class NaiveIndex {
  private readonly perms = new Map<string, string>(); // id → name
  private readonly roles = new Map<string, Set<string>>(); // id → permission ids
  private readonly grants = new Map<string, { perms: Set<string>; roles: Set<string> }>(); // principal \0 uri

  apply(op: Op): void {
    switch (op[0]) {
      case 'perm':
        this.perms.set(op[1], op[2]);
        break;
      case 'delperm':
        this.perms.delete(op[1]);
        for (const set of this.roles.values()) set.delete(op[1]);
        for (const g of this.grants.values()) g.perms.delete(op[1]);
        break;
      case 'role':
        this.roles.set(op[1], new Set(op[2].filter((id) => this.perms.has(id))));
        break;
      case 'delrole':
        this.roles.delete(op[1]);
        for (const g of this.grants.values()) g.roles.delete(op[1]);
        break;
      case 'grant': {
        const key = `${op[1]}\u0000${op[2]}`;
        const g = this.grants.get(key) ?? { perms: new Set<string>(), roles: new Set<string>() };
        for (const id of op[3]) if (this.perms.has(id)) g.perms.add(id);
        for (const id of op[4]) if (this.roles.has(id)) g.roles.add(id);
        this.grants.set(key, g);
        break;
      }
      case 'revoke': {
        const g = this.grants.get(`${op[1]}\u0000${op[2]}`);
        for (const id of op[3]) g?.perms.delete(id);
        for (const id of op[4]) g?.roles.delete(id);
        break;
      }
      case 'check':
        break;
    }
  }

  /** (principal, resource) pairs still holding a permission or role. */
  get grantCount(): number {
    let n = 0;
    for (const g of this.grants.values()) if (g.perms.size + g.roles.size > 0) n++;
    return n;
  }

  check(principal: string, uris: readonly string[], names: readonly string[]): CheckResult {
    const wanted = [...new Set(names)];
    const seen = new Set<string>();
    const missing: MissingEntry[] = [];
    for (const uri of uris) {
      const normal = uri.length > 1 && uri.endsWith('/') ? uri.slice(0, -1) : uri;
      if (seen.has(normal)) continue;
      seen.add(normal);
      const held = new Set<string>();
      const segments = normal.split('/').filter((s) => s !== '');
      for (let depth = 0; depth <= segments.length; depth++) {
        const g = this.grants.get(`${principal}\u0000/${segments.slice(0, depth).join('/')}`);
        if (g === undefined) continue;
        const ids = [...g.perms, ...[...g.roles].flatMap((r) => [...(this.roles.get(r) ?? [])])];
        for (const id of ids) held.add(this.perms.get(id)!);
      }
      const absent = wanted.filter((n) => !held.has(n));
      if (absent.length > 0) missing.push({ resource_uri: uri, missing_permissions: absent });
    }
    return { passed: missing.length === 0, missing_permissions: missing };
  }
}

function applyTo(index: ProjectIndex, op: Op): void {
  switch (op[0]) {
    case 'perm': return index.putPermission(op[1], op[2]);
    case 'delperm': return index.deletePermission(op[1]);
    case 'role': return index.putRole(op[1], op[2]);
    case 'delrole': return index.deleteRole(op[1]);
    case 'grant': return index.grant(op[1], op[2], op[3], op[4]);
    case 'revoke': return index.revoke(op[1], op[2], op[3], op[4]);
    case 'check': return;
  }
}

// ── random op sequences: abstract choices, made concrete against the live state (names stay unique) ──

const pathArb = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: MAX_DEPTH });
const uriArb = fc.tuple(pathArb, fc.boolean()).map(([p, slash]) => (p.length === 0 ? '/' : `/${p.join('/')}${slash ? '/' : ''}`));
const picks = (max: number) => fc.array(fc.nat(), { maxLength: max });
const choiceArb = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('newPerm' as const), name: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rename' as const), which: fc.nat(), name: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delPerm' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('putRole' as const), which: fc.nat(), fresh: fc.boolean(), perms: picks(4) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delRole' as const), which: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('grant' as const), who: fc.nat(), path: pathArb, perms: picks(3), roles: picks(2) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('revoke' as const), who: fc.nat(), path: pathArb, perms: picks(3), roles: picks(2) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('check' as const),
      who: fc.nat(),
      uris: fc.array(uriArb, { minLength: 1, maxLength: 5 }),
      names: fc.array(fc.constantFrom(...NAMES, 'missing'), { minLength: 1, maxLength: 5 }),
    }),
  },
);
type Choice = typeof choiceArb extends fc.Arbitrary<infer T> ? T : never;

/** Turns abstract choices into ops a real writer could have emitted (plus references to deleted ids). */
function concretize(choices: readonly Choice[], wide: boolean): Op[] {
  const ops: Op[] = [];
  const live = new Map<string, string>(); // permission id → name
  const allPerms: string[] = []; // ids grants and roles may name (fillers excluded: they only occupy bits)
  let created = 0;
  const liveRoles: string[] = [];
  const allRoles: string[] = [];
  const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
  const nameFree = (name: string) => ![...live.values()].includes(name);
  const newPerm = (name: string, filler = false) => {
    const id = `perm_${created++}`;
    if (!filler) allPerms.push(id);
    live.set(id, name);
    ops.push(['perm', id, name]);
  };
  if (wide) for (let i = 0; i < WIDE_FILLERS; i++) newPerm(`filler${i}`, true);
  for (const c of choices) {
    switch (c.k) {
      case 'newPerm': {
        const name = NAMES[c.name % NAMES.length]!;
        if (nameFree(name)) newPerm(name);
        break;
      }
      case 'rename': {
        const id = pick([...live.keys()], c.which);
        const name = NAMES[c.name % NAMES.length]!;
        if (id !== undefined && nameFree(name)) {
          live.set(id, name);
          ops.push(['perm', id, name]);
        }
        break;
      }
      case 'delPerm': {
        const id = pick([...live.keys()], c.which);
        if (id !== undefined) {
          live.delete(id);
          ops.push(['delperm', id]);
        }
        break;
      }
      case 'putRole': {
        let id = c.fresh ? undefined : pick(liveRoles, c.which);
        if (id === undefined) {
          id = `role_${allRoles.length}`;
          allRoles.push(id);
          liveRoles.push(id);
        }
        ops.push(['role', id, c.perms.flatMap((n) => pick(allPerms, n) ?? [])]);
        break;
      }
      case 'delRole': {
        const id = pick(liveRoles, c.which);
        if (id !== undefined) {
          liveRoles.splice(liveRoles.indexOf(id), 1);
          ops.push(['delrole', id]);
        }
        break;
      }
      case 'grant':
      case 'revoke':
        ops.push([
          c.k,
          PRINCIPALS[c.who % PRINCIPALS.length]!,
          `/${c.path.join('/')}`,
          c.perms.flatMap((n) => pick(allPerms, n) ?? []),
          c.roles.flatMap((n) => pick(allRoles, n) ?? []),
        ]);
        break;
      case 'check':
        ops.push(['check', PRINCIPALS[c.who % PRINCIPALS.length]!, c.uris, c.names]);
        break;
    }
  }
  return ops;
}

const opsArb = fc
  .tuple(fc.array(choiceArb, { maxLength: 80, size: 'max' }), fc.boolean())
  .map(([choices, wide]) => concretize(choices, wide));

/** Every principal (and a stranger) × every URI × every name: a few thousand pairs per state. */
function sweep(index: ProjectIndex, naive: NaiveIndex): void {
  expect(index.grantCount).toBe(naive.grantCount);
  const names = [...NAMES, 'filler0', 'missing', 'read'];
  for (const principal of [...PRINCIPALS, 'stranger']) {
    expect(index.check(principal, ALL_URIS, names)).toEqual(naive.check(principal, ALL_URIS, names));
  }
}

describe('ProjectIndex matches the naive reference', () => {
  test('on random permissions, roles, grants, revokes and checks', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const index = new ProjectIndex();
        const naive = new NaiveIndex();
        for (const op of ops) {
          applyTo(index, op);
          naive.apply(op);
          if (op[0] === 'check') expect(index.check(op[1], op[2], op[3])).toEqual(naive.check(op[1], op[2], op[3]));
        }
        sweep(index, naive);
      }),
      { numRuns: 1500 },
    );
  });

  test('after re-applying a random suffix of the ops (change-feed replay)', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(opsArb, fc.nat(), (ops, cut) => {
        const index = new ProjectIndex();
        const naive = new NaiveIndex();
        for (const op of ops) {
          applyTo(index, op);
          naive.apply(op);
        }
        for (const op of ops.slice(cut % (ops.length + 1))) applyTo(index, op);
        sweep(index, naive);
      }),
      { numRuns: 800 },
    );
  });

  test('under churn large enough to grow and shrink the packed tables', { timeout: 60_000 }, () => {
    const principals = 40;
    const uris = 400;
    const checkedPairs = 2000;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(principals - 1), fc.nat(uris - 1), fc.nat(3), fc.boolean()), { minLength: 3000, maxLength: 6000 }), (steps) => {
        const index = new ProjectIndex();
        const naive = new NaiveIndex();
        const setup: Op[] = [['perm', 'p0', 'read'], ['perm', 'p1', 'write'], ['perm', 'p2', 'admin'], ['role', 'r0', ['p0', 'p1']]];
        const uriOf = (n: number) => `/${n % 7}/${n % 13}/${n}`;
        const ops: Op[] = [...setup];
        for (const [who, where, what, add] of steps) {
          const perms = what === 3 ? [] : [`p${what}`];
          const roles = what === 3 ? ['r0'] : [];
          ops.push([add ? 'grant' : 'revoke', `user${who}`, uriOf(where), perms, roles]);
        }
        for (const op of ops) {
          applyTo(index, op);
          naive.apply(op);
        }
        expect(index.grantCount).toBe(naive.grantCount);
        for (let k = 0; k < checkedPairs; k++) {
          const who = `user${(k * 7) % principals}`;
          const uri = k % 2 === 0 ? uriOf((k * 13) % uris) : `/${k % 7}/${k % 13}`;
          const names = ['read', 'write', 'admin'];
          expect(index.check(who, [uri], names)).toEqual(naive.check(who, [uri], names));
        }
      }),
      { numRuns: 15 },
    );
  });
});
