// The REST router: static and templated paths, `{token}:accept` suffixes, 404 vs 405, decoded parameters.
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/api/rest/router.js';
import { ROUTES } from '../../src/api/operations.js';
import { PermioError } from '../../src/errors.js';

const router = new Router(ROUTES);

function statusOf(method: string, path: string): number {
  try {
    router.match(method, path);
    return 200;
  } catch (e) {
    return (e as PermioError).status;
  }
}

describe('Router', () => {
  it('matches static and templated routes and decodes parameters', () => {
    expect(router.match('POST', '/v1/check').spec.rpc).toBe('Check');
    expect(router.match('DELETE', '/v1/grants').spec.rpc).toBe('Revoke');
    const m = router.match('DELETE', '/v1/organisations/org_1/apikeys/apikey%5F2');
    expect(m.spec.rpc).toBe('InvalidateApiKey');
    expect(m.params).toEqual({ organisation_id: 'org_1', apikey_id: 'apikey_2' });
    expect(router.match('POST', '/v1/invitations/abc:accept').params).toEqual({ token: 'abc' });
  });

  it('ignores one trailing slash', () => {
    expect(router.match('GET', '/v1/permissions/').spec.rpc).toBe('ListPermissions');
  });

  it('404 for unknown paths, 405 with the allowed methods for known ones', () => {
    expect(statusOf('GET', '/v1/nope')).toBe(404);
    expect(statusOf('GET', '/v1/invitations/abc')).toBe(404); // no ':accept'
    expect(statusOf('POST', '/v1/invitations/:accept')).toBe(404); // empty token
    expect(statusOf('GET', '/v1/permissions/a/b')).toBe(404);
    expect(statusOf('GET', '/v1/organisations/%E0%A4%A/projects')).toBe(404); // undecodable parameter
    try {
      router.match('PUT', '/v1/roles/role_1');
      expect.unreachable();
    } catch (e) {
      expect((e as PermioError).status).toBe(405);
      expect((e as PermioError).details).toEqual([{ allowed_methods: ['GET', 'PATCH', 'DELETE'] }]);
    }
  });
});
