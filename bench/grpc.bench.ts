// gRPC load test: Check (1×1, 1×100×2, 10×10) on Permio and, in the same run with the same client settings, a bare
// grpc-js server answering a fixed message (hello-grpc.ts). The load comes from forked processes (grpc-load.ts).
import { fork } from 'node:child_process';
import path from 'node:path';
import { serviceDefinition } from '../src/api/grpc/proto.js';
import type { GrpcLoadJob, GrpcLoadReport } from './grpc-load.js';
import { LatencyHistogram } from './latency.js';
import { cpuMeter, DIST, startPermio, startProcess, type Proc } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms, pct } from './table.js';

/** Shape of the load: `processes` forked clients × `channels` HTTP/2 connections × `inflight` calls each. */
export interface GrpcLoadSettings {
  durationSec: number;
  processes: number;
  channels: number;
  inflight: number;
  client: 'http2' | 'grpc-js';
  workers: number;
}

export interface GrpcRow {
  scenario: string;
  callsPerSec: number;
  pairs: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU cores busy in the server process (all threads), in the load processes together, and on the whole machine. */
  serverCores: number;
  loadCores: number;
  boxCores: number;
  baselineRatio?: number;
  /** Calls/s of the bare server given this scenario's own request (undefined for 1×1: the 1×1 baseline is that). */
  sameRequestBaseline?: number;
  /** Against {@link sameRequestBaseline} (for 1×1, against the 1×1 baseline). */
  sameRequestRatio?: number;
}

const WARMUP_MS = 1500; // connections up and JIT warm before counting
const CHECK = serviceDefinition('PermissionsService').Check!;

interface Measured {
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCores: number;
  loadCores: number;
  boxCores: number;
  sample: { passed: boolean; missing_permissions: unknown[] };
}

/** Runs one figure: forks the load processes, warms up, measures all of them over the same window, sums. */
export async function measureGrpc(
  target: string,
  serverPid: number,
  request: object,
  authorization: string | undefined,
  s: GrpcLoadSettings,
): Promise<Measured> {
  const job: GrpcLoadJob = {
    target,
    method: CHECK.path,
    request: (CHECK.requestSerialize(request) as Buffer).toString('base64'),
    authorization,
    channels: s.channels,
    inflight: s.inflight,
    client: s.client,
  };
  const children = Array.from({ length: s.processes }, () =>
    fork(path.join(DIST, 'bench/grpc-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const ready = children.map((c) => new Promise<void>((resolve) => c.once('message', () => resolve())));
  const reports = children.map(
    (c) =>
      new Promise<GrpcLoadReport>((resolve, reject) => {
        c.on('message', (m) => typeof m === 'object' && resolve(m as GrpcLoadReport));
        c.once('exit', (code) => code !== 0 && reject(new Error(`grpc-load exited (${code})`)));
      }),
  );
  for (const c of children) c.send({ type: 'job', job });
  await Promise.all(ready);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const stopMeter = cpuMeter(serverPid);
  for (const c of children) c.send({ type: 'go', durationMs: s.durationSec * 1000 });
  const done = await Promise.all(reports);
  const cpu = stopMeter();

  const latency = new LatencyHistogram();
  let callsPerSec = 0;
  let loadCpu = 0;
  for (const r of done) {
    if (r.errors) throw new Error(`${target}: ${r.errors} failed calls, first: ${r.firstError}`);
    latency.addSparse(r.latency);
    callsPerSec += r.calls / (r.elapsedMs / 1000);
    loadCpu += r.cpuSeconds;
  }
  const elapsedSec = Math.max(...done.map((r) => r.elapsedMs)) / 1000;
  return {
    callsPerSec,
    p50Ms: latency.percentile(0.5),
    p99Ms: latency.percentile(0.99),
    serverCores: cpu.serverCores,
    loadCores: loadCpu / elapsedSec,
    boxCores: cpu.boxCores,
    sample: CHECK.responseDeserialize(Buffer.from(done[0]!.sample, 'base64')) as Measured['sample'],
  };
}

/** One principal (a CheckRequest has one) × `uris` resources × `perms` permissions; every pair passes. */
/** Every fifth URI outside the principal's grants when `missing`: a long answer listing 80 resources. */
function checkRequest(ds: Dataset, uris: number, perms: number, missing = false) {
  return {
    project_name: ds.project,
    principal_id: ds.principal,
    resource_uris: missing ? ds.uris.slice(0, uris).map((u, k) => (k % 5 === 0 ? u : `/elsewhere${u}`)) : ds.uris.slice(0, uris),
    permissions: ds.permissions.slice(0, perms),
  };
}

/** Name, URIs, permissions, whether most pairs miss: one principal × URIs × permissions per call. */
const SCENARIOS = [
  ['gRPC check 1×1', 1, 1, false],
  ['gRPC check 1×100×2', 100, 2, false],
  ['gRPC check 1×100×2, 80 URIs missing', 100, 2, true],
  ['gRPC check 10×10', 10, 10, false],
] as const;

/** Measures one scenario's Check load on a Permio server seeded with `ds`; the answer must be as expected. */
async function measureScenario(server: Proc, ds: Dataset, nUris: number, nPerms: number, missing: boolean, s: GrpcLoadSettings, name: string) {
  const request = checkRequest(ds, nUris, nPerms, missing);
  const { sample, ...m } = await measureGrpc(`127.0.0.1:${server.ports.grpc_port}`, server.child.pid!, request, `Bearer ${ds.key}`, s);
  const expected = missing ? nUris - Math.ceil(nUris / 5) : 0;
  if (sample.missing_permissions.length !== expected) throw new Error(`${name}: expected ${expected} resources missing, got ${JSON.stringify(sample)}`);
  return m;
}

/** The gRPC scenarios; every ratio is against the bare grpc-js server measured in this run with the same load. */
export async function runGrpcBench(s: GrpcLoadSettings): Promise<GrpcRow[]> {
  const rows: GrpcRow[] = [];
  const hello = await startProcess('bench/hello-grpc.js');
  const permio = await startPermio(s.workers);
  try {
    const ds = await seedDataset(`http://127.0.0.1:${permio.ports.http_port}`, permio.adminKey);
    const auth = `Bearer ${ds.key}`;
    const small = checkRequest(ds, 1, 1);

    // Two baselines, both the bare grpc-js server with the same client settings: its answer to the 1×1 request,
    // measured before and after the scenarios (the box is shared: rates drift; ratios use the mean), and its answer
    // to each scenario's own request (same bytes decoded by the same protobufjs definition, no work).
    const helloTarget = `127.0.0.1:${hello.ports.grpc_port}`;
    const { sample: _b, ...before } = await measureGrpc(helloTarget, hello.child.pid!, small, auth, s);
    const scenarios: GrpcRow[] = [];
    for (const [name, nUris, nPerms, missing] of SCENARIOS) {
      const r = await measureScenario(permio, ds, nUris, nPerms, missing, s, name);
      const same = nUris * nPerms === 1 ? undefined : (await measureGrpc(helloTarget, hello.child.pid!, checkRequest(ds, nUris, nPerms, missing), auth, s)).callsPerSec;
      scenarios.push({ scenario: name, pairs: nUris * nPerms, ...r, sameRequestBaseline: same });
    }
    const { sample: _a, ...after } = await measureGrpc(helloTarget, hello.child.pid!, small, auth, s);
    const baseline = (before.callsPerSec + after.callsPerSec) / 2;
    rows.push({ scenario: 'bare grpc-js hello (baseline, before)', pairs: 0, ...before });
    rows.push({ scenario: 'bare grpc-js hello (baseline, after)', pairs: 0, ...after });
    for (const r of scenarios) {
      rows.push({ ...r, baselineRatio: r.callsPerSec / baseline, sameRequestRatio: r.callsPerSec / (r.sameRequestBaseline ?? baseline) });
    }
    // The load repeats one request, so the rows above are answered from the main thread's cache after the first
    // call. The same loads on a server with the cache off: every call goes to its worker.
    const uncached = await startPermio(s.workers, { env: { PERMIO_CHECK_CACHE_MB: '0' } });
    try {
      const ds2 = await seedDataset(`http://127.0.0.1:${uncached.ports.http_port}`, uncached.adminKey);
      for (const [i, [name, nUris, nPerms, missing]] of SCENARIOS.entries()) {
        const r = scenarios[i]!;
        const m = await measureScenario(uncached, ds2, nUris, nPerms, missing, s, `${name}, cache off`);
        const same = r.sameRequestBaseline ?? baseline;
        rows.push({ scenario: `${r.scenario}, answer cache off`, pairs: r.pairs, ...m, baselineRatio: m.callsPerSec / baseline, sameRequestBaseline: r.sameRequestBaseline, sameRequestRatio: m.callsPerSec / same });
      }
    } finally {
      await uncached.stop();
    }
  } finally {
    await permio.stop();
    await hello.stop();
  }
  return rows;
}

export function formatGrpcRows(rows: readonly GrpcRow[]): string {
  return markdownTable(
    ['scenario', 'calls/s', 'pairs/s', 'p50 ms', 'p99 ms', 'server CPU (cores)', 'load-gen CPU (cores)', 'whole box busy (cores)', 'vs 1×1 baseline (mean)', 'bare grpc-js, same request', 'vs same request'],
    'lrrrrrrrrrr',
    rows.map((r) => [
      r.scenario,
      int(r.callsPerSec),
      r.pairs ? int(r.callsPerSec * r.pairs) : '',
      ms(r.p50Ms),
      ms(r.p99Ms),
      r.serverCores.toFixed(2),
      r.loadCores.toFixed(2),
      r.boxCores.toFixed(2),
      r.baselineRatio === undefined ? '' : pct(r.baselineRatio),
      r.sameRequestBaseline === undefined ? '' : int(r.sameRequestBaseline),
      r.sameRequestRatio === undefined ? '' : pct(r.sameRequestRatio),
    ]),
  );
}
