// Time-bounded entries in the check engine (SPEC §8): judged at the `now` each check passes, beside the trie.
import { describe, expect, it } from 'vitest';
import { ProjectIndex } from '../../src/engine/project-index.js';
import { compareBytes, isAtOrUnder, selfAndAncestors } from '../../src/engine/uri-order.js';

const T = Date.parse('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const PASS = { passed: true, missing_permissions: [] };
const miss = (uri: string, names: string[]) => ({ passed: false, missing_permissions: [{ resource_uri: uri, missing_permissions: names }] });

function index(): ProjectIndex {
  const ix = new ProjectIndex();
  ix.putPermission('perm_r', 'read');
  ix.putPermission('perm_w', 'write');
  ix.putRole('role_e', ['perm_r', 'perm_w']);
  return ix;
}

describe('windows in the engine', () => {
  it('an entry is active from starts_at (inclusive) to expires_at (exclusive), on its URI and below by whole segments', () => {
    const ix = index();
    ix.grant('alice', '/a', ['perm_r'], [], { starts_at: iso(T), expires_at: iso(T + 1000) });
    expect(ix.check('alice', ['/a/b'], ['read'], T - 1)).toEqual(miss('/a/b', ['read']));
    expect(ix.check('alice', ['/a/b'], ['read'], T)).toEqual(PASS);
    expect(ix.check('alice', ['/a/'], ['read'], T + 999)).toEqual(PASS);
    expect(ix.check('alice', ['/ab'], ['read'], T + 500)).toEqual(miss('/ab', ['read']));
    expect(ix.check('alice', ['/a/b'], ['read'], T + 1000)).toEqual(miss('/a/b', ['read']));
    expect(ix.dependsOnTime('alice')).toBe(true);
    expect(ix.dependsOnTime('bob')).toBe(false);
  });

  it('windowed roles, mixed with permanent entries; granting again without times makes it permanent; revoke drops it', () => {
    const ix = index();
    ix.grant('alice', '/a', ['perm_r'], []);
    ix.grant('alice', '/a', [], ['role_e'], { expires_at: iso(T) });
    expect(ix.check('alice', ['/a', '/a/x/'], ['read', 'write'], T - 1)).toEqual(PASS);
    expect(ix.check('alice', ['/a', '/a/x/'], ['read', 'write'], T)).toEqual({
      passed: false,
      missing_permissions: [
        { resource_uri: '/a', missing_permissions: ['write'] },
        { resource_uri: '/a/x/', missing_permissions: ['write'] },
      ],
    });
    ix.grant('alice', '/a', [], ['role_e']);
    expect(ix.dependsOnTime('alice')).toBe(false);
    expect(ix.check('alice', ['/a'], ['write'], T + 1e9)).toEqual(PASS);
    ix.grant('alice', '/a', ['perm_r'], [], { starts_at: iso(T) }); // the permanent read becomes pending
    ix.revoke('alice', '/a', [], ['role_e']);
    expect(ix.check('alice', ['/a'], ['read'], T - 1)).toEqual(miss('/a', ['read']));
    expect(ix.check('alice', ['/a'], ['read'], T)).toEqual(PASS);
    ix.revoke('alice', '/a', ['perm_r'], []);
    expect(ix.check('alice', ['/a'], ['read'], T)).toEqual(miss('/a', ['read']));
    expect(ix.dependsOnTime('alice')).toBe(false);
  });

  it('a windowed role follows role edits and deletes; a deleted permission is gone', () => {
    const ix = index();
    ix.grant('alice', '/', [], ['role_e'], { expires_at: iso(T) });
    ix.putRole('role_e', ['perm_w']);
    expect(ix.check('alice', ['/x'], ['read', 'write'], T - 1)).toEqual(miss('/x', ['read']));
    ix.deletePermission('perm_w');
    expect(ix.check('alice', ['/x'], ['write'], T - 1)).toEqual(miss('/x', ['write']));
    ix.putRole('role_e', ['perm_r']);
    ix.deleteRole('role_e');
    expect(ix.check('alice', ['/x'], ['read'], T - 1)).toEqual(miss('/x', ['read']));
  });
});

describe('uri order', () => {
  it('byte order of UTF-8, whole-segment coverage, ancestors nearest first', () => {
    const items = ['/a/b', '/\u{1F600}', '/a-c', '/\uffff', '/a', '/é'];
    expect([...items].sort(compareBytes)).toEqual([...items].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(isAtOrUnder('/a/b', '/a')).toBe(true);
    expect(isAtOrUnder('/ab', '/a')).toBe(false);
    expect(isAtOrUnder('/a', '/')).toBe(true);
    expect(selfAndAncestors('/a/b')).toEqual(['/a/b', '/a', '/']);
    expect(selfAndAncestors('/')).toEqual(['/']);
  });
});
