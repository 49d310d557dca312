// The organisation's API call log (SPEC §5): newest first, filters, pages; a row opens its Request and Response.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { orgPath, type ApiKey, type LogEntry, type Page } from '../api.js';
import { ErrorAlert, formatTime, parseTime, Status, Table, useLoad, valueOf, type PageProps } from '../ui.js';
import { Tabs } from '../tabs.js';

const LOG_PAGE_SIZE = 50;

interface Filters {
  status: string;
  key_id: string;
  route: string;
  start_time: string;
  end_time: string;
}
const NO_FILTERS: Filters = { status: '', key_id: '', route: '', start_time: '', end_time: '' };

export function ApiLog({ api, scope }: PageProps) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // page_token of every page seen so far: [0] is the first page (''), the last is the page shown.
  const [tokens, setTokens] = useState<readonly string[]>(['']);
  const [openId, setOpenId] = useState<string | undefined>(undefined);
  const keys = useLoad(() => api.listAll<ApiKey>(orgPath(scope.orgId, '/apikeys'), 'api_keys'), [api, scope.orgId]);
  const page = useLoad(
    () =>
      api.get<{ logs: LogEntry[] } & Page>(orgPath(scope.orgId, '/logs'), {
        ...filters,
        start_time: parseTime('Start time', filters.start_time) || undefined,
        end_time: parseTime('End time', filters.end_time) || undefined,
        page_size: LOG_PAGE_SIZE,
        page_token: tokens[tokens.length - 1] || undefined,
      }),
    [api, scope.orgId, filters, tokens],
  );

  const apply = (e: Event) => {
    e.preventDefault();
    setFilters(draft);
    setTokens(['']);
    setOpenId(undefined);
  };
  const clear = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    setTokens(['']);
    setOpenId(undefined);
  };
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: valueOf(e) }),
  });
  const keyName = new Map((keys.data ?? []).map((k) => [k.id, k.name]));
  const actor = (id: string) => (keyName.has(id) ? `${keyName.get(id)} (${id})` : id);
  const logs = page.data?.logs ?? [];
  const open = logs.find((e) => e.id === openId);

  return html`
    <h1>API log</h1>
    <form class="inline filters" role="search" aria-label="Filter the log" onSubmit=${apply}>
      <div><label for="log-status">Status</label><input id="log-status" inputmode="numeric" size="5" placeholder="409" ...${field('status')} /></div>
      <div><label for="log-key">Key ID</label><input id="log-key" placeholder="apikey_… or operator" ...${field('key_id')} /></div>
      <div><label for="log-route">Route</label><input id="log-route" placeholder="CreatePermission or POST /v1/check" ...${field('route')} /></div>
      <div><label for="log-start">Start time</label><input id="log-start" placeholder="2030-01-01T00:00:00Z" ...${field('start_time')} /></div>
      <div><label for="log-end">End time</label><input id="log-end" placeholder="2030-01-02T00:00:00Z" ...${field('end_time')} /></div>
      <button type="submit">Apply filters</button>
      <button type="button" class="secondary" onClick=${clear}>Clear filters</button>
    </form>
    <${ErrorAlert} error=${page.error} />
    ${page.data === undefined
      ? page.error === undefined && html`<${Status}>Loading the log…<//>`
      : html`
        <p class="muted">${page.data.total_items} ${page.data.total_items === 1 ? 'call' : 'calls'}${filtered(filters) ? ' match' : ' logged'}, newest first.</p>
        <${Table} className="log" caption="API calls, newest first" head=${['Time', 'Actor', 'Action', 'Status', 'Latency']}
          empty=${`No call ${filtered(filters) ? 'matches these filters' : 'has been logged yet'}.`} rows=${logs.map(
            (e) => html`<tr key=${e.id} class=${e.id === openId ? 'open' : undefined} onClick=${() => setOpenId(e.id)}>
              <td><button type="button" class="link" aria-expanded=${e.id === openId} aria-controls="log-entry">${formatTime(e.time)}</button></td>
              <td>${actor(e.actor)}</td>
              <td><span class="rpc">${e.rpc}</span> <code>${e.route}</code></td>
              <td class=${e.status >= 400 ? 'status bad' : 'status'}>${e.status}</td>
              <td>${e.latency_ms} ms</td>
            </tr>`,
          )} />
        <nav class="pager" aria-label="Log pages">
          <button type="button" class="secondary" disabled=${tokens.length === 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Previous</button>
          <span>Page ${tokens.length}</span>
          <button type="button" class="secondary" disabled=${page.data.next_page_token === ''}
            onClick=${() => setTokens([...tokens, page.data!.next_page_token])}>Next</button>
        </nav>
        ${open !== undefined && html`<${Entry} entry=${open} actor=${actor(open.actor)} onClose=${() => setOpenId(undefined)} />`}
      `}
  `;
}

function filtered(f: Filters): boolean {
  return Object.values(f).some((v) => v !== '');
}

/** One call: what it was, and its bodies under the Request and Response tabs. */
function Entry({ entry, actor, onClose }: { entry: LogEntry; actor: string; onClose: () => void }) {
  return html`
    <section id="log-entry" class="entry" aria-labelledby="log-entry-title">
      <h2 id="log-entry-title">${entry.rpc} · ${entry.status}</h2>
      <dl class="facts">
        <dt>Time</dt><dd>${formatTime(entry.time)}</dd>
        <dt>Actor</dt><dd>${actor}</dd>
        <dt>Route</dt><dd><code>${entry.route}</code> (${entry.transport})</dd>
        <dt>Latency</dt><dd>${entry.latency_ms} ms</dd>
        <dt>Entry</dt><dd><code>${entry.id}</code></dd>
      </dl>
      <${Tabs} label="Bodies" tabs=${[
        { id: 'request', label: 'Request', content: html`<pre>${pretty(entry.request)}</pre>` },
        { id: 'response', label: 'Response', content: html`<pre>${pretty(entry.response)}</pre>` },
      ]} />
      <button type="button" class="secondary" onClick=${onClose}>Close</button>
    </section>
  `;
}

/** Indented JSON; a body cut short by the log (`…[truncated]`) is shown as recorded. */
function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
