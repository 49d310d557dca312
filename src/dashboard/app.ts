// The console shell: sign-in gate, header with the organisation and project selectors, navigation, hash routing.
import { html } from 'htm/preact';
import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { orgPath, type Organisation, type Project } from './api.js';
import { signIn, signOut, storedKey, type Identity } from './session.js';
import { ErrorAlert, Status, useLoad, valueOf, type PageProps } from './ui.js';
import { SignIn } from './pages/sign-in.js';
import { Organisations } from './pages/organisations.js';
import { Projects } from './pages/projects.js';
import { ApiKeys } from './pages/api-keys.js';
import { Permissions } from './pages/permissions.js';
import { Roles } from './pages/roles.js';
import { Grants } from './pages/grants.js';
import { Check } from './pages/check.js';
import { ApiLog } from './pages/api-log.js';
import { Changes } from './pages/changes.js';

interface PageEntry {
  readonly id: string;
  readonly label: string;
  readonly component: FunctionComponent<PageProps>;
  /** Acts on the selected project (not just the organisation). */
  readonly needsProject: boolean;
  readonly operatorOnly?: true;
}

/** The navigation, in order (SPEC §11 names). */
const PAGES: readonly PageEntry[] = [
  { id: 'organisations', label: 'Organisations', component: Organisations, needsProject: false, operatorOnly: true },
  { id: 'projects', label: 'Projects', component: Projects, needsProject: false },
  { id: 'api-keys', label: 'API keys', component: ApiKeys, needsProject: false },
  { id: 'permissions', label: 'Permissions', component: Permissions, needsProject: true },
  { id: 'roles', label: 'Roles', component: Roles, needsProject: true },
  { id: 'grants', label: 'Grants', component: Grants, needsProject: true },
  { id: 'check', label: 'Check', component: Check, needsProject: true },
  { id: 'api-log', label: 'API log', component: ApiLog, needsProject: false },
  { id: 'changes', label: 'Changes', component: Changes, needsProject: true },
];
const HOME = 'projects';
const ORG_ITEM = 'permio.organisation';
const PROJECT_ITEM = 'permio.project';

export function App() {
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [restoring, setRestoring] = useState(() => storedKey() !== null);
  const [restoreError, setRestoreError] = useState<unknown>(undefined);

  useEffect(() => {
    const key = storedKey();
    if (key === null) return;
    signIn(key)
      .then(setIdentity, (err) => {
        signOut();
        setRestoreError(err);
      })
      .finally(() => setRestoring(false));
  }, []);

  if (restoring) return html`<main class="sign-in"><${Status}>Signing in…<//></main>`;
  if (identity === null) return html`<${SignIn} onSignedIn=${setIdentity} restoreError=${restoreError} />`;
  return html`<${Shell}
    identity=${identity}
    onSignOut=${() => {
      signOut();
      setIdentity(null);
    }}
  />`;
}

/** `#/api-log` → `api-log` (an unknown or empty hash → the home page). */
function usePageId(pages: readonly PageEntry[]): string {
  const read = () => {
    const id = location.hash.replace(/^#\/?/, '');
    return pages.some((p) => p.id === id) ? id : HOME;
  };
  const [id, setId] = useState(read);
  useEffect(() => {
    const onHash = () => setId(read());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [pages]);
  return id;
}

/** A selection remembered for this tab (sessionStorage), like the key. */
function useRemembered(item: string, initial: string): [string, (v: string) => void] {
  const [value, setValue] = useState(() => sessionStorage.getItem(item) ?? initial);
  return [
    value,
    (v: string) => {
      sessionStorage.setItem(item, v);
      setValue(v);
    },
  ];
}

/** A selector's load error, unless the page shows that list (and its error) itself: one alert, not two. */
function selectorError(pageId: string, organisationsError: unknown, projectsError: unknown): unknown {
  if (pageId === 'organisations') return projectsError;
  if (pageId === 'projects') return organisationsError;
  return organisationsError ?? projectsError;
}

function Shell({ identity, onSignOut }: { identity: Identity; onSignOut: () => void }) {
  const { api, operator } = identity;
  const pages = operator ? PAGES : PAGES.filter((p) => !p.operatorOnly);
  const pageId = usePageId(pages);
  const page = pages.find((p) => p.id === pageId)!;

  // the list signing in fetched; the operator's is loaded again after changes (Organisations page)
  const organisations = useLoad<readonly Organisation[]>(
    () => api.listAll<Organisation>('/v1/organisations', 'organisations'),
    [api],
    identity.organisations,
  );
  const [chosenOrg, setChosenOrg] = useRemembered(ORG_ITEM, '');
  const orgs = organisations.data ?? [];
  const orgId = orgs.some((o) => o.id === chosenOrg) ? chosenOrg : (orgs[0]?.id ?? '');

  const projects = useLoad<readonly Project[]>(
    () => (orgId === '' ? Promise.resolve([]) : api.listAll<Project>(orgPath(orgId, '/projects'), 'projects')),
    [api, orgId],
  );
  const [chosenProject, setChosenProject] = useRemembered(PROJECT_ITEM, 'default');
  const projectList = projects.data ?? [];
  const project = projectList.some((p) => p.name === chosenProject) ? chosenProject : (projectList[0]?.name ?? '');

  // A new page gets the focus, so a screen reader announces where it is.
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) firstPage.current = false;
    else main.current?.focus();
  }, [pageId]);

  const props: PageProps = {
    api,
    apiKey: identity.key,
    operator,
    scope: { orgId, project },
    organisations,
    projects,
    selectOrganisation: setChosenOrg,
  };
  const Page = page.component;
  let body;
  if (organisations.data === undefined && organisations.error === undefined) body = html`<${Status}>Loading organisations…<//>`;
  else if (orgId === '' && page.id !== 'organisations') {
    body = html`<p class="empty">There is no organisation yet. <a href="#/organisations">Create one</a> first.</p>`;
  } else if (page.needsProject && project === '') {
    body = projects.data === undefined && projects.error === undefined
      ? html`<${Status}>Loading projects…<//>`
      : html`<p class="empty">This organisation has no project. <a href="#/projects">Create one</a> first.</p>`;
  } else body = html`<${Page} ...${props} />`;

  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => (e.preventDefault(), main.current?.focus())}>Skip to the page</a>
    <header class="top">
      <span class="brand">Permio</span>
      <div class="selectors">
        ${operator &&
        html`<label for="select-organisation">Organisation</label>
          <select id="select-organisation" value=${orgId} onChange=${(e: Event) => setChosenOrg(valueOf(e))} disabled=${orgs.length === 0}>
            ${orgs.length === 0 && html`<option value="">No organisation</option>`}
            ${orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
          </select>`}
        <label for="select-project">Project</label>
        <select id="select-project" value=${project} onChange=${(e: Event) => setChosenProject(valueOf(e))} disabled=${projectList.length === 0}>
          ${projectList.length === 0 && html`<option value="">No project</option>`}
          ${projectList.map((p) => html`<option value=${p.name}>${p.name}</option>`)}
        </select>
      </div>
      <span class="who">${operator ? 'Operator key' : 'Organisation key'}</span>
      <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
    </header>
    <${ErrorAlert} error=${selectorError(page.id, organisations.error, projects.error)} />
    <div class="layout">
      <nav aria-label="Console">
        <ul>
          ${pages.map(
            (p) => html`<li><a href=${`#/${p.id}`} aria-current=${p.id === page.id ? 'page' : undefined}>${p.label}</a></li>`,
          )}
        </ul>
      </nav>
      <main id="main" tabindex="-1" ref=${main}>${body}</main>
    </div>
  `;
}
