// Permissions of the selected project: list, create, delete (SPEC §3; deleting one removes it from roles and grants).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { projectQuery, type Permission } from '../api.js';
import { ErrorAlert, ListState, Table, useAction, useLoad, valueOf, type PageProps } from '../ui.js';

export function Permissions({ api, scope }: PageProps) {
  const list = useLoad(() => api.listAll<Permission>('/v1/permissions', 'permissions', projectQuery(scope)), [api, scope.orgId, scope.project]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api.post('/v1/permissions', { ...projectQuery(scope), name: name.trim(), description });
      setName('');
      setDescription('');
      list.reload();
    });
  };
  const remove = (id: string) =>
    action.run(async () => {
      await api.del(`/v1/permissions/${encodeURIComponent(id)}`, projectQuery(scope));
      list.reload();
    });

  return html`
    <h1>Permissions</h1>
    <form class="inline" onSubmit=${create} aria-label="New permission">
      <div><label for="permission-name">Name</label>
        <input id="permission-name" required placeholder="document.read" value=${name} onInput=${(e: Event) => setName(valueOf(e))} /></div>
      <div class="wide"><label for="permission-description">Description</label>
        <input id="permission-description" value=${description} onInput=${(e: Event) => setDescription(valueOf(e))} /></div>
      <button type="submit" disabled=${action.busy}>Create</button>
    </form>
    <${ErrorAlert} error=${action.error} />
    <${ListState} list=${list} what="permissions" render=${(items: readonly Permission[]) => html`
      <${Table} caption=${`Permissions of project ${scope.project}`} head=${['Name', 'Description', 'ID', '']}
        empty=${`Project ${scope.project} has no permission yet.`} rows=${items.map(
          (p) => html`<tr key=${p.id}>
            <td>${p.name}</td><td>${p.description}</td><td><code>${p.id}</code></td>
            <td><button type="button" class="danger" disabled=${action.busy} onClick=${() => remove(p.id)}>Delete</button></td>
          </tr>`,
        )} />`} />
  `;
}
