// CheckCache on its own: keys carry the project and principal versions and the epoch, the budget drops everything, big batches and
// a zero budget are never cached.
import { describe, expect, it } from 'vitest';
import { CheckCache, MAX_CACHED_URI_CHARS } from '../../src/service/check-cache.js';
import type { Change } from '../../src/store/change-feed.js';

const role = { id: 'role_1', organisation_id: 'org_1', name: 'r', description: '', permissions: [], project_name: 'p' };
const roleEdit = (projectId: string): Change => ({ revision: 1, committed_at: '', project_id: projectId, events: [{ type: 'ROLE_UPDATED', role }] });
const grantTo = (projectId: string, principal: string): Change => ({
  revision: 1,
  committed_at: '',
  project_id: projectId,
  events: [{ type: 'GRANT', user_id: principal, resource_uri: '/x', permissions: ['perm_1'], roles: [] }],
});

describe('CheckCache', () => {
  it('keys by the project version: an invalidated project reads nothing cached before', () => {
    const cache = new CheckCache(1 << 20);
    const before = cache.keyOf('p1', 'alice', '/a', ['read'])!;
    cache.set(before, 'A');
    expect(cache.get(cache.keyOf('p1', 'alice', '/a', ['read'])!)).toBe('A');
    cache.invalidate(roleEdit('p1'));
    expect(cache.get(cache.keyOf('p1', 'alice', '/a', ['read'])!)).toBeUndefined();
    cache.set(before, 'late answer of a check asked before the write'); // lands under the old version: unreachable
    expect(cache.get(cache.keyOf('p1', 'alice', '/a', ['read'])!)).toBeUndefined();
  });

  it('leaves other projects cached when one is invalidated, and forgets everything on clear()', () => {
    const cache = new CheckCache(1 << 20);
    cache.set(cache.keyOf('p2', 'bob', '/b', ['read'])!, 'B');
    cache.invalidate(roleEdit('p1'));
    expect(cache.get(cache.keyOf('p2', 'bob', '/b', ['read'])!)).toBe('B');
    cache.clear();
    expect(cache.get(cache.keyOf('p2', 'bob', '/b', ['read'])!)).toBeUndefined();
  });

  it('distinguishes every part of a check', () => {
    const cache = new CheckCache(1 << 20);
    const keys = [
      cache.keyOf('p', 'a', '/x', ['r']),
      cache.keyOf('p', 'b', '/x', ['r']),
      cache.keyOf('p', 'a', '/y', ['r']),
      cache.keyOf('p', 'a', '/x', ['w']),
      cache.keyOf('p', 'a', '/x', ['r', 'w']),
      cache.keyOf('p', 'a', '/x', ['w', 'r']),
      cache.keyOf('p', 'a', '/x', ['r,w']),
      cache.keyOf('p', 'a', '/x\n/y', ['r']),
      cache.keyOf('q', 'a', '/x', ['r']),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('drops everything once over budget, and caches nothing big or with no budget', () => {
    const cache = new CheckCache(100);
    const k1 = cache.keyOf('p', 'a', '/1', ['r'])!;
    cache.set(k1, 'x'.repeat(60));
    const k2 = cache.keyOf('p', 'a', '/2', ['r'])!;
    cache.set(k2, 'y'.repeat(60));
    expect(cache.get(k1)).toBeUndefined();
    expect(cache.get(k2)).toBe('y'.repeat(60));
    expect(cache.keyOf('p', 'a', '/' + 'u'.repeat(MAX_CACHED_URI_CHARS), ['r'])).toBeUndefined();
    expect(new CheckCache(0).keyOf('p', 'a', '/1', ['r'])).toBeUndefined();
  });

  it('a grant or revoke invalidates its principal only; other writes the whole project', () => {
    const cache = new CheckCache(1 << 20);
    const put = (who: string) => cache.set(cache.keyOf('p', who, '/a', ['read'])!, who);
    const read = (who: string) => cache.get(cache.keyOf('p', who, '/a', ['read'])!);
    put('alice');
    put('bob');
    cache.invalidate(grantTo('p', 'bob'));
    expect([read('alice'), read('bob')]).toEqual(['alice', undefined]);
    cache.invalidate({ ...grantTo('p', 'alice'), events: [{ type: 'REVOKE', user_id: 'alice', resource_uri: '/a', permissions: ['perm_1'], roles: [] }] });
    expect(read('alice')).toBeUndefined();
    put('alice');
    put('bob');
    const permission = { id: 'perm_1', organisation_id: 'org_1', name: 'read', description: '', project_name: 'p' };
    cache.invalidate({ ...roleEdit('p'), events: [{ type: 'PERMISSION_DELETED', permission }] });
    expect([read('alice'), read('bob')]).toEqual([undefined, undefined]);
  });

  it('a change without events (granting what is held) keeps every answer', () => {
    const cache = new CheckCache(1 << 20);
    cache.set(cache.keyOf('p', 'alice', '/a', ['read'])!, 'A');
    cache.invalidate({ ...grantTo('p', 'alice'), events: [] });
    expect(cache.get(cache.keyOf('p', 'alice', '/a', ['read'])!)).toBe('A');
  });
});
