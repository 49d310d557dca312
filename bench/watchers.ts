// Watch clients for the bench: many WebSocket watchers that cost their process as little as possible (frames are
// counted from their headers, payloads skipped, so a thousand of them do not outweigh the server they measure), and
// a few that parse every message and note when each revision arrived (delivery latency).
import crypto from 'node:crypto';
import net from 'node:net';
import { openWebSocket } from '../src/client/websocket.js';

export interface WatchRequest {
  key: string;
  project: string;
}

/** Watchers whose messages are only counted. */
export interface CountingWatchers {
  /** Frames received by all of them so far. */
  frames(): number;
  close(): void;
}

/** A masked client text frame (RFC 6455 §5.3) of `text` (< 64 KiB). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]);
  for (let i = 0; i < n; i++) payload[i]! ^= mask[i & 3]!;
  return Buffer.concat([header, mask, payload]);
}

/** One watcher on a raw socket: upgrade, subscribe, then count frames; resolves once the first (live) frame came. */
function countingWatcher(host: string, port: number, r: WatchRequest, counter: { frames: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let upgraded = false;
    let pending: Buffer = Buffer.alloc(0); // bytes of an unfinished header
    let skip = 0; // payload bytes still to skip
    let first = true;
    socket.on('error', reject);
    socket.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      socket.write(
        `GET /v1/watch HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nAuthorization: Bearer ${r.key}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      let b: Buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      pending = Buffer.alloc(0);
      if (!upgraded) {
        const end = b.indexOf('\r\n\r\n');
        if (end < 0) return void (pending = b);
        if (!b.subarray(0, 12).toString().includes('101')) return reject(new Error(`upgrade refused: ${b.subarray(0, 80)}`));
        upgraded = true;
        socket.write(textFrame(JSON.stringify({ project_name: r.project })));
        b = b.subarray(end + 4);
      }
      let at = 0;
      while (at < b.length) {
        if (skip > 0) {
          const n = Math.min(skip, b.length - at);
          skip -= n;
          at += n;
          continue;
        }
        if (b.length - at < 2) break;
        let length = b[at + 1]! & 0x7f;
        let headerBytes = 2;
        if (length === 126) {
          if (b.length - at < 4) break;
          length = b.readUInt16BE(at + 2);
          headerBytes = 4;
        } else if (length === 127) {
          if (b.length - at < 10) break;
          length = Number(b.readBigUInt64BE(at + 2));
          headerBytes = 10;
        }
        if ((b[at]! & 0x0f) === 0x1) counter.frames++; // text frames (the server does not fragment)
        at += headerBytes;
        skip = length;
        if (first) {
          first = false;
          resolve(socket);
        }
      }
      if (at < b.length) pending = Buffer.from(b.subarray(at));
    });
  });
}

/** Opens `n` counting watchers on `url` (http://host:port), `opening` at a time; resolves once all are live. */
export async function openCountingWatchers(url: string, r: WatchRequest, n: number, opening = 50): Promise<CountingWatchers> {
  const { hostname, port } = new URL(url);
  const counter = { frames: 0 };
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += opening) {
    const batch = await Promise.all(Array.from({ length: Math.min(opening, n - i) }, () => countingWatcher(hostname, Number(port), r, counter)));
    sockets.push(...batch);
  }
  return { frames: () => counter.frames, close: () => sockets.forEach((s) => s.destroy()) };
}

/** Watchers that parse every message and record when each revision's message arrived (`performance.now()`). */
export interface TimingWatchers {
  /** Per watcher: revision token → arrival time. */
  readonly arrivals: Map<string, number>[];
  close(): void;
}

export async function openTimingWatchers(url: string, r: WatchRequest, n: number): Promise<TimingWatchers> {
  const arrivals: Map<string, number>[] = [];
  const closers: (() => void)[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      const ws = await openWebSocket(new URL(`${url}/v1/watch`), { authorization: `Bearer ${r.key}` });
      const seen = new Map<string, number>();
      arrivals.push(seen);
      closers.push(() => ws.close());
      ws.send(JSON.stringify({ project_name: r.project }));
      const live = new Promise<void>((resolve) => {
        void (async () => {
          for await (const text of ws) {
            const at = performance.now();
            const m = JSON.parse(text) as { revision: string; events: unknown[] };
            if (m.events.length === 0) resolve();
            else seen.set(m.revision, at);
          }
        })();
      });
      await live;
    }),
  );
  return { arrivals, close: () => closers.forEach((c) => c()) };
}
