// Live changes of the selected project over the Watch WebSocket (SPEC §7), newest first; resumes after a drop.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, projectQuery, type Permission, type Role } from '../api.js';
import { watchUrl } from '../session.js';
import { ErrorAlert, formatTime, Status, Table, useLoad, type PageProps } from '../ui.js';

const MAX_ROWS = 500; // the page keeps the newest events only
const RETRY_MS = [1000, 2000, 5000, 10_000]; // reconnect delays after a dropped connection
const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008; // SPEC §7: a 4xx error was sent; retrying would get the same answer

interface WatchEvent {
  type: string;
  user_id?: string;
  resource_uri?: string;
  permissions?: string[];
  roles?: string[];
  starts_at?: string;
  expires_at?: string;
  permission?: Permission;
  role?: Role;
}
interface WatchMessage { revision: string; committed_at: string; events: WatchEvent[] }
interface Row { key: string; revision: string; time: string; event: WatchEvent }

type State = 'connecting' | 'live' | 'retrying' | 'ended' | 'failed';
const STATE_TEXT: Record<State, string> = {
  connecting: 'Connecting…',
  live: 'Live: new changes appear at the top.',
  retrying: 'Connection lost; reconnecting…',
  ended: 'The project was deleted: the stream has ended.',
  failed: 'Not watching.',
};

export function Changes({ api, apiKey, scope }: PageProps) {
  // Names of the project's permissions and roles as the page opens; events teach it the later ones.
  const schema = useLoad(async () => {
    const [permissions, roles] = await Promise.all([
      api.listAll<Permission>('/v1/permissions', 'permissions', projectQuery(scope)),
      api.listAll<Role>('/v1/roles', 'roles', projectQuery(scope)),
    ]);
    return new Map([...permissions, ...roles].map((x) => [x.id, x.name]));
  }, [api, scope.orgId, scope.project]);
  const [rows, setRows] = useState<readonly Row[]>([]);
  const [state, setState] = useState<State>('connecting');
  const [error, setError] = useState<unknown>(undefined);
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    setRows([]);
    setError(undefined);
    setState('connecting');
    let ws: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let after: string | undefined; // the last revision received: a reconnect resumes right after it
    let attempts = 0;
    let stopped = false;
    let seq = 0;

    const connect = () => {
      let answered = false; // this socket has sent a message
      ws = new WebSocket(watchUrl());
      ws.onopen = () =>
        ws!.send(JSON.stringify({ authorization: `Bearer ${apiKey}`, ...projectQuery(scope), ...(after === undefined ? {} : { after_revision: after }) }));
      ws.onmessage = (e) => {
        let msg: WatchMessage | { error: { code: number; message: string; details?: unknown[] } };
        answered = true;
        try {
          msg = JSON.parse(String(e.data));
        } catch {
          return setError(new Error('the server sent a message that is not JSON'));
        }
        if ('error' in msg) {
          setError(new ApiError(msg.error.code, msg.error.message, msg.error.details));
          return;
        }
        attempts = 0;
        after = msg.revision;
        setError(undefined);
        setState('live');
        if (msg.events.length === 0) return; // "registered" and heartbeat messages
        setNames((old) => learnNames(old, msg.events));
        const fresh = msg.events.map((event) => ({ key: String(++seq), revision: msg.revision, time: msg.committed_at, event }));
        setRows((old) => [...fresh.reverse(), ...old].slice(0, MAX_ROWS));
      };
      ws.onclose = (e) => {
        if (stopped) return;
        if (e.code === CLOSE_NORMAL) return setState('ended');
        if (e.code === CLOSE_POLICY) return setState('failed');
        const delay = RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)]!;
        // a socket refused or dropped before any answer says nothing itself: say it (an error message was shown)
        if (!answered) setError(new Error(`The Watch WebSocket (GET /v1/watch) closed without an answer (code ${e.code}); retrying in ${delay / 1000} s`));
        setState('retrying');
        retry = setTimeout(connect, delay);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      ws?.close(CLOSE_NORMAL);
    };
  }, [apiKey, scope.orgId, scope.project]);

  const name = (id: string) => names.get(id) ?? schema.data?.get(id) ?? id;
  return html`
    <h1>Changes</h1>
    <p class="muted">Writes to project ${scope.project} as they are committed.</p>
    <${Status}>${STATE_TEXT[state]}<//>
    <${ErrorAlert} error=${error ?? schema.error} />
    ${(state === 'live' || state === 'ended' || rows.length > 0) && html`<${Table} caption=${`Changes to project ${scope.project}, newest first`}
      head=${['Committed', 'Revision', 'Event', 'What']} empty="No change since the page opened." rows=${rows.map(
        (r) => html`<tr key=${r.key}>
          <td>${formatTime(r.time)}</td><td><code>${r.revision}</code></td><td>${r.event.type}</td><td>${describe(r.event, name)}</td>
        </tr>`,
      )} />`}
  `;
}

/** Permission and role names the events carry, so grant events can name their ids. */
function learnNames(old: ReadonlyMap<string, string>, events: readonly WatchEvent[]): ReadonlyMap<string, string> {
  const next = new Map(old);
  for (const e of events) {
    if (e.permission) next.set(e.permission.id, e.permission.name);
    if (e.role) next.set(e.role.id, e.role.name);
  }
  return next;
}

/** `alice on /docs: doc.read; roles editor`, `permission doc.read`, … */
function describe(e: WatchEvent, name: (id: string) => string): string {
  if (e.permission) return `permission ${e.permission.name}`;
  if (e.role) return `role ${e.role.name} (${e.role.permissions.map((p) => p.name).join(', ')})`;
  if (e.user_id === undefined) return '';
  const parts = [];
  if (e.permissions?.length) parts.push(`permissions ${e.permissions.map(name).join(', ')}`);
  if (e.roles?.length) parts.push(`roles ${e.roles.map(name).join(', ')}`);
  const until = e.expires_at ? ` until ${formatTime(e.expires_at)}` : '';
  return `${e.user_id} on ${e.resource_uri}: ${parts.join('; ')}${until}`;
}
