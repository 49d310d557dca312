// Signing in: the key kept in sessionStorage (never in a URL), and which kind of key it is (SPEC §2).
import { Api, type Organisation } from './api.js';

const KEY_ITEM = 'permio.apiKey';
const OPERATOR_PROBE_MS = 5000; // a server that never answers the probe: treat the key as an organisation key

/** A signed-in key. */
export interface Identity {
  readonly api: Api;
  readonly key: string;
  /** The operator key acts on every organisation; any other key on its own. */
  readonly operator: boolean;
  /** What the key lists: every organisation (operator), or its own. */
  readonly organisations: readonly Organisation[];
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function signOut(): void {
  sessionStorage.clear(); // the key and the remembered selections
}

/** Tries `key`; rejects with the API's error (a wrong key: 401). Remembers the key for this tab. */
export async function signIn(key: string): Promise<Identity> {
  const api = new Api(key);
  // The operator lists every organisation, any other key exactly its own.
  const orgs = await api.listAll<Organisation>('/v1/organisations', 'organisations');
  const operator = orgs.length !== 1 || (await isOperator(key));
  sessionStorage.setItem(KEY_ITEM, key);
  return { api, key, operator, organisations: orgs };
}

/** `ws(s)://this-host/v1/watch` (SPEC §7). */
export function watchUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/watch`;
}

/**
 * Whether `key` is the operator key, when listing organisations cannot tell (exactly one is visible): only the
 * operator must name the organisation of a project-scoped call (SPEC §5). Watch says so in a message on its socket
 * (§7); an HTTP probe would be a failed request, which the browser reports as a console error.
 */
function isOperator(key: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(watchUrl());
    const timer = setTimeout(() => done(false), OPERATOR_PROBE_MS);
    function done(operator: boolean): void {
      clearTimeout(timer);
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      resolve(operator);
    }
    ws.onopen = () => ws.send(JSON.stringify({ authorization: `Bearer ${key}`, project_name: 'default' }));
    ws.onmessage = (e) => {
      let error: { code?: number } | undefined;
      try {
        error = JSON.parse(String(e.data)).error;
      } catch {
        // not JSON: not the answer we look for
      }
      done(error?.code === 400 && JSON.stringify(error).includes('organisation_id'));
    };
    ws.onerror = ws.onclose = () => done(false);
  });
}
