// Roles of the selected project: list, create (with the permissions they bundle), delete.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { projectQuery, type Permission, type Role } from '../api.js';
import { ErrorAlert, ListState, Table, useAction, useLoad, valueOf, type PageProps } from '../ui.js';
import { PickList } from '../pick-list.js';

export function Roles({ api, scope }: PageProps) {
  const deps = [api, scope.orgId, scope.project];
  const list = useLoad(() => api.listAll<Role>('/v1/roles', 'roles', projectQuery(scope)), deps);
  const permissions = useLoad(() => api.listAll<Permission>('/v1/permissions', 'permissions', projectQuery(scope)), deps);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api.post('/v1/roles', { ...projectQuery(scope), name, description, permissions: [...picked] });
      setName('');
      setDescription('');
      setPicked(new Set());
      list.reload();
    });
  };
  const remove = (id: string) =>
    action.run(async () => {
      await api.del(`/v1/roles/${encodeURIComponent(id)}`, projectQuery(scope));
      list.reload();
    });

  return html`
    <h1>Roles</h1>
    <form class="stacked" onSubmit=${create} aria-label="New role">
      <div class="row">
        <div><label for="role-name">Name</label>
          <input id="role-name" required placeholder="Document editor" value=${name} onInput=${(e: Event) => setName(valueOf(e))} /></div>
        <div class="wide"><label for="role-description">Description</label>
          <input id="role-description" value=${description} onInput=${(e: Event) => setDescription(valueOf(e))} /></div>
      </div>
      <${PickList} legend="Permissions" items=${permissions} picked=${picked} onChange=${setPicked}
        empty="No permission to bundle yet: create some on the Permissions page." />
      <div><button type="submit" disabled=${action.busy}>Create</button></div>
    </form>
    <${ErrorAlert} error=${action.error} />
    <${ListState} list=${list} what="roles" render=${(items: readonly Role[]) => html`
      <${Table} caption=${`Roles of project ${scope.project}`} head=${['Name', 'Description', 'Permissions', 'ID', '']}
        empty=${`Project ${scope.project} has no role yet.`} rows=${items.map(
          (r) => html`<tr key=${r.id}>
            <td>${r.name}</td><td>${r.description}</td><td>${r.permissions.map((p) => p.name).join(', ')}</td><td><code>${r.id}</code></td>
            <td><button type="button" class="danger" disabled=${action.busy} onClick=${() => remove(r.id)}>Delete</button></td>
          </tr>`,
        )} />`} />
  `;
}
