// CheckCache on its own: keys carry the project and principal versions and the epoch; a fixed table whose CLOCK hand
// evicts a few entries per insert (slots and the character budget), never all at once; per-entry expiry on the
// server's clock; big batches and a zero budget are never cached.
import { describe, expect, it } from 'vitest';
import { useManualClock } from '../../src/clock.js';
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

  it('caches nothing big or with no budget', () => {
    const cache = new CheckCache(1 << 20);
    expect(cache.keyOf('p', 'a', '/' + 'u'.repeat(MAX_CACHED_URI_CHARS), ['r'])).toBeUndefined();
    const k = cache.keyOf('p', 'a', '/1', ['r'])!;
    cache.set(k, 'x'.repeat((1 << 20) / 32)); // over its share of the budget: it would evict many small answers
    expect(cache.get(k)).toBeUndefined();
    expect(new CheckCache(0).keyOf('p', 'a', '/1', ['r'])).toBeUndefined();
    const off = new CheckCache(0);
    off.set('k', 'v');
    expect(off.get('k')).toBeUndefined();
  });

  it('a full table evicts one entry per insert, and keeps the ones read since the hand passed', () => {
    const cache = new CheckCache(64 * 128); // 64 slots, budget not the limit for these small entries
    expect(cache.capacity).toBe(64);
    const key = (i: number) => cache.keyOf('p', 'a', `/${i}`, ['r'])!;
    for (let i = 0; i < 64; i++) cache.set(key(i), `A${i}`);
    expect(cache.size().entries).toBe(64);
    for (let i = 0; i < 64; i += 2) expect(cache.get(key(i))).toBe(`A${i}`); // the even ones are hot
    for (let i = 64; i < 64 + 32; i++) {
      cache.set(key(i), `A${i}`);
      expect(cache.size().entries).toBe(64); // never dropped wholesale: one out for one in
    }
    for (let i = 0; i < 64; i++) expect(cache.get(key(i))).toBe(i % 2 === 0 ? `A${i}` : undefined);
    for (let i = 64; i < 96; i++) expect(cache.get(key(i))).toBe(`A${i}`);
  });

  it('keeps the characters under budget by evicting a few entries per insert', () => {
    const budget = 64 * 128;
    const cache = new CheckCache(budget);
    const answer = 'y'.repeat(100); // ~128 characters with its key: the budget, not the slots, is the limit
    for (let i = 0; i < 1000; i++) {
      cache.set(cache.keyOf('p', 'a', `/${i}`, ['r'])!, answer);
      expect(cache.size().chars).toBeLessThanOrEqual(budget);
    }
    expect(cache.get(cache.keyOf('p', 'a', '/999', ['r'])!)).toBe(answer);
    expect(cache.size().entries).toBeGreaterThan(40);
  });

  it('finds every entry it holds through any churn (the index stays exact)', () => {
    const cache = new CheckCache(1000 * 128);
    const model = new Map<string, string>();
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let step = 0; step < 50_000; step++) {
      const k = `k${rand(3000)}`;
      if (rand(3) === 0) {
        const v = `v${step}`;
        cache.set(k, v);
        model.set(k, v);
      } else {
        const got = cache.get(k);
        if (got !== undefined) expect(got).toBe(model.get(k)); // evicted is fine, a wrong answer is not
      }
    }
    let held = 0;
    for (const [k, v] of model) {
      const got = cache.get(k);
      if (got !== undefined) {
        expect(got).toBe(v);
        held++;
      }
    }
    expect(held).toBe(cache.size().entries); // every slot in use is reachable through the index
    expect(held).toBe(cache.capacity);
  });

  it('an entry set with validUntilMs is not returned from that moment on', () => {
    const advance = useManualClock(1_000_000);
    const cache = new CheckCache(1 << 20);
    const k = cache.keyOf('p', 'a', '/w', ['r'])!;
    cache.set(k, 'inside the window', 1_000_050);
    const forever = cache.keyOf('p', 'a', '/f', ['r'])!;
    cache.set(forever, 'no expiry');
    expect(cache.get(k)).toBe('inside the window');
    advance(49);
    expect(cache.get(k)).toBe('inside the window');
    advance(1);
    expect(cache.get(k)).toBeUndefined();
    expect(cache.size().entries).toBe(1); // the expired entry's slot was freed
    cache.set(k, 'already over', 1_000_050);
    expect(cache.get(k)).toBeUndefined();
    cache.set(k, 'next window', 1_000_100);
    expect(cache.get(k)).toBe('next window');
    advance(1_000_000);
    expect(cache.get(forever)).toBe('no expiry');
    expect(cache.get(k)).toBeUndefined();
  });

  it('clear() makes every entry unreachable at once and the hand reuses their slots first', () => {
    const cache = new CheckCache(64 * 128);
    const key = (i: number) => cache.keyOf('p', 'a', `/${i}`, ['r'])!;
    for (let i = 0; i < 64; i++) cache.set(key(i), `old${i}`);
    const stale = key(0);
    cache.clear();
    expect(cache.get(key(0))).toBeUndefined();
    for (let i = 0; i < 64; i++) cache.set(key(i), `new${i}`);
    for (let i = 0; i < 64; i++) expect(cache.get(key(i))).toBe(`new${i}`);
    expect(cache.get(stale)).toBeUndefined();
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

describe('CheckCache index', () => {
  it('finds a key keyOf built and the same key as any other string (the two ways of choosing its Map agree)', () => {
    const cache = new CheckCache(1 << 20);
    const shapes: [string, string[]][] = [
      ['/a', ['r']],
      ['/tenants/t1/folders/f3/docs/d12345', ['doc.action7']],
      [Array.from({ length: 10 }, (_, i) => `/tenants/t1/folders/f${i}/docs/d${i}`).join('\u001f'), Array.from({ length: 10 }, (_, i) => `doc.action${i}`)],
      ['/' + 'x'.repeat(3000), ['a', 'b'.repeat(200), '']],
      ['/a', ['x:y', 'p\u0001q', '12:']],
    ];
    shapes.forEach(([uris, perms], i) => {
      for (const principal of ['p', 'a-much-longer-principal-id-0123456789']) {
        const key = cache.keyOf('project_1', principal, uris, perms)!;
        cache.set(key, `A${i}${principal}`);
        const copy = (' ' + key).slice(1); // the same characters, another string: found without keyOf's shortcut
        cache.keyOf('other', 'q', '/z', ['r']); // keyOf's shortcut now names another key
        expect(cache.get(copy)).toBe(`A${i}${principal}`);
        expect(cache.get(cache.keyOf('project_1', principal, uris, perms)!)).toBe(`A${i}${principal}`);
      }
    });
  });
});
