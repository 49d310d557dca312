// Cluster mode (SPEC §12) beside a single node in the same run: durable grant writes through JetStream with three
// nodes, replication lag (a write's 200 on one node → a check seeing it on another) and the check rate of one node.
import type autocannon from 'autocannon';
import { autocannonInChild } from './autocannon-load.js';
import { cpuSeconds, machineBusySeconds, startPermio, type Proc } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms, pct } from './table.js';
import { checkLoad, noErrors, writeLoad } from './writes.bench.js';
import { startNats } from '../test/helpers/nats.js';

export interface ClusterBenchOptions {
  durationSec: number;
  /** Connections of the check loads. */
  connections: number;
  workers: number;
}

export interface ClusterRow {
  scenario: string;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Against the single-node row of the same figure. */
  ratio?: number;
  /** CPU of the Permio processes (and nats-server in cluster rows), in cores over the figure. */
  serverCores: number;
  boxCores: number;
}

const NODES = 3;
const WRITE_CONNECTIONS = 100;
const LAG_SAMPLES = 300;
const LAG_BACKGROUND_CONNECTIONS = 20; // writes streaming into another node while lag is sampled
const SERVING_POLL_MS = 50;

type Node = Proc & { adminKey: string; dataDir: string; base: string };

async function start(workers: number, env: Record<string, string> = {}): Promise<Node> {
  const p = await startPermio(workers, { env });
  const node = { ...p, base: `http://127.0.0.1:${p.ports.http_port}` };
  while ((await fetch(`${node.base}/healthz`)).status !== 200) await new Promise((r) => setTimeout(r, SERVING_POLL_MS));
  return node;
}

function post(base: string, key: string, path: string, body: unknown): Promise<Response> {
  return fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Per sample: a grant on `writer`'s node; then checks on `reader`'s node, back to back, until one sees it. */
async function sampleLag(writer: string, reader: string, ds: Dataset, samples: number): Promise<number[]> {
  const lags: number[] = [];
  for (let i = 0; i < samples; i++) {
    const user = `lag-${i}-${Math.random().toString(36).slice(2)}`;
    const grant = await post(writer, ds.key, '/v1/grants', { project_name: ds.project, user_id: user, resource_uri: '/lag', permissions: [ds.permissions[0]] });
    if (grant.status !== 200) throw new Error(`lag grant: ${grant.status} ${await grant.text()}`);
    const answered = performance.now();
    const check = { project_name: ds.project, principal_id: user, resource_uris: ['/lag'], permissions: [ds.permissions[0]] };
    for (;;) {
      const res = await post(reader, ds.key, '/v1/check', check);
      if ((await res.json()).passed === true) break;
    }
    lags.push(performance.now() - answered);
  }
  return lags.sort((a, b) => a - b);
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterRow[]> {
  const nats = await startNats();
  const single = await start(o.workers);
  const nodes: Node[] = [];
  const rows: ClusterRow[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      nodes.push(await start(o.workers, { PERMIO_NATS_URL: nats.url, PERMIO_NODE_ID: `bench-${String.fromCharCode(97 + i)}` }));
    }
    const [a, b, c] = nodes as [Node, Node, Node];
    const singleDs = await seedDataset(single.base, single.adminKey);
    const clusterDs = await seedDataset(a.base, a.adminKey); // the key is valid on every node

    const singlePids = [single.child.pid!];
    const clusterPids = [...nodes.map((n) => n.child.pid!), nats.pid!];
    /** Runs `loads` at once: their summaries, and the cores `pids` and the whole machine kept busy meanwhile. */
    const measure = async (pids: number[], loads: autocannon.Options[]) => {
      const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
      const box0 = machineBusySeconds();
      const t0 = performance.now();
      const results = await Promise.all(loads.map((l) => autocannonInChild(l)));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
      return { results, serverCores: cpu / seconds, boxCores: (machineBusySeconds() - box0) / seconds };
    };
    const row = (scenario: string, pids: number[], loads: autocannon.Options[], reference?: number) =>
      measure(pids, loads).then(({ results, serverCores, boxCores }) => {
        const rs = results.map((r) => noErrors(scenario, r));
        const perSec = rs.reduce((s, r) => s + r.requestsPerSec, 0);
        const p50Ms = Math.max(...rs.map((r) => r.p50Ms));
        const p99Ms = Math.max(...rs.map((r) => r.p99Ms));
        const out: ClusterRow = { scenario, perSec, p50Ms, p99Ms, serverCores, boxCores, ...(reference ? { ratio: perSec / reference } : {}) };
        rows.push(out);
        return out;
      });

    // durable writes: one node alone, then three nodes on one JetStream log (all load on one node, then spread)
    const w = await row(`grants, single node, ${WRITE_CONNECTIONS} connections`, singlePids, [writeLoad(single.base, singleDs, WRITE_CONNECTIONS, o.durationSec)]);
    await row(`grants, 3 nodes, ${WRITE_CONNECTIONS} connections to one`, clusterPids, [writeLoad(a.base, clusterDs, WRITE_CONNECTIONS, o.durationSec)], w.perSec);
    const spread = Math.round(WRITE_CONNECTIONS / NODES);
    await row(`grants, 3 nodes, ${WRITE_CONNECTIONS} connections spread over them`, clusterPids, nodes.map((n) => writeLoad(n.base, clusterDs, spread, o.durationSec)), w.perSec);

    // replication lag, idle and while grants stream into the third node
    for (const background of [false, true]) {
      const load = background ? autocannonInChild(writeLoad(c.base, clusterDs, LAG_BACKGROUND_CONNECTIONS, o.durationSec * 4)) : undefined;
      const lags = await sampleLag(a.base, b.base, clusterDs, LAG_SAMPLES);
      if (load) noErrors('background writes', await load);
      rows.push({
        scenario: `replication lag, 200 on A → check on B sees it${background ? `, ${LAG_BACKGROUND_CONNECTIONS} connections writing to C` : ', idle'} (${LAG_SAMPLES} grants)`,
        perSec: 0,
        p50Ms: quantile(lags, 0.5),
        p99Ms: quantile(lags, 0.99),
        serverCores: 0,
        boxCores: 0,
      });
    }

    // checks on one node, alternating single / cluster so drift on the shared box hits both alike
    const singleRates: number[] = [];
    const clusterRows: ClusterRow[] = [];
    for (let round = 0; round < 2; round++) {
      singleRates.push((await row(`checks 1×1, single node (round ${round + 1})`, singlePids, [checkLoad(single.base, singleDs, o.connections, o.durationSec)])).perSec);
      clusterRows.push(await row(`checks 1×1, one node of 3 (round ${round + 1})`, [a.child.pid!], [checkLoad(a.base, clusterDs, o.connections, o.durationSec)]));
    }
    const singleMean = singleRates.reduce((s, x) => s + x, 0) / singleRates.length;
    for (const r of clusterRows) r.ratio = r.perSec / singleMean;
  } finally {
    for (const n of nodes) await n.stop();
    await single.stop();
    await nats.cleanup();
  }
  return rows;
}

export function formatClusterRows(rows: readonly ClusterRow[]): string {
  return markdownTable(
    ['scenario', 'per second', 'p50 ms¹', 'p99 ms¹', 'vs single node', 'server CPU (cores)²', 'CPU µs per request²', 'whole box busy (cores)'],
    'lrrrrrrr',
    rows.map((r) => [
      r.scenario,
      r.perSec ? int(r.perSec) : '',
      ms(r.p50Ms),
      ms(r.p99Ms),
      r.ratio === undefined ? '' : pct(r.ratio),
      r.serverCores ? r.serverCores.toFixed(2) : '',
      r.perSec ? int((r.serverCores / r.perSec) * 1e6) : '',
      r.boxCores ? r.boxCores.toFixed(2) : '',
    ]),
  );
}
