// The NDJSON routes of SPEC §9 over uWS: ExportProject streams its records as the client takes them (res.write, and
// onWritable when the socket's buffer is full), ImportProject feeds the body's lines to the service as they arrive
// (res.pause while its staging writes catch up). Neither holds a whole project or file in memory.
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import { observeRequest } from '../../metrics.js';
import type { Answer } from '../../service/answer.js';
import type { ProjectExport } from '../../service/export-ops.js';
import type { ImportSession } from '../../service/import-ops.js';
import { errorBody, sendError, sendJson, type ResponseState } from './reply.js';

/** What the route handlers need of the exchange (app.ts). */
export interface NdjsonExchange extends ResponseState {
  readonly res: HttpResponse;
  readonly contentLength: number;
  readonly hasBody: boolean;
  rateHeaders: Readonly<Record<string, string>> | undefined;
  /** Called once if the client goes away. */
  onAbort: (() => void) | undefined;
}

/** Called once the call is answered: its status and the body to record in the call log. */
type Answered = (status: number, response: string) => void;

const NDJSON_TYPE = 'application/x-ndjson';
/** Batches written per event-loop turn before yielding, so one export never starves other requests. */
const BATCHES_PER_TURN = 8;
/** Past a refused import body, this much more is read and dropped before answering (the client then sees the answer). */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

/** `GET …:export`: the header line at once, then the snapshot's records as fast as the client reads them. */
export function serveExport(x: NdjsonExchange, open: () => Promise<ProjectExport>, answered: Answered): void {
  open().then(
    (exp) => {
      if (x.aborted) return exp.close();
      x.done = true;
      observeRequest('rest', x.rpc, 200, x.startedAt);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        exp.close();
      };
      x.onAbort = close;
      x.res.cork(() => {
        x.res.writeStatus('200 OK');
        x.res.writeHeader('content-type', NDJSON_TYPE);
        x.res.writeHeader('x-request-id', x.requestId);
        const headers = { ...x.rateHeaders, ...exp.headers };
        for (const name in headers) x.res.writeHeader(name, headers[name]!);
        x.res.write(`${JSON.stringify(exp.header)}\n`);
      });
      const pump = (): void => {
        for (let turn = 0; turn < BATCHES_PER_TURN; turn++) {
          if (x.aborted) return close();
          let text = '';
          try {
            const batch = exp.next();
            if (batch.length === 0) {
              close();
              x.res.cork(() => x.res.end());
              return answered(200, '{}');
            }
            for (let i = 0; i < batch.length; i++) text += `${JSON.stringify(batch[i])}\n`;
          } catch (err) {
            close();
            const e = toPermioError(err); // the stream has begun: the error is its last line (the client reads it as the error)
            x.res.cork(() => x.res.end(`${errorBody(e)}\n`));
            return answered(e.status, errorBody(e));
          }
          let ok = true;
          x.res.cork(() => (ok = x.res.write(text)));
          if (!ok) {
            x.res.onWritable(() => {
              setImmediate(pump);
              return true;
            });
            return;
          }
        }
        setImmediate(pump);
      };
      pump();
    },
    (err: unknown) => {
      const sent = sendError(x.res, x, err, x.rateHeaders);
      answered(sent.status, sent.body);
    },
  );
}

/**
 * `POST …:import`: the body is read as it arrives — split into physical lines, each validated by the session — up to
 * PERMIO_IMPORT_MAX_MB; the answer comes once the commit is durable. A refused body (413, a bad line, scope) is read
 * on (dropped, up to 64 MiB more) so the client sees the answer, then the connection is closed.
 */
export function serveImport(x: NdjsonExchange, limit: number, open: () => Promise<ImportSession>, answered: Answered): void {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let session: ImportSession | undefined;
  let refused: PermioError | undefined = x.contentLength > limit ? Errors.payloadTooLarge(limit) : undefined;
  let refusedAt = 0;
  let received = 0;
  let pending = '';
  let line = 0;
  let early: Buffer[] | undefined = []; // chunks that arrived before the session opened (copied: uWS reuses their memory)
  let ended = !x.hasBody; // the last chunk arrived (a request without a body has none)
  let paused = false;
  let answeredOnce = false;

  const answer = (err: unknown, result?: Answer) => {
    if (answeredOnce) return;
    answeredOnce = true;
    if (err !== undefined) {
      const sent = sendError(x.res, x, err, x.rateHeaders, !ended);
      return answered(sent.status, sent.body);
    }
    const json = JSON.stringify(result!.body);
    sendJson(x.res, x, 200, json, { ...x.rateHeaders, ...result!.headers });
    answered(200, json);
  };

  const refuse = (err: PermioError) => {
    if (refused !== undefined) return;
    refused = err;
    refusedAt = received;
    session?.abort(err);
    early = undefined;
    pending = '';
    resume();
  };

  /** Feeds the text of one chunk; every complete line goes to the session. */
  const feed = (bytes: Uint8Array, last: boolean) => {
    try {
      pending += decoder.decode(bytes, { stream: !last });
    } catch {
      return refuse(Errors.badRequest(`Invalid import: line ${line + 1}: not UTF-8`, [{ line: line + 1, reason: 'not UTF-8' }]));
    }
    let start = 0;
    try {
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
        session!.line(pending.slice(start, nl), ++line);
        start = nl + 1;
      }
      pending = start === 0 ? pending : pending.slice(start);
      if (last && pending !== '') session!.line(pending, ++line);
      else if (pending.length > 1024 * 1024) session!.line(pending, line + 1); // a line already over the limit: refused now
    } catch (err) {
      refuse(toPermioError(err));
    }
  };

  const afterChunk = () => {
    if (refused !== undefined) {
      if (ended || received > refusedAt + MAX_DISCARD_BYTES) answer(refused);
      return;
    }
    if (ended) {
      session!.finish().then(
        (result) => answer(undefined, result),
        (err: unknown) => answer(err),
      );
      return;
    }
    const wait = session!.ready();
    if (wait === undefined) return resume();
    pause();
    void wait.then(resume);
  };
  const pause = () => {
    if (paused || x.aborted) return;
    paused = true;
    x.res.pause();
  };
  const resume = () => {
    if (!paused || x.aborted) return;
    paused = false;
    x.res.resume();
  };

  x.onAbort = () => session?.abort(Errors.badRequest('Invalid import: the client went away'));
  if (x.hasBody) x.res.onData((chunk, isLast) => {
    if (answeredOnce) return;
    received += chunk.byteLength;
    ended = isLast;
    if (refused === undefined && received > limit) refuse(Errors.payloadTooLarge(limit));
    if (refused === undefined) {
      if (session === undefined) early!.push(Buffer.concat([Buffer.from(chunk)]));
      else feed(Buffer.from(chunk), isLast);
    }
    if (session !== undefined || refused !== undefined) afterChunk();
    else pause(); // until the session is open
  });

  open().then(
    (s) => {
      if (refused !== undefined || x.aborted) {
        s.abort(refused);
        resume();
        if (!x.aborted) afterChunk();
        return;
      }
      session = s;
      const chunks = early!;
      early = undefined;
      for (let i = 0; i < chunks.length && refused === undefined; i++) feed(chunks[i]!, ended && i === chunks.length - 1);
      if (chunks.length === 0 && ended && refused === undefined) feed(new Uint8Array(0), true);
      afterChunk();
    },
    (err: unknown) => {
      refuse(toPermioError(err));
      resume();
      if (!x.aborted) afterChunk();
    },
  );
}
