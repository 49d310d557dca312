// ProjectIndex hand cases: prefix segments, root grants, roles and their edits, renames, deletes, duplicates, wide projects.
import { beforeEach, describe, expect, test } from 'vitest';
import { ProjectIndex, type CheckResult } from '../../src/engine/project-index.js';

const PASS: CheckResult = { passed: true, missing_permissions: [] };

/** Shorthand for an expected failing answer: [uri, missing names] per resource. */
function fail(...entries: [string, string[]][]): CheckResult {
  return { passed: false, missing_permissions: entries.map(([resource_uri, missing_permissions]) => ({ resource_uri, missing_permissions })) };
}

let index: ProjectIndex;
beforeEach(() => {
  index = new ProjectIndex();
  index.putPermission('perm_r', 'read');
  index.putPermission('perm_w', 'write');
  index.putPermission('perm_d', 'delete');
});

describe('resources', () => {
  test('a grant covers its resource and descendants by whole segments', () => {
    index.grant('alice', '/teams/eng', ['perm_r'], []);
    expect(index.check('alice', ['/teams/eng', '/teams/eng/', '/teams/eng/projects/app1'], ['read'])).toEqual(PASS);
    expect(index.check('alice', ['/teams/engineering', '/teams/en', '/teams', '/', '/eng'], ['read'])).toEqual(
      fail(['/teams/engineering', ['read']], ['/teams/en', ['read']], ['/teams', ['read']], ['/', ['read']], ['/eng', ['read']]),
    );
  });

  test('a longer sibling segment grants nothing to its prefix', () => {
    index.grant('alice', '/teams/engineering', ['perm_r'], []);
    expect(index.check('alice', ['/teams/eng', '/teams/engineering/x'], ['read'])).toEqual(fail(['/teams/eng', ['read']]));
  });

  test('a root grant covers everything', () => {
    index.grant('alice', '/', ['perm_w'], []);
    expect(index.check('alice', ['/', '/a', '/a/b/c/d/e/f', '/%2e%2e/'], ['write'])).toEqual(PASS);
  });

  test('hostile-looking but valid segments are literal', () => {
    index.grant('alice', '/%2e%2e', ['perm_r'], []);
    expect(index.check('alice', ['/%2e%2e/x', '/..x'], ['read'])).toEqual(fail(['/..x', ['read']]));
  });

  test('grants are per principal, compared exactly', () => {
    index.grant('alice', '/', ['perm_r'], []);
    expect(index.check('Alice', ['/a'], ['read'])).toEqual(fail(['/a', ['read']]));
    expect(index.check('alic', ['/a'], ['read'])).toEqual(fail(['/a', ['read']]));
  });

  test('permissions along the path add up', () => {
    index.grant('alice', '/', ['perm_r'], []);
    index.grant('alice', '/a/b', ['perm_w'], []);
    expect(index.check('alice', ['/a/b/c', '/a'], ['read', 'write'])).toEqual(fail(['/a', ['write']]));
  });
});

describe('request shape', () => {
  test('missing lists keep request order, echo URIs as sent, and skip passing resources', () => {
    index.grant('alice', '/b', ['perm_r', 'perm_w'], []);
    expect(index.check('alice', ['/c/', '/b/x/', '/a'], ['write', 'delete', 'read'])).toEqual(
      fail(['/c/', ['write', 'delete', 'read']], ['/b/x/', ['delete']], ['/a', ['write', 'delete', 'read']]),
    );
  });

  test('a repeated URI (also with a trailing slash) or name answers once, at its first position', () => {
    expect(index.check('alice', ['/a/', '/b', '/a', '/b', '/a/'], ['read', 'write', 'read'])).toEqual(
      fail(['/a/', ['read', 'write']], ['/b', ['read', 'write']]),
    );
  });

  test('URIs joined by a newline (as a worker receives them) answer exactly as the array', () => {
    index.grant('alice', '/a', ['perm_r'], []);
    index.grant('alice', '/', ['perm_d'], []);
    const batches = [['/'], ['/a/'], ['/a/x', '/b', '/a/x/', '/', '/b/'], ['/b', '/b', '/c/d/'], ['/a', '/a/y', '/a/z']];
    for (const uris of batches) {
      for (const names of [['read'], ['read', 'write', 'delete'], ['delete', 'nope']]) {
        expect(index.check('alice', uris.join('\n'), names)).toEqual(index.check('alice', uris, names));
        expect(index.check('bob', uris.join('\n'), names)).toEqual(index.check('bob', uris, names));
      }
    }
  });

  test('an unknown name is simply missing, even for a root grant', () => {
    index.grant('alice', '/', ['perm_r', 'perm_w', 'perm_d'], []);
    expect(index.check('alice', ['/x'], ['read', 'fly', 'write'])).toEqual(fail(['/x', ['fly']]));
  });

  test('an unknown principal misses everything', () => {
    expect(index.check('nobody', ['/'], ['read'])).toEqual(fail(['/', ['read']]));
  });
});

describe('roles', () => {
  beforeEach(() => {
    index.putRole('role_editor', ['perm_r', 'perm_w']);
  });

  test('a role grants its permissions', () => {
    index.grant('alice', '/docs', [], ['role_editor']);
    expect(index.check('alice', ['/docs/1'], ['read', 'write', 'delete'])).toEqual(fail(['/docs/1', ['delete']]));
  });

  test('editing a role re-expands every grant holding it', () => {
    index.grant('alice', '/docs', [], ['role_editor']);
    index.grant('bob', '/', ['perm_d'], ['role_editor']);
    index.putRole('role_editor', ['perm_d']);
    expect(index.check('alice', ['/docs'], ['read', 'delete'])).toEqual(fail(['/docs', ['read']]));
    expect(index.check('bob', ['/docs'], ['read', 'delete'])).toEqual(fail(['/docs', ['read']]));
  });

  test('a direct permission survives its role losing it', () => {
    index.grant('alice', '/docs', ['perm_r'], ['role_editor']);
    index.putRole('role_editor', []);
    expect(index.check('alice', ['/docs'], ['read', 'write'])).toEqual(fail(['/docs', ['write']]));
  });

  test('deleting a role removes its grants', () => {
    index.putRole('role_deleter', ['perm_d']);
    index.grant('alice', '/docs', [], ['role_editor', 'role_deleter']);
    index.grant('bob', '/docs', [], ['role_editor']);
    index.deleteRole('role_editor');
    expect(index.check('alice', ['/docs'], ['read', 'delete'])).toEqual(fail(['/docs', ['read']]));
    expect(index.grantCount).toBe(1); // bob's grant held only the role
    index.putRole('role_editor', ['perm_r']); // a new role under the old id holds no grants
    expect(index.check('bob', ['/docs'], ['read'])).toEqual(fail(['/docs', ['read']]));
  });

  test('revoking a role keeps other roles and direct permissions', () => {
    index.putRole('role_deleter', ['perm_d']);
    index.grant('alice', '/docs', ['perm_r'], ['role_editor', 'role_deleter']);
    index.revoke('alice', '/docs', [], ['role_editor']);
    expect(index.check('alice', ['/docs'], ['read', 'write', 'delete'])).toEqual(fail(['/docs', ['write']]));
  });

  test('unknown ids are ignored everywhere', () => {
    index.putRole('role_x', ['perm_r', 'perm_nope']);
    index.grant('alice', '/a', ['perm_nope'], ['role_nope']);
    expect(index.grantCount).toBe(0);
    index.grant('alice', '/a', ['perm_nope'], ['role_x']);
    index.revoke('alice', '/a', ['perm_nope'], ['role_nope']);
    expect(index.check('alice', ['/a'], ['read'])).toEqual(PASS);
  });
});

describe('permission edits', () => {
  test('renaming keeps grants; checks use the current name', () => {
    index.putRole('role_reader', ['perm_r']);
    index.grant('alice', '/a', ['perm_w'], ['role_reader']);
    index.putPermission('perm_r', 'view');
    index.putPermission('perm_w', 'edit');
    expect(index.check('alice', ['/a'], ['read', 'view', 'write', 'edit'])).toEqual(fail(['/a', ['read', 'write']]));
  });

  test('a name freed by a rename can be taken by another permission', () => {
    index.grant('alice', '/a', ['perm_r'], []);
    index.putPermission('perm_r', 'view');
    index.putPermission('perm_new', 'read');
    expect(index.check('alice', ['/a'], ['read', 'view'])).toEqual(fail(['/a', ['read']]));
  });

  test('replaying a rename chain over a reused name ends with the right owners', () => {
    const ops: [string, string][] = [
      ['perm_a', 'x'],
      ['perm_a', 'y'], // frees 'x'…
      ['perm_b', 'x'], // …which perm_b takes
    ];
    for (const [id, name] of ops) index.putPermission(id, name);
    index.grant('alice', '/', ['perm_b'], []);
    for (const [id, name] of ops) index.putPermission(id, name); // replay: perm_a briefly shares 'x' with perm_b
    expect(index.check('alice', ['/'], ['x', 'y'])).toEqual(fail(['/', ['y']]));
    index.putPermission('perm_a', 'x'); // replay of a longer suffix: both named 'x' for a moment
    index.putPermission('perm_a', 'y');
    expect(index.check('alice', ['/'], ['x', 'y'])).toEqual(fail(['/', ['y']]));
  });

  test('deleting a permission removes it from roles and grants, and its bit is reused cleanly', () => {
    index.putRole('role_rw', ['perm_r', 'perm_w']);
    index.grant('alice', '/a', ['perm_r'], []);
    index.grant('bob', '/a', [], ['role_rw']);
    index.deletePermission('perm_r');
    expect(index.grantCount).toBe(1); // alice's grant is now empty
    expect(index.check('bob', ['/a'], ['read', 'write'])).toEqual(fail(['/a', ['read']]));
    index.putPermission('perm_r2', 'read'); // takes the freed bit
    expect(index.check('alice', ['/a'], ['read'])).toEqual(fail(['/a', ['read']]));
    expect(index.check('bob', ['/a'], ['read', 'write'])).toEqual(fail(['/a', ['read']]));
    index.putPermission('perm_r', 'read'); // a replay re-creating the deleted id starts empty too
    expect(index.check('bob', ['/a'], ['read', 'write'])).toEqual(fail(['/a', ['read']]));
  });
});

describe('grants and revokes', () => {
  test('granting twice is a no-op; revoking what is absent is a no-op', () => {
    index.grant('alice', '/a', ['perm_r'], []);
    index.grant('alice', '/a/', ['perm_r'], []);
    expect(index.grantCount).toBe(1);
    index.revoke('alice', '/a', ['perm_w'], []);
    index.revoke('alice', '/b', ['perm_r'], []);
    index.revoke('bob', '/a', ['perm_r'], []);
    expect(index.check('alice', ['/a'], ['read'])).toEqual(PASS);
  });

  test('revoking the last permission removes the grant', () => {
    index.grant('alice', '/a', ['perm_r', 'perm_w'], []);
    index.revoke('alice', '/a', ['perm_r'], []);
    expect(index.check('alice', ['/a'], ['read', 'write'])).toEqual(fail(['/a', ['read']]));
    index.revoke('alice', '/a', ['perm_w'], []);
    expect(index.grantCount).toBe(0);
    expect(index.check('alice', ['/a'], ['write'])).toEqual(fail(['/a', ['write']]));
  });

  test('revoking at a descendant leaves the ancestor grant', () => {
    index.grant('alice', '/a', ['perm_r'], []);
    index.revoke('alice', '/a/b', ['perm_r'], []);
    expect(index.check('alice', ['/a/b'], ['read'])).toEqual(PASS);
  });

  test('many grants survive table growth and removals', () => {
    for (let i = 0; i < 5000; i++) index.grant(`u${i % 50}`, `/r${i % 97}/s${i}`, ['perm_r'], []);
    for (let i = 0; i < 5000; i += 2) index.revoke(`u${i % 50}`, `/r${i % 97}/s${i}`, ['perm_r'], []);
    expect(index.grantCount).toBe(2500);
    for (let i = 0; i < 5000; i++) {
      const expected = i % 2 === 1 ? PASS : fail([`/r${i % 97}/s${i}/x`, ['read']]);
      expect(index.check(`u${i % 50}`, [`/r${i % 97}/s${i}/x`], ['read'])).toEqual(expected);
    }
  });
});

describe('more than 32 permissions', () => {
  const N = 1000;

  test('every bit works, across words, with roles, renames and deletes', () => {
    for (let i = 0; i < N; i++) index.putPermission(`perm_${i}`, `p${i}`);
    index.putRole('role_high', ['perm_999', 'perm_40']);
    index.grant('alice', '/a', ['perm_0', 'perm_31', 'perm_32', 'perm_500'], []);
    index.grant('alice', '/a/b', [], ['role_high']);
    expect(index.check('alice', ['/a/b/c'], ['p0', 'p31', 'p32', 'p500', 'p999', 'p40', 'read'])).toEqual(fail(['/a/b/c', ['read']]));
    expect(index.check('alice', ['/a'], ['p999', 'p0', 'p1'])).toEqual(fail(['/a', ['p999', 'p1']]));
    index.putPermission('perm_500', 'renamed');
    index.deletePermission('perm_32');
    index.putRole('role_high', ['perm_40']);
    expect(index.check('alice', ['/a/b'], ['p32', 'p500', 'renamed', 'p999', 'p40'])).toEqual(fail(['/a/b', ['p32', 'p500', 'p999']]));
  });

  test('a project crossing 32 permissions keeps earlier grants and roles', () => {
    index.putRole('role_r', ['perm_r']);
    index.grant('alice', '/a', ['perm_w'], ['role_r']);
    for (let i = 0; i < 40; i++) index.putPermission(`perm_${i}`, `p${i}`);
    index.grant('alice', '/a', ['perm_39'], []);
    expect(index.check('alice', ['/a/x'], ['read', 'write', 'p39', 'delete'])).toEqual(fail(['/a/x', ['delete']]));
  });

  test('one request may name a thousand permissions', () => {
    const names: string[] = [];
    for (let i = 0; i < N; i++) {
      index.putPermission(`perm_${i}`, `p${i}`);
      names.push(`p${i}`);
    }
    const ids = names.map((_, i) => `perm_${i}`);
    index.grant('alice', '/', ids.filter((_, i) => i % 3 !== 0), []);
    const result = index.check('alice', ['/x'], names);
    expect(result.missing_permissions[0]!.missing_permissions).toEqual(names.filter((_, i) => i % 3 === 0));
  });
});

describe('byteSize', () => {
  test('grows with grants', () => {
    const before = index.byteSize();
    for (let i = 0; i < 10_000; i++) index.grant(`u${i}`, `/a/${i}`, ['perm_r'], []);
    expect(index.byteSize()).toBeGreaterThan(before + 10_000 * 20);
  });
});
