// A minimal RFC 6455 WebSocket client for the REST watch stream (Node 20 has no WebSocket without a flag): text in, text out.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 §1.3
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
/** Close code when the connection ended without a close frame (RFC 6455 §7.1.5). */
export const CLOSE_ABNORMAL = 1006;
/** Messages queued unread before the socket is paused, so a slow reader pushes back on the server. */
const HIGH_WATER_MESSAGES = 1024;

/** How the socket closed: the close frame's code and reason, or 1006 with the network error. */
export interface WebSocketClose {
  readonly code: number;
  readonly reason: string;
  readonly error?: Error;
}

/** An open WebSocket: iterate its text messages; the iteration ends when the socket closes (see {@link closed}). */
export interface WebSocketConnection extends AsyncIterable<string> {
  send(text: string): void;
  /** Sends a close frame (1000) and ends the socket. */
  close(): void;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<WebSocketClose>;
}

/** Opens `url` (`http:`/`https:`); rejects with the HTTP answer's status when the upgrade is refused, or the network error. */
export function openWebSocket(url: URL, headers: Record<string, string>): Promise<WebSocketConnection> {
  const key = crypto.randomBytes(16).toString('base64');
  const request = (url.protocol === 'https:' ? https : http).request(url, {
    headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': key },
  });
  return new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      res.resume();
      reject(Object.assign(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
    });
    request.on('upgrade', (res, socket, head) => {
      const expected = crypto.createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        return reject(new Error('WebSocket upgrade: bad Sec-WebSocket-Accept'));
      }
      resolve(new Connection(socket, head));
    });
    request.end();
  });
}

class Connection implements WebSocketConnection {
  readonly closed: Promise<WebSocketClose>;
  private buffer: Buffer;
  private fragments: Buffer[] = [];
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  private result: WebSocketClose | undefined;
  private settle!: (close: WebSocketClose) => void;
  private closeSent = false;

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
  ) {
    this.buffer = head;
    this.closed = new Promise((resolve) => (this.settle = resolve));
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', (error) => this.finish({ code: CLOSE_ABNORMAL, reason: '', error }));
    socket.on('close', () => this.finish({ code: CLOSE_ABNORMAL, reason: '', error: new Error('connection closed without a close frame') }));
    if (head.length > 0) queueMicrotask(() => this.parse());
  }

  send(text: string): void {
    this.write(OP_TEXT, Buffer.from(text, 'utf8'));
  }

  close(): void {
    if (!this.closeSent) {
      const code = Buffer.alloc(2);
      code.writeUInt16BE(1000);
      this.write(OP_CLOSE, code);
      this.closeSent = true;
    }
    this.socket.end();
    this.finish({ code: 1000, reason: '' });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    try {
      for (;;) {
        if (this.queue.length > 0) {
          const message = this.queue.shift()!;
          if (this.queue.length < HIGH_WATER_MESSAGES / 2) this.socket.resume();
          yield message;
        } else if (this.result !== undefined) return;
        else await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      if (this.result === undefined) this.close(); // the reader stopped early
    }
  }

  /** Client frames are masked (RFC 6455 §5.3). */
  private write(opcode: number, payload: Buffer): void {
    if (this.closeSent || this.socket.destroyed) return;
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const header = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
    header[0] = 0x80 | opcode;
    if (n < 126) header[1] = 0x80 | n;
    else if (n < 65_536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(n, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  private parse(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b[1]! & 0x80) !== 0;
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < length; i++) payload[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
      this.buffer = b.subarray(offset + length);
      this.frame((b[0]! & 0x80) !== 0, b[0]! & 0x0f, payload);
    }
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) return this.write(0xa, payload);
    if (opcode === OP_CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.write(OP_CLOSE, payload.subarray(0, 2));
      this.closeSent = true;
      this.socket.end();
      return this.finish({ code, reason: payload.subarray(2).toString('utf8') });
    }
    if (opcode !== OP_TEXT && opcode !== OP_CONTINUATION) return; // binary and pong frames carry nothing for us
    this.fragments.push(payload);
    if (!fin) return;
    this.queue.push(Buffer.concat(this.fragments).toString('utf8'));
    this.fragments = [];
    if (this.queue.length >= HIGH_WATER_MESSAGES) this.socket.pause();
    this.wake?.();
  }

  private finish(close: WebSocketClose): void {
    if (this.result !== undefined) return;
    this.result = close;
    this.settle(close);
    this.wake?.();
  }
}
