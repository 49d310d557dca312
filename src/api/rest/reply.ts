// Writes responses: status line, headers and body in one corked write; the only place the error body is rendered.
import type { HttpResponse } from 'uWebSockets.js';
import { errorBody, PermioError, toPermioError } from '../../errors.js';
import { observeRequest } from '../../metrics.js';
import { log } from '../../log.js';

const STATUS_LINES: Readonly<Record<number, string>> = {
  200: '200 OK',
  302: '302 Found',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  431: '431 Request Header Fields Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Per-response state the handler keeps. */
export interface ResponseState {
  /** Set when uWS reports the client went away: nothing may be written after. */
  aborted: boolean;
  done: boolean;
  /** The RPC (or `-` before routing), for metrics. */
  rpc: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** The client's `x-request-id`, or one we made; echoed on the response and named in error logs. */
  requestId: string;
}

export { errorBody } from '../../errors.js';

const JSON_TYPE = 'application/json';

/** Sends a body, once. Safe to call after an await: checks abort state and corks. */
export function send(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  contentType: string,
  body: string,
  headers?: Readonly<Record<string, string>>,
  close = false,
): void {
  if (state.aborted || state.done) return;
  state.done = true;
  observeRequest('rest', state.rpc, status, state.startedAt);
  res.cork(() => {
    res.writeStatus(STATUS_LINES[status] ?? `${status} Error`);
    res.writeHeader('content-type', contentType);
    res.writeHeader('x-request-id', state.requestId);
    if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name]!);
    res.end(body, close);
  });
}

/** Sends a JSON body (see {@link send}). */
export function sendJson(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  json: string,
  headers?: Readonly<Record<string, string>>,
  close = false,
): void {
  send(res, state, status, JSON_TYPE, json, headers, close);
}

/** Renders any thrown value as the error shape (unknown causes are logged and answered 500); returns what was sent. */
export function sendError(
  res: HttpResponse,
  state: ResponseState,
  err: unknown,
  headers?: Readonly<Record<string, string>>,
  close = false,
): { status: number; body: string } {
  if (!(err instanceof PermioError)) {
    log.error('unhandled error', { request_id: state.requestId, rpc: state.rpc, error: String((err as Error)?.stack ?? err) });
  }
  const e = toPermioError(err);
  const all = e.headers === undefined ? headers : { ...headers, ...e.headers };
  const body = errorBody(e);
  sendJson(res, state, e.status, body, all, close);
  return { status: e.status, body };
}
