// The REST transport: each RPC's google.api.http binding over Node's fetch; Watch over a WebSocket; export/import as NDJSON.
import { deadlineExceeded, fromErrorBody, missingField, PermioError, unreachable } from './errors.js';
import { parseNdjson } from './ndjson.js';
import { ndjsonBytes } from './records.js';
import { pathParams, rpcSpec, type Answer, type Message, type RecordSource, type Transport } from './transport.js';
import { openWebSocket } from './websocket.js';

const REVISION_HEADER = 'permio-revision';
const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The URL path of `rpc` with its path parameters filled from `request`, and the fields left for the query or body. */
function route(rpc: string, request: Message): { method: string; path: string; rest: Message; body: boolean } {
  const [method, template, body] = rpcSpec(rpc).http;
  const rest: Message = { ...request };
  let path = template;
  for (const name of pathParams(template)) {
    const value = rest[name];
    if (value === undefined || value === '') throw missingField(name);
    path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
    delete rest[name];
  }
  return { method, path, rest, body: body === '*' };
}

/** Scalar fields as a query string (`?a=1&b=x`); undefined and nested values are left out. */
function queryString(fields: Message): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || typeof value === 'object') continue;
    query.set(key, String(value));
  }
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

export class RestTransport implements Transport {
  private readonly base: string;

  constructor(
    url: string,
    private readonly authorization: string,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  async unary(rpc: string, request: Message, timeoutMs: number): Promise<Answer> {
    const { method, path, rest, body } = route(rpc, request);
    const url = `${this.base}${path}${body ? '' : queryString(rest)}`;
    const headers: Record<string, string> = { authorization: this.authorization };
    if (body) headers['content-type'] = JSON_TYPE;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body ? JSON.stringify(rest) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.failure(err, timeoutMs);
    }
    if (res.status !== 200) throw errorOf(res, text);
    return { body: text === '' ? {} : JSON.parse(text), revision: res.headers.get(REVISION_HEADER) ?? undefined };
  }

  async *serverStream(rpc: string, request: Message, signal: AbortSignal): AsyncIterable<Message> {
    if (rpc === 'Watch') return yield* this.watch(request, signal);
    const { path, rest } = route(rpc, request);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}${queryString(rest)}`, { headers: { authorization: this.authorization }, signal });
    } catch (err) {
      throw this.failure(err);
    }
    if (res.status !== 200) throw errorOf(res, await res.text());
    try {
      for await (const message of parseNdjson(res.body as AsyncIterable<Uint8Array>)) {
        const error = fromErrorBody(message, 500); // an error after the stream started arrives as its last line
        if (error !== undefined) throw error;
        yield message;
      }
    } catch (err) {
      throw err instanceof PermioError ? err : this.failure(err);
    }
  }

  async clientStream(rpc: string, request: Message, source: RecordSource): Promise<Answer> {
    const { method, path, rest } = route(rpc, request);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.base}${path}${queryString(rest)}`, {
        method,
        headers: { authorization: this.authorization, 'content-type': NDJSON_TYPE },
        body: ndjsonBytes(source), // undici streams an async iterable of chunks
        duplex: 'half',
      } as unknown as RequestInit);
      text = await res.text();
    } catch (err) {
      throw this.failure(err);
    }
    if (res.status !== 200) throw errorOf(res, text);
    return { body: JSON.parse(text), revision: res.headers.get(REVISION_HEADER) ?? undefined };
  }

  close(): void {
    // fetch's connection pool is global; nothing is held per client
  }

  /** `GET /v1/watch` upgraded to a WebSocket: the request is the first text message, every server message one JSON text. */
  private async *watch(request: Message, signal: AbortSignal): AsyncIterable<Message> {
    const url = new URL(`${this.base}${rpcSpec('Watch').http[1]}`);
    let ws;
    try {
      ws = await openWebSocket(url, { authorization: this.authorization });
    } catch (err) {
      throw this.failure(err);
    }
    const abort = () => ws.close();
    signal.addEventListener('abort', abort, { once: true });
    try {
      ws.send(JSON.stringify(request));
      for await (const text of ws) {
        const message = JSON.parse(text) as Message;
        const error = fromErrorBody(message, 500);
        if (error !== undefined) throw error; // the server closes right after an error
        yield message;
      }
      const close = await ws.closed;
      if (close.code !== 1000 && !signal.aborted) throw unreachable(url.host, close.error ?? new Error(`closed with ${close.code}`));
    } finally {
      signal.removeEventListener('abort', abort);
      ws.close();
    }
  }

  private failure(err: unknown, timeoutMs?: number): PermioError {
    if (err instanceof PermioError) return err;
    if (timeoutMs !== undefined && (err as Error)?.name === 'TimeoutError') return deadlineExceeded(timeoutMs);
    return unreachable(this.base, (err as { cause?: unknown })?.cause ?? err);
  }
}

/** A non-200 answer → PermioError: the server's error body, or the status and text when it sent none. */
function errorOf(res: Response, text: string): PermioError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = fromErrorBody(body, res.status) ?? new PermioError(res.status, text.slice(0, 500) || `HTTP ${res.status}`);
  error.retryAfterMs = retryAfterMs(res.headers.get('retry-after'));
  return error;
}
