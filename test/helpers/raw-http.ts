// Raw HTTP/1.1 over a TCP socket, for what fetch cannot send or see: chunked or oversized bodies, and whether an
// early answer (413) actually reaches the client while it is still sending.
import net from 'node:net';

export interface RawResult {
  /** 0 when no status line arrived. */
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
  /** The socket error seen while sending or reading, if any (EPIPE, ECONNRESET). */
  socketError?: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent with Content-Length unless `chunked`. */
  body?: Buffer | string;
  /** Send the body with Transfer-Encoding: chunked in `chunkSize` pieces. */
  chunked?: boolean;
  chunkSize?: number;
  timeoutMs?: number;
}

/** Decodes a `Transfer-Encoding: chunked` body. */
function dechunk(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Parses the first response on the connection (status line, headers, body). */
function parseResponse(raw: Buffer): { status: number; headers: Record<string, string>; text: string } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, text: raw.toString('utf8') };
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, text: body.toString('utf8') };
}

/** Whether `raw` holds a whole Content-Length response (then there is no need to wait for the close). */
function responseComplete(raw: Buffer): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(raw.subarray(0, end).toString('latin1'));
  return m !== null && raw.length - (end + 4) >= Number(m[1]);
}

/**
 * One request on a fresh connection (`Connection: close`). Sends headers and body, reads whatever the server
 * answers until the connection closes, and never rejects: a response lost to a reset shows as `status: 0`.
 */
export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawResult> {
  const url = new URL(req.path, baseUrl);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const headers: Record<string, string> = { host: url.host, connection: 'close', ...req.headers };
  if (body !== undefined && !req.chunked) headers['content-length'] = String(body.length);
  if (req.chunked) headers['transfer-encoding'] = 'chunked';
  const head = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let socketError: string | undefined;
    let settled = false;
    const socket = net.connect(Number(url.port), url.hostname);
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks));
      let json: any = parsed.text;
      try {
        json = JSON.parse(parsed.text);
      } catch {
        // not JSON: keep the text
      }
      resolve({ ...parsed, body: json, socketError });
    };
    const timer = setTimeout(() => {
      socketError ??= `no close within ${req.timeoutMs ?? 30_000} ms`;
      socket.destroy();
      finish();
    }, req.timeoutMs ?? 30_000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (responseComplete(Buffer.concat(chunks))) {
        socket.destroy();
        finish();
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      socketError ??= e.code ?? String(e);
    });
    socket.on('close', finish);
    socket.write(head);
    if (body === undefined) return;
    // Send like curl does: in pieces, waiting for the kernel buffer to drain, and stop as soon as the server
    // has answered (an early 413) — a client cannot read an answer it never waits for.
    const size = req.chunkSize ?? 64 * 1024;
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        if (settled || socket.destroyed || chunks.length > 0) return;
        const piece = body.subarray(offset, offset + size);
        offset += piece.length;
        const flushed = req.chunked ? socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])) : socket.write(piece);
        if (!flushed) return void socket.once('drain', pump);
      }
      if (req.chunked && !socket.destroyed) socket.write('0\r\n\r\n');
    };
    pump();
  });
}

/** A RawResult in the shape of the fetch client's result, for the shared assertions. */
export function asHttpResult(r: RawResult): { status: number; body: any; headers: Headers } {
  return { status: r.status, body: r.body, headers: new Headers(r.headers) };
}
