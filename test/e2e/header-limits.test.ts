// Header limits (SPEC §13, README "HTTP limits"), measured with raw sockets: what uWS's parser accepts, what a client
// sees past it, and the 431 with the error shape where the server can still answer.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorBody } from '../helpers/expect-api.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let port: number;

beforeAll(async () => {
  server = await startServer();
  port = Number(new URL(server.httpUrl).port);
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
});

interface Outcome {
  /** `answered`: a full response came; `closed`: the server closed without one; `reset`: ECONNRESET. */
  how: 'answered' | 'closed' | 'reset' | 'timeout';
  ms: number;
  status?: number;
  body?: any;
}

/** Sends `head` (in `chunk`-byte pieces, 2 ms apart, when given) and reports what came back. */
function send(head: string, opts: { chunk?: number; waitMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    let got = '';
    let done = false;
    const socket = net.connect(port, '127.0.0.1', async () => {
      if (!opts.chunk) return void socket.write(head);
      for (let i = 0; i < head.length && !done; i += opts.chunk) {
        socket.write(head.slice(i, i + opts.chunk));
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    const finish = (how: Outcome['how']) => {
      if (done) return;
      done = true;
      socket.destroy();
      const [top, body] = [got.split('\r\n')[0]!, got.slice(got.indexOf('\r\n\r\n') + 4)];
      const status = /^HTTP\/1\.1 (\d{3})/.exec(top)?.[1];
      resolve({ how, ms: Date.now() - started, ...(status ? { status: Number(status), body: body.startsWith('{') ? JSON.parse(body) : body } : {}) });
    };
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(got)?.[1];
      if (end >= 0 && length !== undefined && got.length >= end + 4 + Number(length)) finish('answered');
    });
    socket.on('error', (e) => finish((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? 'reset' : 'closed'));
    socket.on('close', () => finish('closed'));
    setTimeout(() => finish('timeout'), opts.waitMs ?? 15_000);
  });
}

const request = (headers: string, target = '/healthz') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
const fields = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');

describe('HTTP head limits', () => {
  it('48 header fields are answered; the 49th: no answer, the connection closed by the idle timeout', async () => {
    expect(await send(request(fields(47)))).toMatchObject({ how: 'answered', status: 200 }); // + Host = 48
    const past = await send(request(fields(48)));
    expect(past.how).toBe('closed');
    expect(past.status).toBeUndefined();
    expect(past.ms).toBeGreaterThan(8_000); // uWS's 10 s idle timeout, not at once
  }, 30_000);

  it('a head arriving in pieces: 4 KiB is answered, one byte more and the connection is closed at once', async () => {
    const value = (total: number) => request(`x-big: ${'a'.repeat(total - request('x-big: \r\n').length)}\r\n`);
    expect(value(4096).length).toBe(4096);
    expect(await send(value(4096), { chunk: 512 })).toMatchObject({ how: 'answered', status: 200 });
    const past = await send(value(4097), { chunk: 512 });
    expect(past.how).toBe('closed');
    expect(past.status).toBeUndefined();
    expect(past.ms).toBeLessThan(5_000);
  });

  it('a request line over 16 KiB is answered 431 with the error shape', async () => {
    expect(await send(request('', `/healthz?x=${'q'.repeat(16_000)}`))).toMatchObject({ how: 'answered', status: 200 });
    const past = await send(request('', `/v1/check?x=${'q'.repeat(17_000)}`));
    expect(past).toMatchObject({ how: 'answered', status: 431 });
    expectErrorBody(past.body, 431, ['request line', '16384'], JSON.stringify(past.body));
  });

  it('a 1 MiB header: the connection ends without an answer, and the server keeps serving', async () => {
    const past = await send(request(`x-big: ${'a'.repeat(1 << 20)}\r\n`));
    expect(['reset', 'closed']).toContain(past.how);
    expect(past.status).toBeUndefined();
    expect(await send(request(''))).toMatchObject({ how: 'answered', status: 200 });
  });
});
