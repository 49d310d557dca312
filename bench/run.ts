// `npm run bench`: the engine in-process, REST and gRPC under load, durable writes, cold start, scaling with workers,
// cluster mode and the web console, each beside a baseline from the same run.
// `--only=engine|rest|grpc|writes|cold|scaling|cluster|dashboard|query|tools|client|latency` runs one section (query: `--query-grants=N`;
// `tools`: export and import of `--tools-grants=N` grants, default 1,000,000);
// `--only=ab --against=DIR [--rounds=N]` compares this build's REST check with another build's (DIR: its `dist`);
// `--only=watch --against=DIR [--rounds=N] [--writes=N]` adds sequential grant writes to that comparison, then
// durable writes with 0 / 100 / 1,000 watchers and the delivery latency at 100 (`--watch-only` skips the A/B);
// `--only=latency [--connections=N] [--load=0.5] [--peak-seconds=S] [--paced-seconds=S] [--rounds=N] [--against=DIR]` paces requests
// open-loop at a share of Permio's closed-loop peak, beside a bare uWS server (and another build) at the same rate;
// `--only=writepath [--writes=N] [--rounds=N]` times a sequential durable grant layer by layer (disk, LMDB, writer, HTTP);
// `--duration=S` sets seconds per load figure (default 10 for REST, 5 for the later sections);
// `--server-cpu-prof` writes the server's CPU profiles to $TMPDIR/permio-bench-profiles (summarise them with
// `node dist/bench/cpu-profile.js <files>`).
import os from 'node:os';
import { formatAbRows, runAbBench } from './ab.bench.js';
import { formatWatcherRows, formatWatchRows, runDeliveryBench, runSequentialWriteBench, runWatcherWriteBench } from './watch.bench.js';
import { formatEngineBench, runEngineBench } from './engine.bench.js';
import { runHttpBench, type LoadRow } from './http.bench.js';
import { formatGrpcRows, runGrpcBench } from './grpc.bench.js';
import { formatMixRows, formatWriteRows, runWritesBench } from './writes.bench.js';
import { formatWriterCapacityRows, runWriterCapacityBench } from './writer-capacity.bench.js';
import { formatColdRows, runColdStartBench } from './cold-start.bench.js';
import { formatScalingRows, runScalingBench } from './scaling.bench.js';
import { formatClusterRows, runClusterBench } from './cluster.bench.js';
import { PROFILE_DIR } from './processes.js';
import { formatLatencyRows, runLatencyBench } from './latency.bench.js';
import { formatWritePathRows, runWritePathBench } from './write-path.bench.js';
import { formatClientRows, runClientBench } from './client.bench.js';
import { runDashboardBench } from './dashboard.bench.js';
import { runQueryBench } from './query.bench.js';
import { int } from './table.js';
import { formatToolsRows, runToolsBench } from './tools.bench.js';

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

/** Seconds per figure of the gRPC, writes and scaling sections unless --duration is given. */
const SECTION_SECONDS = 5;

/** Markdown table of load rows; ratios are against the baseline row measured in the same run. */
export function formatLoadRows(rows: readonly LoadRow[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = ['| scenario | req/s | pairs/s | p50 ms | p99 ms | vs baseline |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const ratio = r.baselineRatio === undefined ? '' : `${(r.baselineRatio * 100).toFixed(0)} %`;
    lines.push(`| ${r.scenario} | ${fmt(r.requestsPerSec)} | ${r.pairsPerSec ? fmt(r.pairsPerSec) : ''} | ${r.p50Ms} | ${r.p99Ms} | ${ratio} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const load = {
    durationSec: arg('duration', 10),
    connections: arg('connections', 50),
    pipelining: arg('pipelining', 1),
    workers: arg('workers', os.availableParallelism()),
  };
  console.log(`# Permio bench — ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, node ${process.version}`);
  console.log(`command: npm run bench -- ${process.argv.slice(2).join(' ')}`);
  // The sections added after engine and REST default to shorter figures so the whole run stays near 7 minutes.
  const sectionSec = process.argv.some((a) => a.startsWith('--duration=')) ? load.durationSec : SECTION_SECONDS;
  if (process.argv.includes('--server-cpu-prof')) console.log(`server CPU profiles: ${PROFILE_DIR}`);
  console.log(`load: ${load.connections} connections, pipelining ${load.pipelining}, ${load.durationSec} s per figure, ${load.workers} check workers\n`);

  if (only === 'ab') {
    const against = process.argv.find((a) => a.startsWith('--against='))?.slice(10);
    if (!against) throw new Error('--only=ab needs --against=DIR (the dist folder of the other build)');
    const rounds = arg('rounds', 3);
    console.log(`## REST check A/B: this build vs ${against} (${rounds} alternating rounds of ${load.durationSec} s per build and scenario)\n`);
    console.log(formatAbRows(await runAbBench({ ...load, against, rounds })));
    console.log('');
  }
  if (only === 'watch') {
    const against = process.argv.find((a) => a.startsWith('--against='))?.slice(10);
    const watchOnly = process.argv.includes('--watch-only');
    if (!against && !watchOnly) throw new Error('--only=watch needs --against=DIR (the dist folder of a build without revisions)');
    const rounds = arg('rounds', 3);
    if (against && !watchOnly) {
      const writesPerRound = arg('writes', 500);
      console.log(
        `## Revisions and the change log: this build vs ${against} (checks: ${rounds} alternating rounds of ${load.durationSec} s; ` +
          `sequential grant writes: one client, one at a time, ${rounds} × ${writesPerRound} per build)\n`,
      );
      const checks = await runAbBench({ ...load, against, rounds });
      const writes = await runSequentialWriteBench({ against, workers: load.workers, rounds, writesPerRound });
      console.log(formatWatchRows(checks, writes));
      console.log('');
    }
    const watcherCounts = [0, 100, 1000];
    console.log(
      `## Watch: durable grant writes with ${watcherCounts.join(' / ')} WebSocket watchers of the written project ` +
        `(${rounds} alternating rounds of ${sectionSec} s), and delivery latency at 100 watchers (10 writers, ${sectionSec} s)\n`,
    );
    const watched = await runWatcherWriteBench({ workers: load.workers, durationSec: sectionSec, watcherCounts, rounds });
    const delivery = await runDeliveryBench({ workers: load.workers, durationSec: sectionSec, watchers: 100, writers: 10 });
    console.log(formatWatcherRows(watched, delivery));
    console.log('');
  }
  if (only === 'query') {
    const grants = arg('query-grants', 1_000_000);
    console.log(`## Lookups and explain (SPEC §8) over REST, ${int(grants)} synthetic grants plus the lookup principals'\n`);
    console.log(await runQueryBench({ ...load, durationSec: sectionSec, grants }));
    console.log('');
  }
  if (only === 'latency') {
    const against = process.argv.find((a) => a.startsWith('--against='))?.slice(10);
    const l = { workers: load.workers, connections: arg('connections', 32), peakSec: arg('peak-seconds', 5), pacedSec: arg('paced-seconds', 10), load: arg('load', 0.5), against, rounds: arg('rounds', 2) };
    console.log(
      `## Latency at ${(l.load * 100).toFixed(0)} % of peak, open loop: ${l.connections} keep-alive connections, 20,000 distinct single-check bodies, ` +
        `requests evenly paced at ${(l.load * 100).toFixed(0)} % of Permio's closed-loop peak (answer cache off, ${l.peakSec} s) for ${l.rounds} rounds of ${l.pacedSec} s per server; ` +
        'latency from each request\'s intended send time\n',
    );
    const { rate, rows } = await runLatencyBench(l);
    console.log(formatLatencyRows(rate, rows));
    console.log('');
  }
  if (only === 'writepath') {
    const w = { writes: arg('writes', 1000), rounds: arg('rounds', 2), workers: load.workers };
    console.log(`## Where a sequential durable grant's time goes (one client, one request at a time, ${w.rounds} rounds of ${int(w.writes)} per layer)\n`);
    console.log(formatWritePathRows(await runWritePathBench(w)));
    console.log('');
  }
  if (!only || only === 'engine') {
    console.log('## Engine, in-process, one thread\n');
    console.log(formatEngineBench(runEngineBench({ big: process.argv.includes('--big'), naiveBig: process.argv.includes('--naive-big'), seconds: arg('seconds', 1.5) })));
    console.log('');
  }
  if (!only || only === 'rest') {
    console.log('## REST (autocannon) vs bare uWebSockets.js\n');
    console.log(formatLoadRows(await runHttpBench(load)));
    console.log('');
  }
  if (!only || only === 'grpc') {
    const g = {
      ...load,
      durationSec: sectionSec,
      processes: arg('grpc-processes', 2),
      channels: arg('grpc-channels', 2),
      inflight: arg('grpc-inflight', 16),
      client: process.argv.includes('--grpc-client=grpc-js') ? ('grpc-js' as const) : ('http2' as const),
    };
    console.log(
      `## gRPC Check vs bare grpc-js (load: ${g.client} client, ${g.processes} processes × ${g.channels} connections × ` +
        `${g.inflight} calls in flight, pre-encoded requests, ${g.durationSec} s per figure)\n`,
    );
    console.log(formatGrpcRows(await runGrpcBench(g)));
    console.log('');
  }
  if (!only || only === 'writes') {
    const w = { ...load, durationSec: sectionSec };
    console.log(`## Durable grant writes through REST (autocannon, unique URIs, ${w.durationSec} s per figure)\n`);
    const { writes, mix } = await runWritesBench(w);
    console.log(formatWriteRows(writes));
    console.log('\n¹ autocannon reports whole milliseconds. Commands per commit include the call-log batches (`appendLogs`).\n');
    console.log(`### Checks while grants stream in (checks: REST 1×1, ${w.connections} connections; each load in its own process)\n`);
    console.log(formatMixRows(mix));
    console.log('\n### The single writer alone (in-process StoreWriter.applyBatch, no HTTP; keys as the REST load makes them: 500 clients × 16 principals; each commit fsynced before the next)\n');
    console.log(formatWriterCapacityRows(runWriterCapacityBench(3)));
    console.log('');
  }
  if (!only || only === 'cold') {
    const grants = arg('cold-grants', 1_000_000);
    console.log(`## Cold start on ${grants.toLocaleString('en-US')} grants (${load.workers} check workers; the LMDB file is in the OS page cache, just written)\n`);
    const cold = await runColdStartBench({ grants, workers: load.workers, keep: process.argv.includes('--cold-keep') });
    console.log(formatColdRows(cold));
    if (process.argv.includes('--cold-keep')) console.log(`\ndata directory kept: ${cold.dataDir}`);
    console.log('');
  }
  if (!only || only === 'scaling') {
    const s = { durationSec: sectionSec, connections: load.connections, workerCounts: [1, 2, 1] };
    const { rows, projects } = await runScalingBench(s);
    console.log(`## Scaling with check workers (REST 10×10, autocannon ${s.connections} connections rotating over ${projects.join(', ')}; answer cache off; ${s.durationSec} s per figure)\n`);
    console.log(formatScalingRows(rows));
    console.log('\n¹ autocannon reports whole milliseconds.\n');
  }
  if (!only || only === 'cluster') {
    const c = { durationSec: sectionSec, connections: load.connections, workers: load.workers };
    console.log(`## Cluster mode: 3 nodes on one nats-server (JetStream, file storage) vs a single node, same box (${c.durationSec} s per figure)\n`);
    console.log(formatClusterRows(await runClusterBench(c)));
    console.log(
      '\n¹ autocannon reports whole milliseconds for the load rows; lag rows are measured per grant (a check loop on B after the 200 on A).' +
        '\n² the Permio processes measured (a single node; the three nodes and nats-server for cluster writes; the one node for cluster checks).\n',
    );
  }
  if (!only || only === 'client') {
    const c = { workers: load.workers, inflight: arg('connections', 32), seconds: arg('client-seconds', 5), rounds: arg('rounds', 3) };
    console.log(`## The typed client vs raw calls: single checks of 1,000 principals, ${c.inflight} in flight, answer cache off, ${c.rounds} alternating rounds of ${c.seconds} s (median)\n`);
    console.log(formatClientRows(await runClientBench(c), c.inflight));
    console.log('');
  }
  if (!only || only === 'tools') {
    const grants = arg('tools-grants', 1_000_000);
    console.log(`## Export and import of ${grants.toLocaleString('en-US')} grants (one server, ${load.workers} check workers, call log off)\n`);
    console.log(formatToolsRows(await runToolsBench({ grants, workers: load.workers })));
    console.log('');
  }
  if (!only || only === 'dashboard') {
    const d = await runDashboardBench(process.argv.find((a) => a.startsWith('--against='))?.slice(10));
    console.log('## Web console: shipped assets\n');
    console.log(d.assets);
    console.log('\n## Web console: time to interactive (headless Chromium, same machine; page, API calls and rendering)\n');
    console.log(d.loads);
    console.log('\n## Call-log listing on 100,000 entries of one organisation (in-process StoreReader; per call)\n');
    console.log(d.listing);
    console.log('');
    console.log(d.flush);
    console.log('');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
