// Latency at half load, open loop (`--only=latency`): 20,000 distinct single-check bodies, Permio's closed-loop peak
// on them measured first, then evenly paced requests at half that rate (latency from each request's intended send
// time) against Permio with its answer cache off, with it on (another build's too, `--against`), and a bare uWS
// server with a fixed answer at the same rate, in rotated rounds of this run; the generator is its own process
// (bench/latency-load.ts). A 100 ms timeline of max latency shows whether a tail is a few stalls or the whole run; a
// probe in the server (bench/latency-probe.ts) records each thread's event-loop delay and GC pauses on the same
// clock, and the main thread's scheduler counters say how long it was runnable but had no CPU (a shared machine).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LatencyHistogram } from './latency.js';
import { forkLoad, type LoadResult, type LoadSpec } from './latency-load.js';
import { probeArgs, readProbes, type ThreadProbe } from './latency-probe.js';
import { cpuSeconds, serverNodeArgs, startPermio, startProcess, type Proc } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms } from './table.js';

export interface LatencyOptions {
  workers: number;
  connections: number;
  /** Seconds of each closed-loop peak figure. */
  peakSec: number;
  /** Seconds of each paced figure. */
  pacedSec: number;
  /** Share of Permio's closed-loop peak (cache off) to pace at. */
  load: number;
  /** Another build's `dist`: its server, cache off and on, measured beside this one at the same rate. */
  against?: string;
  /** Paced rounds; each round measures every server once, in a rotated order, on a fresh body set. */
  rounds: number;
}

const BODIES = 20_000;
const WINDOW_MS = 100;
const PRINCIPALS = 500; // seed.ts: user-0 … user-499, on tenants u % 50, folders f0 … f9

/**
 * `count` distinct single checks of the seeded principals on documents under their folders (numbered from `from`, so
 * two sets never share a body): each walks the principal's trie, none repeats within the set.
 */
export function distinctBodies(ds: Dataset, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const u = n % PRINCIPALS;
    return JSON.stringify({
      project_name: ds.project,
      principal_id: `user-${u}`,
      resource_uris: [`/tenants/t${u % 50}/folders/f${n % 10}/docs/d${n}`],
      permissions: [ds.permissions[n % ds.permissions.length]],
    });
  });
}

export interface LatencyRow {
  server: string;
  peak: LoadResult;
  /** One per round. */
  paced: LoadResult[];
  probes: ThreadProbe[];
  /** Over the paced runs: ms the server's main thread ran, and ms it was runnable but waiting for a CPU. */
  mainRunMs: number;
  mainWaitMs: number;
  pacedMs: number;
  /** CPU seconds of every server thread over the paced runs. */
  serverCpuSec: number;
}

/** The main thread's scheduler counters (ns on a CPU, ns runnable and waiting for one), from /proc/<pid>/schedstat. */
function schedOf(pid: number): [number, number] {
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return [run! / 1e6, wait! / 1e6];
  } catch {
    return [NaN, NaN];
  }
}

interface Target {
  name: string;
  port: number;
  headers: Record<string, string>;
  /** The dataset the bodies are made from (undefined: the bare server, which answers anything). */
  ds: Dataset | undefined;
  pid: number;
}

/** Body set `n`: 0 for the peak, 1 + round for the paced runs (a cache filled by one set does not answer the next). */
function bodySet(t: Target, helloDs: Dataset, n: number): string[] {
  return distinctBodies(t.ds ?? helloDs, n * BODIES, BODIES);
}

function spec(t: Target, o: LatencyOptions, rate: number, bodies: string[]): LoadSpec {
  return { port: t.port, path: '/v1/check', headers: t.headers, bodies, connections: o.connections, rate, durationSec: rate === 0 ? o.peakSec : o.pacedSec, windowMs: WINDOW_MS };
}

export const PROBE_DIR = path.join(os.tmpdir(), 'permio-bench-latency');

export async function runLatencyBench(o: LatencyOptions): Promise<{ rate: number; rows: LatencyRow[] }> {
  fs.rmSync(PROBE_DIR, { recursive: true, force: true });
  const nodeArgs = [...serverNodeArgs(), ...probeArgs(PROBE_DIR)];
  const env = { PERMIO_PROBE_DIR: PROBE_DIR };
  const procs: Proc[] = [];
  try {
    const hello = await startProcess('bench/hello-uws.js', env, nodeArgs);
    procs.push(hello);
    const uncached = await startPermio(o.workers, { env: { ...env, PERMIO_CHECK_CACHE_MB: '0' }, nodeArgs });
    procs.push(uncached);
    const cached = await startPermio(o.workers, { env, nodeArgs });
    procs.push(cached);
    const servers: [string, Proc & { adminKey: string }][] = [
      ['Permio, answer cache off', uncached],
      ['Permio, answer cache on (default)', cached],
    ];
    if (o.against !== undefined) {
      const otherOff = await startPermio(o.workers, { env: { ...env, PERMIO_CHECK_CACHE_MB: '0' }, nodeArgs, dist: o.against });
      procs.push(otherOff);
      const otherOn = await startPermio(o.workers, { env, nodeArgs, dist: o.against });
      procs.push(otherOn);
      servers.push(['other build, answer cache off', otherOff], ['other build, answer cache on', otherOn]);
    }
    const targets: Target[] = [];
    for (const [name, p] of servers) {
      const ds = await seedDataset(`http://127.0.0.1:${p.ports.http_port}`, p.adminKey);
      targets.push({ name, port: p.ports.http_port!, headers: { authorization: `Bearer ${ds.key}` }, ds, pid: p.child.pid! });
    }
    const helloDs = targets[0]!.ds!;
    targets.push({ name: 'bare uWebSockets.js, fixed answer', port: hello.ports.http_port!, headers: {}, ds: undefined, pid: hello.child.pid! });

    const peaks = new Map<Target, LoadResult>();
    for (const t of targets) peaks.set(t, await forkLoad(spec(t, o, 0, bodySet(t, helloDs, 0))));
    const rate = Math.round(peaks.get(targets[0]!)!.answeredPerSec * o.load);
    const paced = new Map<Target, LoadResult[]>(targets.map((t) => [t, []]));
    const sched = new Map<Target, [number, number, number, number]>(targets.map((t) => [t, [0, 0, 0, 0]]));
    for (let round = 0; round < o.rounds; round++) {
      // rotate the order, so no server always runs first (or right after the same neighbour)
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(k + round) % targets.length]!;
        const bodies = bodySet(t, helloDs, 1 + round);
        const [run0, wait0] = schedOf(t.pid);
        const cpu0 = cpuSeconds(t.pid);
        const started = performance.now();
        paced.get(t)!.push(await forkLoad(spec(t, o, rate, bodies)));
        const [run1, wait1] = schedOf(t.pid);
        const acc = sched.get(t)!;
        acc[0] += run1 - run0;
        acc[1] += wait1 - wait0;
        acc[2] += performance.now() - started;
        acc[3] += cpuSeconds(t.pid) - cpu0;
      }
    }
    await new Promise((r) => setTimeout(r, 1100)); // the probes' next write covers the last run
    const rows: LatencyRow[] = targets.map((t) => {
      const [mainRunMs, mainWaitMs, pacedMs, serverCpuSec] = sched.get(t)!;
      return { server: t.name, peak: peaks.get(t)!, paced: paced.get(t)!, probes: readProbes(PROBE_DIR, t.pid), mainRunMs, mainWaitMs, pacedMs, serverCpuSec };
    });
    fs.writeFileSync(path.join(PROBE_DIR, 'results.json'), JSON.stringify({ rate, rows }));
    return { rate, rows };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

function histogramOf(runs: readonly LoadResult[], field: 'latency' | 'sendLag'): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const r of runs) h.addSparse(r[field]);
  return h;
}

/** The largest value recorded (the upper bound of the last non-empty bucket). */
function maxOf(runs: readonly LoadResult[]): number {
  return Math.max(0, ...runs.map((r) => (r.latency.length === 0 ? 0 : ((r.latency[r.latency.length - 1]![0] + 1) * 10) / 1000)));
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export function formatLatencyRows(rate: number, rows: readonly LatencyRow[]): string {
  const bare = rows.find((r) => r.server.startsWith('bare'))!;
  const bareLat = histogramOf(bare.paced, 'latency');
  const table = markdownTable(
    ['server, same run', 'closed-loop peak req/s (vs bare)', 'paced req/s', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'p99 / bare', 'p999 / bare', 'found all connections busy', '100 ms windows over 10 ms', 'generator lag p99 ms', 'server CPU µs per request', 'main thread: ran / waited for a CPU, ms per s'],
    'lrrrrrrrrrrrrr',
    rows.map((r) => {
      const h = histogramOf(r.paced, 'latency');
      const lag = histogramOf(r.paced, 'sendLag');
      return [
        r.server,
        `${int(r.peak.answeredPerSec)}${r === bare ? '' : ` (${(r.peak.answeredPerSec / bare.peak.answeredPerSec).toFixed(2)}×)`}`,
        int(rate),
        ms(h.percentile(0.5)),
        ms(h.percentile(0.99)),
        ms(h.percentile(0.999)),
        ms(maxOf(r.paced)),
        r === bare ? '' : `${(h.percentile(0.99) / bareLat.percentile(0.99)).toFixed(1)}×`,
        r === bare ? '' : `${(h.percentile(0.999) / bareLat.percentile(0.999)).toFixed(1)}×`,
        int(sum(r.paced.map((p) => p.queued))),
        int(sum(r.paced.map((p) => p.timeline.filter((m) => m > 10).length))),
        ms(lag.percentile(0.99)),
        int((r.serverCpuSec * 1e6) / sum(r.paced.map((p) => p.ok))),
        `${int((r.mainRunMs / r.pacedMs) * 1000)} / ${int((r.mainWaitMs / r.pacedMs) * 1000)}`,
      ];
    }),
  );
  const notes: string[] = [];
  for (const r of rows) {
    const worst = r.paced
      .flatMap((run, round) => run.timeline.map((m, i) => ({ run, round, i, m })))
      .sort((a, b) => b.m - a.m)
      .slice(0, 5)
      .map(({ run, round, i, m }) => `round ${round + 1} at ${((i * WINDOW_MS) / 1000).toFixed(1)} s: ${ms(m)} ms${stallCause(r, run, i)}`);
    notes.push(`- ${r.server}: ${worst.join('; ')}`);
  }
  return `${table}\n\nThe five worst ${WINDOW_MS} ms windows (max latency; in brackets what the server's threads did then):\n${notes.join('\n')}\n(probe records: ${PROBE_DIR})`;
}

/**
 * What the server's threads were doing in timeline window `i` of `run`: event-loop delay over 5 ms and GC pauses over
 * 2 ms; when every thread was delayed alike, the process as a whole was not running (the machine, not its code).
 */
function stallCause(r: LatencyRow, run: LoadResult, i: number): string {
  const from = run.t0Epoch + (i - 1) * WINDOW_MS; // the stall may have started in the window before
  const to = run.t0Epoch + (i + 1) * WINDOW_MS;
  const delays = r.probes.map((p) => Math.max(0, ...p.windows.filter(([t]) => t >= from - WINDOW_MS && t < to).map(([, d]) => d)));
  if (delays.length > 1 && Math.min(...delays) > 5 && Math.min(...delays) >= 0.7 * Math.max(...delays)) {
    return ` [all ${delays.length} threads delayed together, ${ms(Math.min(...delays))}–${ms(Math.max(...delays))} ms]`;
  }
  const parts: string[] = [];
  r.probes.forEach((p, k) => {
    const gc = p.gcs.filter(([t, d]) => t >= from && t < to && d > 2).map(([, d, kind]) => `${gcName(kind)} ${ms(d)} ms`);
    if (delays[k]! > 5 || gc.length > 0) parts.push(`${p.thread}: loop delay ${ms(delays[k]!)} ms${gc.length ? `, GC ${gc.join(', ')}` : ''}`);
  });
  return parts.length ? ` [${parts.join('; ')}]` : '';
}
function gcName(kind: number): string {
  // perf_hooks.constants.NODE_PERFORMANCE_GC_*
  return ({ 1: 'scavenge', 4: 'mark-compact', 8: 'incremental marking', 16: 'weak callbacks' } as Record<number, string>)[kind] ?? `kind ${kind}`;
}
