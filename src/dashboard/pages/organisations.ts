// Organisations (operator key only): list, create, and choose the one the other pages act on.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { Organisation } from '../api.js';
import { ErrorAlert, formatTime, ListState, Table, useAction, valueOf, type PageProps } from '../ui.js';

export function Organisations({ api, organisations, scope, selectOrganisation }: PageProps) {
  const [name, setName] = useState('');
  const [userId, setUserId] = useState('');
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const { organisation } = await api.post<{ organisation: Organisation }>('/v1/organisations', { name, user_id: userId });
      setName('');
      setUserId('');
      selectOrganisation(organisation.id);
      organisations.reload();
    });
  };

  return html`
    <h1>Organisations</h1>
    <form class="inline" onSubmit=${create} aria-label="New organisation">
      <div><label for="org-name">Name</label>
        <input id="org-name" required value=${name} onInput=${(e: Event) => setName(valueOf(e))} /></div>
      <div><label for="org-user">First user ID</label>
        <input id="org-user" required value=${userId} onInput=${(e: Event) => setUserId(valueOf(e))} /></div>
      <button type="submit" disabled=${action.busy}>Create</button>
    </form>
    <${ErrorAlert} error=${action.error} />
    <${ListState} list=${organisations} what="organisations" render=${(orgs: readonly Organisation[]) => html`
      <${Table} caption="Organisations" head=${['Name', 'ID', 'Plan', 'Created', '']} empty="No organisation yet." rows=${orgs.map(
        (o) => html`<tr key=${o.id}>
          <td>${o.name}</td><td><code>${o.id}</code></td><td>${o.plan}</td><td>${formatTime(o.created_at)}</td>
          <td>${o.id === scope.orgId
            ? html`<span class="muted">Selected</span>`
            : html`<button type="button" class="secondary" onClick=${() => selectOrganisation(o.id)}>Select</button>`}</td>
        </tr>`,
      )} />`} />
  `;
}
