// Watch over REST (SPEC §7): the WebSocket at `GET /v1/watch` on the uWS app. The upgrade is always accepted; the
// first text message is the request (with an `authorization` member for browsers, else the upgrade's header), every
// server message one JSON text; an error is one §5 error object, then close 1013 (slow consumer), 1008 (4xx) or 1011.
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { Errors, PermioError, toPermioError } from '../../errors.js';
import { observeRequest } from '../../metrics.js';
import type { Caller } from '../../service/caller.js';
import type { Input } from '../../service/validate.js';
import type { Subscription, WatchMessage, WatchSink } from '../../service/watch-hub.js';
import { MAX_BODY_BYTES } from '../operations.js';
import type { ServiceLike } from '../service-port.js';
import { parseJsonObject } from './body.js';
import { errorBody } from './reply.js';

/** RFC 6455 close codes. */
const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008; // a 4xx error
const CLOSE_INTERNAL = 1011; // a 5xx error
const CLOSE_TRY_AGAIN_LATER = 1013; // the slow-consumer cut-off
/** The request must arrive this soon after the upgrade. */
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000;
/** Frames up to this size reach the handler (a bigger first message gets a 413); uWS closes on anything larger. */
const MAX_FRAME_BYTES = 16 * MAX_BODY_BYTES;
/** Seconds without traffic before uWS pings the peer, and closes it when no pong comes. */
const IDLE_TIMEOUT_S = 120;
/**
 * After an error, the close waits until the peer has read what was sent before it (uWS cuts a closing socket within
 * seconds, and a slow consumer would never see why), at most this long.
 */
const CLOSE_AFTER_DRAIN_MAX_MS = 30_000;

interface SocketData {
  /** The upgrade request's `Authorization` header ('' when absent). */
  readonly authorization: string;
  readonly startedAt: number;
  state: 'waiting' | 'opening' | 'open' | 'closed';
  subscription: Subscription | undefined;
  /** The first-message deadline, then the close-after-drain deadline. */
  timer: NodeJS.Timeout | undefined;
  /** The close code to send once the backlog drained (after an error). */
  closeCode: number | undefined;
}

type Socket = WebSocket<SocketData>;

/** The hub's view of one socket; nothing is written once the socket closed (uWS forbids touching it then). */
class SocketSink implements WatchSink {
  constructor(private readonly ws: Socket) {}

  private get open(): boolean {
    return this.ws.getUserData().state !== 'closed';
  }

  backlog(): number {
    return this.open ? this.ws.getBufferedAmount() : 0;
  }

  send(messages: readonly WatchMessage[]): void {
    if (!this.open) return;
    this.ws.cork(() => {
      for (let i = 0; i < messages.length; i++) this.ws.send(messages[i]!.text(), false);
    });
  }

  fail(err: PermioError, slow: boolean): void {
    const data = this.ws.getUserData();
    if (!this.open || data.closeCode !== undefined) return;
    const code = slow ? CLOSE_TRY_AGAIN_LATER : err.status >= 500 ? CLOSE_INTERNAL : CLOSE_POLICY;
    this.ws.send(errorBody(err), false);
    data.closeCode = code;
    if (this.ws.getBufferedAmount() === 0) return this.ws.end(code);
    clearTimeout(data.timer);
    data.timer = setTimeout(() => this.open && this.ws.end(code), CLOSE_AFTER_DRAIN_MAX_MS); // else on `drain`
  }

  end(): void {
    if (this.open) this.ws.end(CLOSE_NORMAL);
  }
}

/** The `ws('/v1/watch', …)` behaviour of the REST app. */
export function watchSocket(service: ServiceLike): WebSocketBehavior<SocketData> {
  const fail = (ws: Socket, err: unknown, input?: Input, caller?: Caller) => {
    const e = toPermioError(err);
    new SocketSink(ws).fail(e, false);
    record(ws.getUserData(), e.status, errorBody(e), input, caller);
  };

  const record = (data: SocketData, status: number, response: string, input: Input | undefined, caller: Caller | undefined) => {
    observeRequest('rest', 'Watch', status, data.startedAt);
    if (caller === undefined) return;
    const latencyMs = performance.now() - data.startedAt;
    service.recordCall?.({ transport: 'rest', rpc: 'Watch', route: 'GET /v1/watch', caller, input: input ?? {}, status, latencyMs, response, sampled: false });
  };

  /** The first message: authenticate (SPEC §5 order: 401 before 400), admit, then subscribe. */
  const subscribe = (ws: Socket, bytes: Buffer, isBinary: boolean) => {
    const data = ws.getUserData();
    let input: Input | undefined;
    let malformed: PermioError | undefined;
    try {
      if (bytes.length > MAX_BODY_BYTES) throw Errors.payloadTooLarge(MAX_BODY_BYTES);
      if (isBinary) throw Errors.badRequest('Invalid request: the subscription must be a JSON text message');
      input = parseJsonObject(bytes);
    } catch (err) {
      malformed = toPermioError(err);
    }
    const member = input?.authorization;
    if (input !== undefined) {
      const { authorization: _, ...rest } = input; // the key never reaches the service input or the call log
      input = rest;
    }
    const authorization = member !== undefined ? (typeof member === 'string' ? member : undefined) : data.authorization || undefined;
    const admitted = (caller: Caller) => {
      if (data.state === 'closed') return;
      try {
        service.admit(caller);
        if (malformed !== undefined) throw malformed;
        if (service.watch === undefined) throw Errors.routeNotFound('/v1/watch');
      } catch (err) {
        return fail(ws, err, input, caller);
      }
      service.watch(caller, input!, new SocketSink(ws)).then(
        (subscription) => {
          if (data.state === 'closed') return subscription.close();
          data.state = 'open';
          data.subscription = subscription;
          record(data, 200, '{}', input, caller);
        },
        (err) => {
          if (data.state !== 'closed') fail(ws, err, input, caller);
        },
      );
    };
    let caller: Caller;
    try {
      caller = service.authenticate(authorization);
    } catch (err) {
      const late = service.authenticateLate?.(authorization, err);
      if (late === undefined) return fail(ws, err);
      late.then(admitted, (e) => data.state !== 'closed' && fail(ws, e));
      return;
    }
    admitted(caller);
  };

  return {
    maxPayloadLength: MAX_FRAME_BYTES,
    maxBackpressure: 0, // no uWS limit (it would drop messages silently): the hub cuts slow watchers off itself
    idleTimeout: IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const data: SocketData = {
        authorization: req.getHeader('authorization'),
        startedAt: performance.now(),
        state: 'waiting',
        subscription: undefined,
        timer: undefined,
        closeCode: undefined,
      };
      res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      data.timer = setTimeout(() => {
        if (data.state !== 'waiting') return;
        data.state = 'opening';
        fail(ws, Errors.badRequest(`Invalid request: no subscription message within ${FIRST_MESSAGE_TIMEOUT_MS / 1000} s of the upgrade`));
      }, FIRST_MESSAGE_TIMEOUT_MS);
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (data.state !== 'waiting') return; // one request per socket; later messages are ignored
      data.state = 'opening';
      clearTimeout(data.timer);
      subscribe(ws, Buffer.from(message), isBinary); // copied: uWS reuses the ArrayBuffer after this callback
    },
    drain: (ws) => {
      const data = ws.getUserData();
      if (data.closeCode === undefined) data.subscription?.drained();
      else if (ws.getBufferedAmount() === 0) ws.end(data.closeCode); // the error was read: close now
    },
    close: (ws) => {
      const data = ws.getUserData();
      data.state = 'closed';
      clearTimeout(data.timer);
      data.subscription?.close();
    },
  };
}
