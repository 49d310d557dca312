// The open-loop load generator of the latency section, run as its own process (`forkLoad`), never beside the server
// on one event loop. A closed-loop tool (autocannon) sends a connection's next request only when the previous answer
// is back, so a stalled server delays the requests behind the stall and they are never counted late (coordinated
// omission). Here request n is due at T0 + n / rate whatever happened before, and its latency runs from that
// intended moment to the end of its answer: waiting for a free connection, or for this process, counts against it.
//
// Client: `connections` keep-alive TCP connections (node:net, no Nagle), primed with 3,000 unrecorded requests; one
// request at a time per connection; request n carries bodies[n % bodies.length], its bytes built once. A request that
// falls due while every connection is busy waits in a FIFO for the first to free up (counted as `queued`). Pacing:
// Node's timers have 1 ms resolution, so a ticker thread sleeps with Atomics.wait (sub-millisecond timeout) until the
// next due time and posts to the main thread, which issues everything due; answers also issue what fell due meanwhile.
// Closed mode (`rate` 0) keeps every connection busy instead: the peak the paced run's rate is derived from.
import net from 'node:net';
import { fork } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DIST } from './processes.js';
import { LatencyHistogram } from './latency.js';

export interface LoadSpec {
  port: number;
  path: string;
  headers: Record<string, string>;
  bodies: readonly string[];
  connections: number;
  /** Requests per second, evenly paced; 0 = closed loop (each connection sends its next request on an answer). */
  rate: number;
  durationSec: number;
  /** Timeline window in ms (max latency per window). */
  windowMs: number;
}

export interface LoadResult {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  /** 2xx answers per second over the schedule (closed mode: the peak). */
  answeredPerSec: number;
  /** Latency from intended send time (closed mode: from the write), sparse histogram pairs. */
  latency: [number, number][];
  /** How late this process noticed a request was due (its own lateness), sparse histogram pairs. */
  sendLag: [number, number][];
  /** Requests that found every connection busy (the server is behind, not this process). */
  queued: number;
  maxQueue: number;
  /** Per window: max latency in ms of the answers that ended in it (0 = none ended). */
  timeline: number[];
  /** CPU cores this process used over the run. */
  cores: number;
  /** The wall-clock time (epoch ms) of T0, the start of the first timeline window. */
  t0Epoch: number;
}

/** Runs one load in a forked process; resolves with its result. */
export function forkLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(path.join(DIST, 'bench/latency-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('exit', (code) => code !== 0 && reject(new Error(`latency-load exited (${code})`)));
    child.send(spec);
  });
}

/** Lines of an HTTP/1.1 answer head we need: the status, and how the body is framed (uWS and Permio send Content-Length). */
function parseHead(head: string): { status: number; length: number } {
  const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (m === null) throw new Error(`answer without Content-Length: ${JSON.stringify(head.slice(0, 80))}`);
  return { status: Number(head.slice(9, 12)), length: Number(m[1]) };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const PRIMING = 3000;

class Connection {
  busy = false;
  recorded = false;
  intended = 0;
  private pending: Buffer | null = null;
  private bodyLeft = -1; // -1: reading a head
  private status = 0;
  readonly socket: net.Socket;

  constructor(port: number, private readonly done: (c: Connection, status: number) => void) {
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (d) => this.onData(d));
  }

  send(bytes: Buffer, intended: number, recorded: boolean): void {
    this.busy = true;
    this.intended = intended;
    this.recorded = recorded;
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    let b = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let off = 0;
    while (off < b.length) {
      if (this.bodyLeft < 0) {
        const end = b.indexOf(CRLFCRLF, off);
        if (end < 0) {
          this.pending = b.subarray(off);
          return;
        }
        const head = parseHead(b.toString('latin1', off, end));
        this.status = head.status;
        this.bodyLeft = head.length;
        off = end + 4;
      }
      const take = Math.min(this.bodyLeft, b.length - off);
      off += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) {
        this.bodyLeft = -1;
        this.busy = false;
        this.done(this, this.status);
      }
    }
  }
}

/** Sleeps until due[0] (ms since hr0), posts, and waits for the main thread to bump ctl[0]; ctl[1] = 1 stops it. */
const TICKER = `
const { workerData, parentPort } = require('node:worker_threads');
const ctl = new Int32Array(workerData.sab, 0, 2), due = new Float64Array(workerData.sab, 8, 1), hr0 = workerData.hr0;
for (;;) {
  const seq = Atomics.load(ctl, 0);
  if (Atomics.load(ctl, 1)) break;
  const d = due[0];
  if (!(d >= 0)) { Atomics.wait(ctl, 0, seq); continue; }
  const t = Number(process.hrtime.bigint() - hr0) / 1e6;
  if (t < d) { Atomics.wait(ctl, 0, seq, d - t); continue; }
  parentPort.postMessage(0);
  Atomics.wait(ctl, 0, seq);
}`;

async function run(spec: LoadSpec): Promise<LoadResult> {
  const hr0 = process.hrtime.bigint();
  const offset = performance.now() - Number(process.hrtime.bigint() - hr0) / 1e6;
  const now = () => performance.now() - offset; // ms on the ticker's clock
  const head = `POST ${spec.path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${Object.entries(spec.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}`;
  const requests = spec.bodies.map((b) => {
    const body = Buffer.from(b);
    return Buffer.concat([Buffer.from(`${head}content-length: ${body.length}\r\n\r\n`, 'latin1'), body]);
  });

  const latency = new LatencyHistogram();
  const sendLag = new LatencyHistogram();
  const timeline: number[] = [];
  const closed = spec.rate === 0;
  const interval = closed ? 0 : 1000 / spec.rate;
  const total = closed ? Infinity : Math.round(spec.rate * spec.durationSec);
  let t0 = 0;
  let endAt = Infinity; // closed mode: the end of the run
  let recording = false;
  let sent = 0; // requests issued (paced: due and handed to a connection)
  let due = 0; // paced: requests [0, due) have fallen due
  let ok = 0;
  let errors = 0;
  let queued = 0;
  let maxQueue = 0;
  let lastAnswer = 0;
  const free: Connection[] = [];
  let onIdle: (() => void) | null = null;
  let inFlight = 0;

  const sab = new SharedArrayBuffer(16);
  const ctl = new Int32Array(sab, 0, 2);
  const dueAt = new Float64Array(sab, 8, 1);
  dueAt[0] = -1;

  const issue = (c: Connection, n: number, intended: number) => {
    inFlight++;
    c.send(requests[n % requests.length]!, intended, recording);
  };

  let priming = 0; // unrecorded requests still to send before the run (warms this process's code paths)
  const onAnswer = (c: Connection, status: number) => {
    const t = now();
    inFlight--;
    if (priming > 0) {
      priming--;
      issue(c, 0, 0);
      return;
    }
    if (c.recorded) {
      if (status >= 200 && status < 300) {
        ok++;
        const ms = t - c.intended;
        latency.record(ms);
        const w = Math.floor((t - t0) / spec.windowMs);
        if (w >= 0) {
          while (timeline.length <= w) timeline.push(0);
          if (ms > timeline[w]!) timeline[w] = ms;
        }
        lastAnswer = t;
      } else errors++;
    }
    if (closed) {
      if (recording && t < endAt) {
        issue(c, sent++, now());
        return;
      }
    } else if (recording) {
      if (dueAt[0]! >= 0 && dueAt[0]! <= t) markDue(t);
      if (sent < due) {
        queued++;
        issue(c, sent, t0 + sent * interval);
        sent++;
        return;
      }
    }
    free.push(c);
    if (onIdle !== null && inFlight === 0) onIdle();
  };

  /** Everything due by t: issued on a free connection, or left queued. */
  const markDue = (t: number) => {
    while (due < total) {
      const intended = t0 + due * interval;
      if (intended > t) break;
      sendLag.record(t - intended);
      due++;
    }
    while (sent < due && free.length > 0) {
      issue(free.shift()!, sent, t0 + sent * interval);
      sent++;
    }
    if (due - sent > maxQueue) maxQueue = due - sent;
    dueAt[0] = due < total ? t0 + due * interval : -1;
  };

  const connections = Array.from({ length: spec.connections }, () => new Connection(spec.port, onAnswer));
  await Promise.all(connections.map((c) => new Promise((r, j) => c.socket.once('connect', r).once('error', j))));
  for (const c of connections) c.socket.on('error', () => errors++);
  // PRIMING unrecorded requests of the first body, closed loop over every connection: the run starts with this
  // process's code compiled (else its first 100 ms windows measure the generator's warm-up, not the server)
  priming = Math.max(0, PRIMING - spec.connections);
  await new Promise<void>((r) => {
    onIdle = r;
    connections.forEach((c, i) => issue(c, i, 0));
  });
  onIdle = null;

  const cpu = process.cpuUsage();
  recording = true;
  t0 = now() + 2;
  const t0Epoch = Date.now() + 2;
  if (closed) {
    endAt = t0 + spec.durationSec * 1000;
    await new Promise((r) => setTimeout(r, 2));
    while (free.length > 0) issue(free.shift()!, sent++, now());
    await new Promise((r) => setTimeout(r, spec.durationSec * 1000 + 5));
  } else {
    const ticker = new Worker(TICKER, { eval: true, workerData: { sab, hr0 } });
    await new Promise((r) => ticker.once('online', r));
    ticker.on('message', () => {
      markDue(now());
      Atomics.add(ctl, 0, 1);
      Atomics.notify(ctl, 0);
    });
    dueAt[0] = t0;
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    while (due < total) await new Promise((r) => setTimeout(r, 50));
    Atomics.store(ctl, 1, 1);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await ticker.terminate();
  }
  const used = process.cpuUsage(cpu);
  // the last answers, queued requests included (bounded: a stuck server fails the run rather than hanging it)
  if (inFlight > 0) {
    await new Promise<void>((r, j) => {
      const timer = setTimeout(() => j(new Error(`${inFlight + due - sent} answers missing 10 s after the last request was due`)), 10_000);
      onIdle = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  recording = false;
  for (const c of connections) c.socket.destroy();
  const spanMs = closed ? spec.durationSec * 1000 : Math.max(1, lastAnswer - t0);
  return {
    rate: spec.rate,
    sent,
    ok,
    errors,
    answeredPerSec: (ok / spanMs) * 1000,
    latency: latency.toSparse(),
    sendLag: sendLag.toSparse(),
    queued,
    maxQueue,
    timeline,
    cores: (used.user + used.system) / 1000 / (spec.durationSec * 1000),
    t0Epoch,
  };
}

if (process.send !== undefined && process.argv[1] === path.join(DIST, 'bench/latency-load.js')) {
  process.once('message', async (spec: LoadSpec) => {
    try {
      const result = await run(spec);
      process.send!(result, () => process.exit(0));
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  });
}
