// Projects of the selected organisation: list, create, delete (SPEC §3: deleting removes everything in it).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { orgPath, type Project } from '../api.js';
import { ErrorAlert, formatTime, ListState, Table, useAction, valueOf, type PageProps } from '../ui.js';

export function Projects({ api, scope, projects }: PageProps) {
  const [name, setName] = useState('');
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await api.post(orgPath(scope.orgId, '/projects'), { name: name.trim() });
      setName('');
      projects.reload();
    });
  };
  const remove = (projectName: string) =>
    action.run(async () => {
      await api.del(orgPath(scope.orgId, `/projects/${encodeURIComponent(projectName)}`));
      projects.reload();
    });

  return html`
    <h1>Projects</h1>
    <form class="inline" onSubmit=${create} aria-label="New project">
      <div><label for="project-name">Name</label>
        <input id="project-name" required value=${name} onInput=${(e: Event) => setName(valueOf(e))} /></div>
      <button type="submit" disabled=${action.busy}>Create</button>
    </form>
    <${ErrorAlert} error=${action.error} />
    <${ListState} list=${projects} what="projects" render=${(list: readonly Project[]) => html`
      <${Table} caption="Projects" head=${['Name', 'Created', '']} empty="No project yet." rows=${list.map(
        (p) => html`<tr key=${p.name}>
          <td>${p.name}</td><td>${formatTime(p.created_at)}</td>
          <td><button type="button" class="danger" disabled=${action.busy} onClick=${() => remove(p.name)}>Delete</button></td>
        </tr>`,
      )} />`} />
  `;
}
