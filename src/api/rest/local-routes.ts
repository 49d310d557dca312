// The REST routes that are not RPCs: `/healthz` and `/metrics`, the docs pages, the operator's `/debug/*` actions.
import { Errors } from '../../errors.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../../metrics.js';
import type { HealthReport } from '../../service/health.js';
import type { Routable } from './router.js';

/** A local route's answer (200 unless `status` says otherwise). */
export interface LocalAnswer {
  readonly status?: number;
  readonly contentType: string;
  readonly body: string;
  /** Further response headers (caching, Content-Security-Policy, Location). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route of the REST table that no RPC transcodes. Thrown errors are rendered like the API's. */
export interface LocalRoute extends Routable {
  /** Only the operator key may call it (401 / 403); otherwise no key is needed. */
  readonly operatorOnly: boolean;
  /** The answer, given the query parameters (`?advance_ms=1000`). */
  readonly answer: (query: URLSearchParams) => LocalAnswer | Promise<LocalAnswer>;
}

/** Pages served without authentication, by path (`GET`). */
export interface StaticPages {
  readonly [path: string]: Omit<LocalAnswer, 'body'> & { body: () => string };
}

export interface LocalRouteOptions {
  /** What `/healthz` says (200 when ready, else 503); undefined while starting or stopping. */
  health: () => HealthReport | undefined;
  pages?: StaticPages;
  /** Operator-only `POST` actions by path (fault injection, the test clock; absent in normal runs). */
  debugActions?: Readonly<Record<string, (query: URLSearchParams) => void | Promise<void>>>;
}

const JSON_TYPE = 'application/json';
const EMPTY: LocalAnswer = { contentType: JSON_TYPE, body: '{}' };

/** `/healthz`, `/metrics`, the pages and the debug actions as rows of the REST route table. */
export function localRoutes(opts: LocalRouteOptions): LocalRoute[] {
  const routes: LocalRoute[] = [
    {
      method: 'GET',
      path: '/healthz',
      operatorOnly: false,
      answer: () => {
        const health = opts.health();
        if (health === undefined) throw Errors.unavailable('starting or stopping');
        return { status: health.ready ? 200 : 503, contentType: JSON_TYPE, body: JSON.stringify(health.body) };
      },
    },
    { method: 'GET', path: '/metrics', operatorOnly: false, answer: async () => ({ contentType: METRICS_CONTENT_TYPE, body: await renderMetrics() }) },
  ];
  for (const [path, page] of Object.entries(opts.pages ?? {})) {
    routes.push({ method: 'GET', path, operatorOnly: false, answer: () => ({ ...page, body: page.body() }) });
  }
  for (const [path, action] of Object.entries(opts.debugActions ?? {})) {
    routes.push({ method: 'POST', path, operatorOnly: true, answer: async (query) => (await action(query), EMPTY) });
  }
  return routes;
}
