// Sends a request exactly as given (request line, headers, body bytes) over a fresh TCP connection: what neither
// fetch nor raw-http.ts can send — unnormalised paths, bad Content-Length, duplicate or oversized headers.
import net from 'node:net';

export interface ByteResult {
  /** 0 when no status line arrived. */
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The response body as text ('' when none arrived). */
  text: string;
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  json: unknown;
  /** How the exchange ended: a whole response, the server closing without one, or our timeout. */
  outcome: 'answered' | 'closed-without-answer' | 'timeout';
  /** The socket error seen, if any (ECONNRESET, EPIPE, ECONNREFUSED). */
  socketError?: string;
  elapsedMs: number;
}

/** Parses a Content-Length framed response; `null` while it is incomplete. */
function parseWhole(all: Buffer): Omit<ByteResult, 'outcome' | 'socketError' | 'elapsedMs'> | null {
  let raw = all;
  // Skip interim responses (`100 Continue`): the answer is the final one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 13).toString('latin1')) && raw.indexOf('\r\n\r\n') >= 0) {
    raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  }
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  if (!Number.isFinite(length) || raw.length - (end + 4) < length) return null;
  const text = raw.subarray(end + 4, end + 4 + length).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  return { status, headers, text, json };
}

export interface SendOptions {
  /** Sends the head in two writes split at this byte, {@link SPLIT_PAUSE_MS} apart: two TCP segments, as a network delivers a big head. */
  splitHeadAt?: number;
}

/** The pause between the two halves of a split head: long enough for the server to read the first on its own. */
export const SPLIT_PAUSE_MS = 50;

/**
 * Writes `head` (everything up to and including the blank line, latin1 unless a Buffer) and `body`, then reads
 * until one whole response (Content-Length framed) arrives, the server closes, or `timeoutMs` passes. Never rejects.
 */
export function sendBytes(baseUrl: string, head: string | Buffer, body?: Buffer, timeoutMs = 5_000, opts: SendOptions = {}): Promise<ByteResult> {
  const url = new URL(baseUrl);
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let socketError: string | undefined;
    let settled = false;
    const socket = net.connect(Number(url.port), url.hostname);
    const finish = (outcome: ByteResult['outcome']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const parsed = parseWhole(raw);
      const elapsedMs = Math.round(performance.now() - startedAt);
      if (parsed !== null) return resolve({ ...parsed, outcome: 'answered', socketError, elapsedMs });
      const partial = raw.toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(partial)?.[1] ?? 0);
      resolve({ status, headers: {}, text: partial.slice(0, 2_000), json: undefined, outcome, socketError, elapsedMs });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (parseWhole(Buffer.concat(chunks)) !== null) finish('answered');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      socketError ??= e.code ?? String(e);
    });
    socket.on('close', () => finish('closed-without-answer'));
    const bytes = typeof head === 'string' ? Buffer.from(head, 'latin1') : head;
    const writeRest = (rest: Buffer) => {
      if (socket.destroyed) return;
      socket.write(rest);
      if (body !== undefined && body.length > 0) socket.write(body);
    };
    if (opts.splitHeadAt === undefined) return writeRest(bytes);
    socket.write(bytes.subarray(0, opts.splitHeadAt));
    setTimeout(() => writeRest(bytes.subarray(opts.splitHeadAt)), SPLIT_PAUSE_MS);
  });
}
