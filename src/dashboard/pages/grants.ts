// Grants of the selected project: browse one principal's grants, grant (optionally until a time), revoke.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { projectQuery, type Grant, type GrantWindow, type Permission, type Role } from '../api.js';
import { PickList } from '../pick-list.js';
import { ErrorAlert, formatTime, ListState, parseTime, Table, useAction, useLoad, valueOf, type PageProps } from '../ui.js';

const BROWSE_DELAY_MS = 300; // the list follows the Principal field once typing pauses

export function Grants({ api, scope }: PageProps) {
  const deps = [api, scope.orgId, scope.project];
  const permissions = useLoad(() => api.listAll<Permission>('/v1/permissions', 'permissions', projectQuery(scope)), deps);
  const roles = useLoad(() => api.listAll<Role>('/v1/roles', 'roles', projectQuery(scope)), deps);
  const [principal, setPrincipal] = useState('');
  const browsed = useDebounced(principal, BROWSE_DELAY_MS);
  const grants = useLoad(
    () => (browsed === '' ? Promise.resolve([]) : api.listAll<Grant>('/v1/grants', 'grants', { ...projectQuery(scope), user_id: browsed })),
    [...deps, browsed],
  );
  const [resource, setResource] = useState('');
  const [pickedPermissions, setPickedPermissions] = useState<ReadonlySet<string>>(new Set());
  const [pickedRoles, setPickedRoles] = useState<ReadonlySet<string>>(new Set());
  const [expiresAt, setExpiresAt] = useState('');
  const action = useAction();

  const grant = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const expires = parseTime('Expires at', expiresAt);
      await api.post('/v1/grants', {
        ...projectQuery(scope),
        user_id: principal,
        resource_uri: resource.trim(),
        permissions: [...pickedPermissions],
        roles: [...pickedRoles],
        ...(expires === '' ? {} : { expires_at: expires }),
      });
      setResource('');
      setPickedPermissions(new Set());
      setPickedRoles(new Set());
      setExpiresAt('');
      grants.reload();
    });
  };
  const revoke = (g: Grant) =>
    action.run(async () => {
      await api.del('/v1/grants', undefined, {
        ...projectQuery(scope),
        user_id: g.user_id,
        resource_uri: g.resource_uri,
        permissions: g.permissions,
        roles: g.roles,
      });
      grants.reload();
    });

  const permissionName = nameLookup(permissions.data);
  const roleName = nameLookup(roles.data);
  return html`
    <h1>Grants</h1>
    <form class="stacked" onSubmit=${grant} aria-label="Grant">
      <div class="row">
        <div><label for="grant-principal">Principal</label>
          <input id="grant-principal" required placeholder="user_1234" value=${principal} onInput=${(e: Event) => setPrincipal(valueOf(e))} /></div>
        <div class="wide"><label for="grant-resource">Resource</label>
          <input id="grant-resource" required placeholder="/teams/engineering" value=${resource} onInput=${(e: Event) => setResource(valueOf(e))} /></div>
        <div><label for="grant-expires">Expires at</label>
          <input id="grant-expires" placeholder="2030-01-01T00:00:00Z" aria-describedby="grant-expires-hint" value=${expiresAt}
            onInput=${(e: Event) => setExpiresAt(valueOf(e))} />
          <small id="grant-expires-hint" class="muted">optional; empty = permanent</small></div>
      </div>
      <div class="row">
        <${PickList} legend="Permissions" items=${permissions} picked=${pickedPermissions} onChange=${setPickedPermissions}
          empty="No permission in this project yet." />
        <${PickList} legend="Roles" items=${roles} picked=${pickedRoles} onChange=${setPickedRoles} empty="No role in this project yet." />
      </div>
      <div><button type="submit" disabled=${action.busy}>Grant</button></div>
    </form>
    <${ErrorAlert} error=${action.error} />
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">${browsed === '' ? 'Grants of a principal' : `Grants of ${browsed}`}</h2>
      ${browsed === ''
        ? html`<p class="empty">Type a principal above to see its grants.</p>`
        : html`<${ListState} list=${grants} what="grants" render=${(items: readonly Grant[]) => html`
            <${Table} caption=${`Grants of ${browsed} in project ${scope.project}`} head=${['Resource', 'Permissions', 'Roles', 'Time window', '']}
              empty=${`${browsed} has no grant in project ${scope.project}.`} rows=${items.map(
                (g) => html`<tr key=${g.resource_uri}>
                  <td><code>${g.resource_uri}</code></td>
                  <td>${g.permissions.map(permissionName).join(', ')}</td>
                  <td>${g.roles.map(roleName).join(', ')}</td>
                  <td>${(g.windows ?? []).map((w) => windowText(w, permissionName, roleName)).join('; ')}</td>
                  <td><button type="button" class="danger" disabled=${action.busy} onClick=${() => revoke(g)}>Revoke</button></td>
                </tr>`,
              )} />`} />`}
    </section>
  `;
}

/** `value`, once it has stopped changing for `ms`. */
function useDebounced(value: string, ms: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** id → name over a loaded list; an id it does not know stays as it is. */
function nameLookup(items: readonly { id: string; name: string }[] | undefined): (id: string) => string {
  const names = new Map((items ?? []).map((i) => [i.id, i.name]));
  return (id) => names.get(id) ?? id;
}

/** `doc.read until 2030-01-01 00:00:00 UTC` (SPEC §8 windows). */
function windowText(w: GrantWindow, permissionName: (id: string) => string, roleName: (id: string) => string): string {
  const what = w.permission_id !== undefined ? permissionName(w.permission_id) : roleName(w.role_id ?? '');
  const from = w.starts_at ? ` from ${formatTime(w.starts_at)}` : '';
  const until = w.expires_at ? ` until ${formatTime(w.expires_at)}` : '';
  return `${what}${from}${until}`;
}
