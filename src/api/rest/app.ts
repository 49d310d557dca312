// The uWebSockets.js REST front end: route → authenticate → rate-limit → bounded body → one JSON.parse → service.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Errors } from '../../errors.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../../metrics.js';
import type { PermioService } from '../../service/service.js';
import type { Input } from '../../service/validate.js';
import { ROUTES } from '../routes.js';
import { drainBody, MAX_BODY_BYTES, MAX_CHECK_BODY_BYTES, parseJsonObject, readBody } from './body.js';
import { sendError, sendJson, sendText, type ResponseState } from './reply.js';
import { Router } from './router.js';

/** The binary addon, not the `ws` fallback the package silently switches to when the binary fails to load. */
export function assertNativeUws(): void {
  if (!/\[native code\]/.test(Function.prototype.toString.call(uWS.App))) {
    throw new Error('uWebSockets.js native addon did not load (the slow ws fallback is active); refusing to start');
  }
}

/** Pages served without authentication, besides `/healthz`. */
export interface StaticPages {
  readonly [path: string]: { contentType: string; body: () => string };
}

export interface RestServer {
  readonly port: number;
  /** Stops accepting connections; resolves once in-flight requests are answered. */
  close(): Promise<void>;
}

export interface RestOptions {
  service: PermioService;
  port: number;
  host?: string;
  /** Whether the server is ready (`/healthz` 200) or not (503). */
  healthy: () => boolean;
  pages?: StaticPages;
  /** Operator-only `POST` actions by path (fault injection; absent in normal runs). */
  debugActions?: Readonly<Record<string, () => void | Promise<void>>>;
}

export function startRestServer(opts: RestOptions): Promise<RestServer> {
  assertNativeUws();
  const router = new Router(ROUTES);
  const { service } = opts;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const finished = () => {
    if (--inFlight === 0 && drained) drained();
  };

  const app = uWS.App().any('/*', (res: HttpResponse, req: HttpRequest) => {
    // req is stack-allocated: read everything we need before any callback or await.
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const authorization = req.getHeader('authorization');
    const contentLength = Number(req.getHeader('content-length')) || 0;
    const state: ResponseState = {
      aborted: false,
      done: false,
      rpc: '-',
      startedAt: performance.now(),
      requestId: requestIdOf(req.getHeader('x-request-id')),
    };
    let counted = false; // whether this request is in `inFlight`
    const finish = () => {
      if (counted) {
        counted = false;
        finished();
      }
    };
    res.onAborted(() => {
      state.aborted = true;
      finish();
    });

    if (method === 'GET' && path === '/healthz') {
      return opts.healthy()
        ? sendJson(res, state, 200, '{"status":"SERVING"}')
        : sendJson(res, state, 503, '{"error":{"code":503,"message":"Unavailable: starting or stopping"}}');
    }
    if (method === 'GET' && path === '/metrics') {
      void renderMetrics().then((text) => sendText(res, state, METRICS_CONTENT_TYPE, text));
      return;
    }
    const page = method === 'GET' ? opts.pages?.[path] : undefined;
    if (page !== undefined) return sendText(res, state, page.contentType, page.body());

    const hasBody = contentLength > 0 || req.getHeader('transfer-encoding') !== '';
    let rateHeaders: Record<string, string> | undefined;
    const debugAction = method === 'POST' ? opts.debugActions?.[path] : undefined;
    if (debugAction !== undefined) return runDebugAction(service, res, state, authorization, debugAction);
    try {
      const { spec, params } = router.match(method, path);
      state.rpc = spec.rpc;
      const caller = service.authenticate(authorization === '' ? undefined : authorization);
      rateHeaders = service.admit(caller);
      const queryInput = parseQuery(query);
      inFlight++;
      counted = true;
      const run = (body: Input) => {
        // Path parameters win over body fields, body over query; the common POST case reuses the body as is.
        const input = query === '' && spec.path.indexOf('{') < 0 ? body : { ...queryInput, ...body, ...params };
        const answer =
          spec.rpc === 'Check'
            ? service.checkJson(caller, input)
            : service.invoke(spec.rpc, caller, input).then((v) => JSON.stringify(v));
        const record = (status: number, response: string) =>
          service.recordCall({
            transport: 'rest',
            rpc: spec.rpc,
            route: `${method} ${path}`,
            caller,
            input,
            status,
            latencyMs: performance.now() - state.startedAt,
            response,
          });
        answer
          .then(
            (json) => {
              sendJson(res, state, 200, json, rateHeaders);
              record(200, json);
            },
            (err) => {
              const sent = sendError(res, state, err, rateHeaders);
              record(sent.status, sent.body);
            },
          )
          .finally(finish);
      };
      if (spec.body !== '*' || !hasBody) return run({});
      const limit = spec.rpc === 'Check' ? MAX_CHECK_BODY_BYTES : MAX_BODY_BYTES;
      readBody(res, limit, contentLength, (err, bytes) => {
        if (err) {
          sendError(res, state, err, rateHeaders, true);
          return finish();
        }
        try {
          run(parseJsonObject(bytes));
        } catch (e) {
          sendError(res, state, e, rateHeaders);
          finish();
        }
      });
    } catch (err) {
      if (hasBody) drainBody(res, () => sendError(res, state, err, rateHeaders));
      else sendError(res, state, err, rateHeaders);
    }
  });

  return new Promise((resolve, reject) => {
    app.listen(opts.host ?? '0.0.0.0', opts.port, (listenSocket) => {
      if (!listenSocket) return reject(new Error(`REST: cannot listen on port ${opts.port}`));
      resolve({
        port: uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket),
        close: () => {
          uWS.us_listen_socket_close(listenSocket);
          if (inFlight === 0) return Promise.resolve();
          return new Promise<void>((r) => (drained = r));
        },
      });
    });
  });
}

function runDebugAction(
  service: PermioService,
  res: HttpResponse,
  state: ResponseState,
  authorization: string,
  action: () => void | Promise<void>,
): void {
  try {
    const caller = service.authenticate(authorization || undefined);
    if (caller.kind !== 'operator') throw Errors.forbidden('only the operator key may inject faults');
  } catch (err) {
    sendError(res, state, err);
    return;
  }
  Promise.resolve()
    .then(action)
    .then(
      () => sendJson(res, state, 200, '{}'),
      (err) => sendError(res, state, err),
    );
}

const REQUEST_ID_PREFIX = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/; // printable, no spaces: safe to echo in a header and a log
let requestCounter = 0;

/** The client's request id when it is a sane token, else `<process prefix>-<counter>`. */
function requestIdOf(header: string): string {
  return header !== '' && CLIENT_REQUEST_ID.test(header) ? header : `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}

/** `a=1&b=x%20y` → `{a:'1', b:'x y'}` (first value wins). */
function parseQuery(query: string): Input {
  const out: Input = {};
  if (query === '') return out;
  for (const [k, v] of new URLSearchParams(query)) if (!(k in out)) out[k] = v;
  return out;
}

