// API keys of the selected organisation: create (organisation or project key; the secret is shown once), invalidate.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { orgPath, type ApiKey } from '../api.js';
import { ErrorAlert, formatTime, ListState, Status, Table, useAction, useLoad, valueOf, type PageProps } from '../ui.js';

export function ApiKeys({ api, scope }: PageProps) {
  const list = useLoad(() => api.listAll<ApiKey>(orgPath(scope.orgId, '/apikeys'), 'api_keys'), [api, scope.orgId]);
  const [name, setName] = useState('');
  const [projectKey, setProjectKey] = useState(false);
  const [created, setCreated] = useState<ApiKey | undefined>(undefined);
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body = projectKey ? { name, project_name: scope.project } : { name };
      const { api_key } = await api.post<{ api_key: ApiKey }>(orgPath(scope.orgId, '/apikeys'), body);
      setCreated(api_key);
      setName('');
      setProjectKey(false);
      list.reload();
    });
  };
  const invalidate = (id: string) =>
    action.run(async () => {
      await api.del(orgPath(scope.orgId, `/apikeys/${encodeURIComponent(id)}`));
      list.reload();
    });

  return html`
    <h1>API keys</h1>
    <form class="inline" onSubmit=${create} aria-label="New API key">
      <div><label for="key-name">Name</label>
        <input id="key-name" required placeholder="Production service" value=${name} onInput=${(e: Event) => setName(valueOf(e))} /></div>
      <label class="check">
        <input type="checkbox" checked=${projectKey} disabled=${scope.project === ''}
          onChange=${(e: Event) => setProjectKey((e.currentTarget as HTMLInputElement).checked)} />
        Project key</label>
      <span class="muted">${projectKey ? `only project ${scope.project}` : 'every project of the organisation'}</span>
      <button type="submit" disabled=${action.busy}>Create key</button>
    </form>
    <${ErrorAlert} error=${action.error} />
    ${created?.key !== undefined && html`<${NewSecret} apiKey=${created} onDone=${() => setCreated(undefined)} />`}
    <${ListState} list=${list} what="API keys" render=${(keys: readonly ApiKey[]) => html`
      <${Table} caption="API keys" head=${['Name', 'ID', 'Scope', 'Created', 'State', '']} empty="No API key yet." rows=${keys.map(
        (k) => html`<tr key=${k.id}>
          <td>${k.name}</td><td><code>${k.id}</code></td>
          <td>${k.project_name ? `project ${k.project_name}` : 'organisation'}</td>
          <td>${formatTime(k.created_at)}</td>
          <td>${k.invalidated ? 'invalidated' : 'active'}</td>
          <td>${!k.invalidated && html`<button type="button" class="danger" disabled=${action.busy} onClick=${() => invalidate(k.id)}>Invalidate</button>`}</td>
        </tr>`,
      )} />`} />
  `;
}

/** The new key's secret, shown this once (the API never returns it again), with a Copy button. */
function NewSecret({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(apiKey.key!);
      setCopied('Copied to the clipboard.');
    } catch {
      (document.getElementById('new-secret') as HTMLInputElement | null)?.select();
      setCopied('The browser refused the clipboard: the key is selected, copy it with Ctrl+C.');
    }
  };
  return html`
    <section class="notice" aria-labelledby="new-secret-title">
      <h2 id="new-secret-title">Key ${apiKey.name} created</h2>
      <p>Copy the secret now: it is shown only this once.</p>
      <div class="inline">
        <label for="new-secret">Secret</label>
        <input id="new-secret" class="mono" readonly value=${apiKey.key} size="48" onFocus=${(e: Event) => (e.currentTarget as HTMLInputElement).select()} />
        <button type="button" onClick=${copy}>Copy</button>
        <button type="button" class="secondary" onClick=${onDone}>Done</button>
      </div>
      ${copied !== undefined && html`<${Status}>${copied}<//>`}
    </section>
  `;
}
