// Latency at half load, open loop (`--only=latency`): 20,000 distinct single-check bodies, Permio's closed-loop peak
// on them measured first, then evenly paced requests at half that rate (latency from each request's intended send
// time) against Permio with its answer cache off, with it on, and a bare uWS server with a fixed answer at the same
// rate, all in this run; the generator is its own process (bench/latency-load.ts). A 100 ms timeline of max latency
// shows whether a tail is a few stalls or the whole run; a probe in the server (bench/latency-probe.ts) records each
// thread's event-loop delay and GC pauses on the same clock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LatencyHistogram } from './latency.js';
import { forkLoad, type LoadResult, type LoadSpec } from './latency-load.js';
import { probeArgs, readProbes, type ThreadProbe } from './latency-probe.js';
import { serverNodeArgs, startPermio, startProcess, type Proc } from './processes.js';
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
  paced: LoadResult;
  probes: ThreadProbe[];
}

interface Target {
  name: string;
  port: number;
  headers: Record<string, string>;
  /** Body sets: one for the peak, another for the paced run (a cache filled by the peak does not answer it). */
  bodies: [string[], string[]];
  pid: number;
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
    const targets: Target[] = [];
    for (const [name, p] of [
      ['Permio, answer cache off', uncached],
      ['Permio, answer cache on (default)', cached],
    ] as const) {
      const ds = await seedDataset(`http://127.0.0.1:${p.ports.http_port}`, p.adminKey);
      targets.push({ name, port: p.ports.http_port!, headers: { authorization: `Bearer ${ds.key}` }, bodies: [distinctBodies(ds, 0, BODIES), distinctBodies(ds, BODIES, BODIES)], pid: p.child.pid! });
    }
    const helloBodies = targets[0]!.bodies;
    targets.push({ name: 'bare uWebSockets.js, fixed answer', port: hello.ports.http_port!, headers: {}, bodies: helloBodies, pid: hello.child.pid! });

    const peaks = new Map<Target, LoadResult>();
    for (const t of targets) peaks.set(t, await forkLoad(spec(t, o, 0, t.bodies[0])));
    const rate = Math.round(peaks.get(targets[0]!)!.answeredPerSec * o.load);
    const rows: LatencyRow[] = [];
    for (const t of targets) {
      const paced = await forkLoad(spec(t, o, rate, t.bodies[1]));
      await new Promise((r) => setTimeout(r, 1100)); // the probes' next write covers the run
      rows.push({ server: t.name, peak: peaks.get(t)!, paced, probes: readProbes(PROBE_DIR, t.pid) });
    }
    fs.writeFileSync(path.join(PROBE_DIR, 'results.json'), JSON.stringify({ rate, rows }));
    return { rate, rows };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

function histogramOf(pairs: [number, number][]): LatencyHistogram {
  const h = new LatencyHistogram();
  h.addSparse(pairs);
  return h;
}

/** The largest value recorded (the upper bound of the last non-empty bucket). */
function maxOf(pairs: [number, number][]): number {
  return pairs.length === 0 ? 0 : ((pairs[pairs.length - 1]![0] + 1) * 10) / 1000;
}

export function formatLatencyRows(rate: number, rows: readonly LatencyRow[]): string {
  const bare = rows.find((r) => r.server.startsWith('bare'))!;
  const bareLat = histogramOf(bare.paced.latency);
  const table = markdownTable(
    ['server, same run', 'closed-loop peak req/s', 'paced rate', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'p99 / bare', 'p999 / bare', 'found all connections busy', '100 ms windows over 10 ms', 'generator lag p99 ms'],
    'lrrrrrrrrrrr',
    rows.map((r) => {
      const h = histogramOf(r.paced.latency);
      const lag = histogramOf(r.paced.sendLag);
      return [
        r.server,
        `${int(r.peak.answeredPerSec)}${r === bare ? '' : ` (${(r.peak.answeredPerSec / bare.peak.answeredPerSec).toFixed(2)}×)`}`,
        int(rate),
        ms(h.percentile(0.5)),
        ms(h.percentile(0.99)),
        ms(h.percentile(0.999)),
        ms(maxOf(r.paced.latency)),
        r === bare ? '' : `${(h.percentile(0.99) / bareLat.percentile(0.99)).toFixed(1)}×`,
        r === bare ? '' : `${(h.percentile(0.999) / bareLat.percentile(0.999)).toFixed(1)}×`,
        int(r.paced.queued),
        int(r.paced.timeline.filter((m) => m > 10).length),
        ms(lag.percentile(0.99)),
      ];
    }),
  );
  const notes: string[] = [];
  for (const r of rows) {
    const worst = r.paced.timeline
      .map((m, i) => [i, m] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([i, m]) => `${((i * WINDOW_MS) / 1000).toFixed(1)} s: ${ms(m)} ms${stallCause(r, i)}`);
    notes.push(`- ${r.server}: worst windows ${worst.join('; ')}`);
  }
  return `${table}\n\nTimeline (max latency per ${WINDOW_MS} ms window, the five worst; in brackets what the server's threads did then):\n${notes.join('\n')}\n(probe records: ${PROBE_DIR})`;
}

/** What the server's threads were doing in timeline window `i`: event-loop delay over 5 ms and GC pauses over 2 ms. */
function stallCause(r: LatencyRow, i: number): string {
  const from = r.paced.t0Epoch + (i - 1) * WINDOW_MS; // the stall may have started in the window before
  const to = r.paced.t0Epoch + (i + 1) * WINDOW_MS;
  const parts: string[] = [];
  for (const p of r.probes) {
    const delay = Math.max(0, ...p.windows.filter(([t]) => t >= from - WINDOW_MS && t < to).map(([, d]) => d));
    const gc = p.gcs.filter(([t, d]) => t >= from && t < to && d > 2).map(([, d, k]) => `${gcName(k)} ${ms(d)} ms`);
    if (delay > 5 || gc.length > 0) parts.push(`${p.thread}: loop delay ${ms(delay)} ms${gc.length ? `, GC ${gc.join(', ')}` : ''}`);
  }
  return parts.length ? ` [${parts.join('; ')}]` : '';
}

function gcName(kind: number): string {
  // perf_hooks.constants.NODE_PERFORMANCE_GC_*
  return ({ 1: 'scavenge', 4: 'mark-compact', 8: 'incremental marking', 16: 'weak callbacks' } as Record<number, string>)[kind] ?? `kind ${kind}`;
}
