// gRPC load process (forked by grpc.bench.ts): keeps `inflight` unary calls open on each of `channels` connections,
// sending one pre-encoded request (no per-call protobuf work on this side), and reports counts and latencies.
// Two clients: a minimal gRPC-over-node:http2 one (default: ~3× less CPU per call than grpc-js, so the load generator
// leaves the server its share of this small box) and @grpc/grpc-js itself (`--grpc-client=grpc-js`) to cross-check.
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { LatencyHistogram } from './latency.js';

/** What the parent sends to start a run. */
export interface GrpcLoadJob {
  target: string; // host:port
  method: string; // e.g. /permio.v1.PermissionsService/Check
  request: string; // the encoded request message, base64
  authorization?: string;
  channels: number;
  inflight: number;
  client: 'http2' | 'grpc-js';
}

/** What this process sends back once measured. */
export interface GrpcLoadReport {
  calls: number;
  errors: number;
  firstError?: string;
  latency: [number, number][];
  /** One response as received, base64: the parent decodes it to check the answer. */
  sample: string;
  /** CPU time this process used while measuring, in seconds. */
  cpuSeconds: number;
  elapsedMs: number;
}

type Msg = { type: 'job'; job: GrpcLoadJob } | { type: 'go'; durationMs: number };

type Done = (error: string | undefined, response: Buffer | undefined) => void;

/** One connection able to send the job's call: `send(done)` starts a call, `close()` ends the connection. */
interface Channel {
  send(done: Done): void;
  close(): void;
}

const identity = (b: Buffer) => b;

function grpcJsChannel(job: GrpcLoadJob, request: Buffer): Channel {
  const metadata = new grpc.Metadata(); // grpc-js clones it per call, so one is enough
  if (job.authorization !== undefined) metadata.set('authorization', job.authorization);
  // A local subchannel pool: each client is its own HTTP/2 connection.
  const client = new grpc.Client(job.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  return {
    send: (done) =>
      client.makeUnaryRequest(job.method, identity, identity, request, metadata, (err, response?: Buffer) =>
        done(err ? `${err.code} ${err.details}` : undefined, response),
      ),
    close: () => client.close(),
  };
}

/** gRPC unary over node:http2: one length-prefixed message out, the reply's data and `grpc-status` trailer in. */
function http2Channel(job: GrpcLoadJob, request: Buffer): Channel {
  const session = http2.connect(`http://${job.target}`);
  session.on('error', (err) => console.error('grpc-load: session error', err));
  const frame = Buffer.alloc(5 + request.length); // [0 = not compressed][uint32 length][message]
  frame.writeUInt32BE(request.length, 1);
  request.copy(frame, 5);
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': job.method,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(job.authorization === undefined ? {} : { authorization: job.authorization }),
  };
  return {
    send(done) {
      const stream = session.request(headers);
      let status: string | undefined;
      let message = '';
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = h['grpc-status'] as string | undefined; // trailers-only answer (errors)
        message = (h['grpc-message'] as string | undefined) ?? '';
      });
      stream.on('trailers', (t) => {
        status = t['grpc-status'] as string | undefined;
        message = (t['grpc-message'] as string | undefined) ?? '';
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('close', () => {
        if (status !== '0') return done(`${status ?? 'no status'} ${decodeURIComponent(message)}`, undefined);
        done(undefined, Buffer.concat(chunks).subarray(5));
      });
      stream.end(frame);
    },
    close: () => session.close(),
  };
}

function start(job: GrpcLoadJob): void {
  const request = Buffer.from(job.request, 'base64');
  const open = job.client === 'grpc-js' ? grpcJsChannel : http2Channel;
  const clients = Array.from({ length: job.channels }, () => open(job, request));

  let measuring = false;
  let stopping = false;
  let stopAt = 0;
  let measureStart = 0;
  let cpuStart = process.cpuUsage();
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let sample = '';
  let inFlight = 0;
  const latency = new LatencyHistogram();

  const call = (client: Channel): void => {
    const sentAt = performance.now();
    inFlight++;
    client.send((err, response) => {
      inFlight--;
      const now = performance.now();
      if (measuring && now >= stopAt) stop(now);
      if (err !== undefined) {
        errors++;
        firstError ??= err;
      } else if (measuring) {
        calls++;
        latency.record(now - sentAt);
      }
      if (sample === '' && response) sample = response.toString('base64');
      if (!stopping) call(client);
      else if (inFlight === 0) finish();
    });
  };

  let elapsedMs = 0;
  let cpuSeconds = 0;
  const stop = (now: number) => {
    measuring = false;
    stopping = true;
    elapsedMs = now - measureStart;
    const cpu = process.cpuUsage(cpuStart);
    cpuSeconds = (cpu.user + cpu.system) / 1e6;
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const report: GrpcLoadReport = { calls, errors, firstError, latency: latency.toSparse(), sample, cpuSeconds, elapsedMs };
    for (const c of clients) c.close();
    process.send!(report, () => process.exit(0));
  };

  // Warm up (connections, JIT) until the parent says go; it waits for every load process to be ready.
  for (const client of clients) for (let i = 0; i < job.inflight; i++) call(client);
  setTimeout(() => process.send!('ready'), 0);
  process.on('message', (msg: Msg) => {
    if (msg.type !== 'go') return;
    calls = 0;
    errors = 0;
    latency.counts.fill(0);
    latency.total = 0;
    measureStart = performance.now();
    stopAt = measureStart + msg.durationMs;
    cpuStart = process.cpuUsage();
    measuring = true;
    // Stops even if no call completes (a stalled server): report what was counted.
    setTimeout(() => {
      if (!measuring) return;
      stop(performance.now());
      setTimeout(finish, 1000);
    }, msg.durationMs + 1000);
  });
}

process.once('message', (msg: Msg) => {
  if (msg.type === 'job') start(msg.job);
});
