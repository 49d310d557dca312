// The uWebSockets.js REST front end: one route table (the RPCs, then the local routes), each request taken through
// small steps — accept → route → authenticate → admit → read input → run → answer → record.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import { Answer } from '../../service/answer.js';
import type { CallScope } from '../../service/call-log.js';
import type { Caller } from '../../service/caller.js';
import type { Input } from '../../service/validate.js';
import { OPERATION_BY_RPC, OPERATIONS, type HttpMethod, type Operation } from '../operations.js';
import type { ServiceLike } from '../service-port.js';
import { drainBody, parseJsonObject, readBody } from './body.js';
import { JsonGuard } from './json-guard.js';
import { localRoutes, type LocalRoute, type LocalRouteOptions } from './local-routes.js';
import { serveExport, serveImport } from './ndjson-routes.js';
import { errorBody, send, sendError, sendJson, type ResponseState } from './reply.js';
import { Router } from './router.js';
import type { TlsMaterial } from '../tls.js';
import { watchSocket } from './watch-socket.js';

/** The binary addon, not the `ws` fallback the package silently switches to when the binary fails to load. */
export function assertNativeUws(): void {
  if (!/\[native code\]/.test(Function.prototype.toString.call(uWS.App))) {
    throw new Error('uWebSockets.js native addon did not load (the slow ws fallback is active); refusing to start');
  }
}

export interface RestServer {
  readonly port: number;
  /** Stops accepting connections; resolves once in-flight requests are answered. */
  close(): Promise<void>;
}

export interface RestOptions extends LocalRouteOptions {
  service: ServiceLike;
  port: number;
  /** Default `0.0.0.0`. */
  host?: string;
  /** HTTPS and WSS on the port instead of HTTP and WS. */
  tls?: TlsMaterial;
}

/** A row of the REST route table: an RPC it transcodes, or a local route. */
interface RestRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operation: Operation | undefined;
  readonly local: LocalRoute | undefined;
  /** Whether the path has `{parameters}` (the input then merges query, body and path). */
  readonly templated: boolean;
}

/** The (kind, framing) pairs this front end serves; a row of another pair fails at startup, not at its first call. */
const SERVED = new Set(['unary/json', 'server-streaming/websocket', 'server-streaming/ndjson', 'client-streaming/ndjson']);

/** Routes with a secret path parameter (an invitation token) are logged by their template, never the path sent. */
const SECRET_IN_PATH: ReadonlySet<Operation> = new Set(OPERATIONS.filter((o) => o.path.includes('{token}')));

/**
 * The longest request line (method, path, query) answered with anything but 431 (SPEC §13). uWS bounds the rest of
 * the head itself, without an answer: README "HTTP limits".
 */
const MAX_REQUEST_LINE_BYTES = 16 * 1024;

/** uWS's exclusive-port listen option (exported by the addon as `LIBUS_LISTEN_EXCLUSIVE_PORT`, typed only as an enum). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
/** The addon's `listen(host, port, options, cb)`, missing from its typings. */
interface ListenWithOptions {
  listen(host: string, port: number, options: number, cb: (listenSocket: uWS.us_listen_socket | false) => void): void;
}

function routeTable(local: readonly LocalRoute[]): RestRoute[] {
  const rows: RestRoute[] = [];
  for (const operation of OPERATIONS) {
    if (!SERVED.has(`${operation.kind}/${operation.rest}`)) {
      throw new Error(`REST: no handler for ${operation.rpc} (${operation.kind} over ${operation.rest})`);
    }
    rows.push({ method: operation.method, path: operation.path, operation, local: undefined, templated: operation.path.includes('{') });
  }
  for (const route of local) rows.push({ method: route.method, path: route.path, operation: undefined, local: route, templated: false });
  return rows;
}

/** One request: what was read from `req` (it is stack-allocated: before any callback or await) and how it is answered. */
interface Exchange extends ResponseState {
  readonly res: HttpResponse;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** The raw header; '' when absent. */
  readonly authorization: string;
  readonly contentLength: number;
  readonly hasBody: boolean;
  /** Rate-limit headers to send with the answer (limited organisations only). */
  rateHeaders: Readonly<Record<string, string>> | undefined;
  /** Whether the request is counted in the server's in-flight requests. */
  counted: boolean;
  /** A streaming route's cleanup when the client goes away. */
  onAbort: (() => void) | undefined;
}

export function startRestServer(opts: RestOptions): Promise<RestServer> {
  assertNativeUws();
  const router = new Router(routeTable(localRoutes(opts)));
  const { service } = opts;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  /** Counts the request in flight: from its admission until it is answered or aborted. */
  const begin = (x: Exchange) => {
    inFlight++;
    x.counted = true;
  };
  const end = (x: Exchange) => {
    if (!x.counted) return;
    x.counted = false;
    if (--inFlight === 0 && drained) drained();
  };

  /** Step 1: copy what the request says; from here on `req` is not touched. */
  function accept(res: HttpResponse, req: HttpRequest): Exchange {
    const contentLength = Number(req.getHeader('content-length')) || 0;
    const x: Exchange = {
      res,
      method: req.getCaseSensitiveMethod().toUpperCase(),
      path: req.getUrl(),
      query: req.getQuery() ?? '',
      authorization: req.getHeader('authorization'),
      contentLength,
      hasBody: contentLength > 0 || req.getHeader('transfer-encoding') !== '',
      aborted: false,
      done: false,
      rpc: '-',
      startedAt: performance.now(),
      requestId: requestIdOf(req.getHeader('x-request-id')),
      rateHeaders: undefined,
      counted: false,
      onAbort: undefined,
    };
    res.onAborted(() => {
      x.aborted = true;
      x.onAbort?.();
      end(x);
    });
    return x;
  }

  /** Answers an error raised before the body was read: the client finishes sending first, so it sees the answer. */
  function refuse(x: Exchange, err: unknown): void {
    if (x.hasBody) drainBody(x.res, () => sendError(x.res, x, err, x.rateHeaders));
    else sendError(x.res, x, err, x.rateHeaders);
  }

  /** A local route: authentication only where it is operator-only; no rate limit, no call log. */
  function serveLocal(x: Exchange, route: LocalRoute): void {
    try {
      if (route.operatorOnly) {
        const caller = service.authenticate(x.authorization === '' ? undefined : x.authorization);
        if (caller.kind !== 'operator') throw Errors.forbidden(`only the operator key may call ${route.path}`);
      }
      const answer = route.answer(new URLSearchParams(x.query));
      if (!(answer instanceof Promise)) return send(x.res, x, answer.status ?? 200, answer.contentType, answer.body, answer.headers);
      answer.then(
        (a) => send(x.res, x, a.status ?? 200, a.contentType, a.body, a.headers),
        (err) => sendError(x.res, x, err),
      );
    } catch (err) {
      sendError(x.res, x, err);
    }
  }

  /** Steps 3–5 of an RPC: authenticate, admit (SPEC §5 order), then read the input and run it. */
  function serveRpc(x: Exchange, operation: Operation, templated: boolean, params: Record<string, string>): void {
    x.rpc = operation.rpc;
    const authorization = x.authorization === '' ? undefined : x.authorization;
    let caller: Caller;
    try {
      caller = service.authenticate(authorization);
    } catch (err) {
      const late = service.authenticateLate?.(authorization, err);
      if (late === undefined) return refuse(x, err);
      return serveLate(x, operation, templated, params, late);
    }
    try {
      x.rateHeaders = service.admit(caller);
    } catch (err) {
      refuse(x, err);
      return recordRefusal(x, operation, caller, err);
    }
    if (operation.rest === 'websocket') return refuse(x, upgradeRequired(operation)); // the upgrade is served by `watchSocket`
    if (operation.rest === 'ndjson') return serveStream(x, operation, templated, params, caller);
    begin(x);
    readInput(x, operation, templated, params, (err, input) => {
      if (err) {
        sendError(x.res, x, err, x.rateHeaders, err.status === 413); // the rest of an oversized body is not read: close
        recordRefusal(x, operation, caller, err);
        return end(x);
      }
      run(x, operation, caller, input!);
    });
  }

  /** A call refused before it ran (429, an unreadable body): logged as gRPC logs it, with no input. */
  function recordRefusal(x: Exchange, operation: Operation, caller: Caller, err: unknown): void {
    const e = toPermioError(err);
    record(x, operation, routeOf(x, operation), caller, {}, e.status, errorBody(e), undefined);
  }

  /** The RPC's input: path and query parameters, plus the JSON body when it takes one; a 413 or 400 otherwise. */
  function readInput(
    x: Exchange,
    operation: Operation,
    templated: boolean,
    params: Record<string, string>,
    then: (err: PermioError | undefined, input?: Input) => void,
  ): void {
    if (operation.body !== '*' || !x.hasBody) {
      let input: Input;
      try {
        input = inputOf(x, {}, templated, params);
      } catch (e) {
        return then(toPermioError(e));
      }
      return then(undefined, input);
    }
    readBody(
      x.res,
      operation.bodyLimit,
      x.contentLength,
      (err, bytes) => {
        if (err) return then(err);
        let input: Input;
        try {
          input = inputOf(x, parseJsonObject(bytes, true), templated, params);
        } catch (e) {
          return then(toPermioError(e));
        }
        then(undefined, input);
      },
      new JsonGuard(),
    );
  }

  /**
   * An NDJSON route (SPEC §9): export streams its answer, import reads its body line by line; `caller` may still be
   * on its way (cluster mode, a key just created elsewhere), so the body handler is attached at once either way.
   */
  function serveStream(x: Exchange, operation: Operation, templated: boolean, params: Record<string, string>, caller: Caller | Promise<Caller>): void {
    begin(x);
    let input: Input = {};
    let known: Caller | undefined;
    const admitted = Promise.resolve(caller).then((c) => {
      known = c;
      if (caller instanceof Promise) x.rateHeaders = service.admit(c);
      input = inputOf(x, {}, templated, params);
      return c;
    });
    const answered = (status: number, response: string) => {
      if (known !== undefined) record(x, operation, routeOf(x, operation), known, input, status, response, undefined);
      end(x);
    };
    if (operation.kind === 'server-streaming') {
      const open = () => admitted.then((c) => (service.exportProject ? service.exportProject(c, input) : Promise.reject(Errors.routeNotFound(operation.path))));
      return x.hasBody ? drainBody(x.res, () => serveExport(x, open, answered)) : serveExport(x, open, answered);
    }
    const open = () => admitted.then((c) => (service.importProject ? service.importProject(c, input) : Promise.reject(Errors.routeNotFound(operation.path))));
    serveImport(x, service.importMaxBytes ?? Number.POSITIVE_INFINITY, open, answered);
  }

  /**
   * Cluster mode: a key this node does not know yet may be on its way through the log. The body is read meanwhile
   * (uWS hands it only to a handler attached now); the key's verdict still comes first (SPEC §5 order).
   */
  function serveLate(x: Exchange, operation: Operation, templated: boolean, params: Record<string, string>, late: Promise<Caller>): void {
    if (operation.rest === 'ndjson') return serveStream(x, operation, templated, params, late);
    begin(x);
    readInput(x, operation, templated, params, (inputError, input) => {
      late.then(
        (caller) => {
          try {
            x.rateHeaders = service.admit(caller);
            if (inputError) throw inputError;
          } catch (err) {
            sendError(x.res, x, err, x.rateHeaders, (err as PermioError).status === 413);
            recordRefusal(x, operation, caller, err);
            return end(x);
          }
          run(x, operation, caller, input!);
        },
        (err) => {
          sendError(x.res, x, err, undefined, inputError?.status === 413);
          end(x);
        },
      );
    });
  }

  /** Steps 6–8: the service call, its answer, the call-log record. */
  function run(x: Exchange, operation: Operation, caller: Caller, input: Input): void {
    const route = routeOf(x, operation);
    // a sampled read (Check) writes nothing: no scope to carry
    const scope: CallScope | undefined = operation.sampled ? undefined : { transport: 'rest', route, startedAt: x.startedAt, logged: false };
    service.invoke(operation.rpc, caller, input, scope).then(
      (value) => {
        const answer = value instanceof Answer ? value : undefined;
        const body = answer === undefined ? value : answer.body;
        const json = operation.preEncoded ? (body as string) : JSON.stringify(body);
        sendJson(x.res, x, 200, json, withAnswerHeaders(x.rateHeaders, answer));
        record(x, operation, route, caller, input, 200, json, scope);
        end(x);
      },
      (err) => {
        const sent = sendError(x.res, x, err, x.rateHeaders);
        record(x, operation, route, caller, input, sent.status, sent.body, scope);
        end(x);
      },
    );
  }

  function record(
    x: Exchange,
    operation: Operation,
    route: string,
    caller: Caller,
    input: Input,
    status: number,
    response: string,
    scope: CallScope | undefined,
  ): void {
    service.recordCall?.({
      transport: 'rest',
      rpc: operation.rpc,
      route,
      caller,
      input,
      status,
      latencyMs: performance.now() - x.startedAt,
      response,
      sampled: operation.sampled,
      logged: scope?.logged,
    });
  }

  const tls = opts.tls;
  const base = tls ? uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile }) : uWS.App();
  const app = base.ws(OPERATION_BY_RPC.get('Watch')!.path, watchSocket(service)); // before '/*': it takes the upgrades
  app.any('/*', (res: HttpResponse, req: HttpRequest) => {
    const x = accept(res, req);
    // the parts of the head uWS has handed over already (walking every header would cost each request ~2.5 µs)
    const line = x.method.length + x.path.length + x.query.length;
    if (line > MAX_REQUEST_LINE_BYTES) return refuse(x, Errors.headTooLarge(line, MAX_REQUEST_LINE_BYTES));
    let match;
    try {
      match = router.match(x.method, x.path); // step 2: 404 / 405 before anything else (SPEC §5)
    } catch (err) {
      return refuse(x, err);
    }
    const route = match.spec;
    if (route.operation !== undefined) serveRpc(x, route.operation, route.templated, match.params);
    else serveLocal(x, route.local!);
  });

  return new Promise((resolve, reject) => {
    // exclusively: without it uWS sets SO_REUSEPORT and a second server on the port would share its connections
    (app as unknown as ListenWithOptions).listen(opts.host ?? '0.0.0.0', opts.port, LIBUS_LISTEN_EXCLUSIVE_PORT, (listenSocket) => {
      if (!listenSocket) return reject(new Error(`REST: cannot listen on port ${opts.port} of ${opts.host ?? '0.0.0.0'}`));
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

/** The route a call-log entry names: the path as sent, or its template when the path holds a secret (a token). */
function routeOf(x: Exchange, operation: Operation): string {
  return SECRET_IN_PATH.has(operation) ? `${x.method} ${operation.path}` : `${x.method} ${x.path}`;
}

/** A plain request to a WebSocket route (its upgrade is answered by the `ws` route before this one). */
function upgradeRequired(operation: Operation): PermioError {
  return Errors.badRequest(`Invalid request: ${operation.method} ${operation.path} is a WebSocket: send it as an upgrade request`, [
    { field: 'upgrade', description: "send 'Connection: Upgrade' and 'Upgrade: websocket'" },
  ]);
}

/** The service input: path parameters win over body fields, body over query; the common POST case reuses the body. */
function inputOf(x: Exchange, body: Input, templated: boolean, params: Record<string, string>): Input {
  return x.query === '' && !templated ? body : { ...parseQuery(x.query), ...body, ...params };
}

/** The rate-limit headers plus an answer's own (`permio-revision`); no copy when only one side has any. */
function withAnswerHeaders(
  rate: Readonly<Record<string, string>> | undefined,
  answer: Answer | undefined,
): Readonly<Record<string, string>> | undefined {
  if (answer === undefined) return rate;
  return rate === undefined ? answer.headers : { ...rate, ...answer.headers };
}

const REQUEST_ID_PREFIX = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/; // printable, no spaces: safe to echo in a header and a log
let requestCounter = 0;

/** The client's request id when it is a sane token, else `<process prefix>-<counter>`. */
function requestIdOf(header: string): string {
  return header !== '' && CLIENT_REQUEST_ID.test(header) ? header : `${REQUEST_ID_PREFIX}-${(++requestCounter).toString(36)}`;
}

/**
 * `a=1&b=x%20y` → `{a:'1', b:'x y'}` (first value wins, `+` is a space). Percent-escapes must decode to UTF-8
 * (400 otherwise, SPEC §13): `URLSearchParams` would turn `%ED%A0%80` and `%FF` alike into U+FFFD, two ids into one.
 */
function parseQuery(query: string): Input {
  const out: Input = {};
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decodeQueryPart(eq === -1 ? pair : pair.slice(0, eq));
    if (!(k in out)) out[k] = eq === -1 ? '' : decodeQueryPart(pair.slice(eq + 1));
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const PERCENT = 37; // '%'

/** WHATWG percent-decoding (a malformed escape such as `%zz` stays as it is), then strict UTF-8. */
function decodeQueryPart(part: string): string {
  const spaced = part.includes('+') ? part.replace(/\+/g, ' ') : part;
  if (!spaced.includes('%')) return spaced;
  const raw = Buffer.from(spaced);
  const bytes = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const hi = hexDigit(raw[i + 1]);
    const lo = hexDigit(raw[i + 2]);
    if (raw[i] === PERCENT && hi >= 0 && lo >= 0) {
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else bytes[n++] = raw[i]!;
  }
  try {
    return strictUtf8.decode(bytes.subarray(0, n));
  } catch {
    throw Errors.notWellFormed('the query string (its percent-escapes are not UTF-8)');
  }
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}
