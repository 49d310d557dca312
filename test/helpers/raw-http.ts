// Raw HTTP/1.1 requests (node:http) for what fetch cannot send: chunked or oversized bodies, odd headers.
import http from 'node:http';

export interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
  /** A socket error seen after the response arrived (the server may close after answering). */
  lateError?: string;
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

/**
 * One request on a fresh connection. Resolves once the response is read (or rejects on a socket error
 * before any response). The request body may still be in flight when an early answer (413) arrives.
 */
export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawResult> {
  const url = new URL(req.path, baseUrl);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const headers: Record<string, string> = { connection: 'close', ...req.headers };
  if (body !== undefined && !req.chunked) headers['content-length'] = String(body.length);
  if (req.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let settled = false;
    const r = http.request(
      { host: url.hostname, port: url.port, method: req.method, path: url.pathname + url.search, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = (lateError?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, lateError });
        };
        res.on('end', () => done());
        res.on('error', (e) => done(String(e)));
        res.on('close', () => done('closed before end'));
      },
    );
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      r.destroy();
      reject(new Error(`${req.method} ${req.path}: no response within ${req.timeoutMs ?? 30_000} ms`));
    }, req.timeoutMs ?? 30_000);
    r.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    if (body === undefined) return void r.end();
    if (!req.chunked) {
      r.write(body, () => undefined);
      return void r.end();
    }
    const size = req.chunkSize ?? 64 * 1024;
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + size);
        offset += piece.length;
        if (r.destroyed) return;
        if (!r.write(piece)) return void r.once('drain', pump);
      }
      r.end();
    };
    pump();
  });
}
