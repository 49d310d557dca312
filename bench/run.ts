// `npm run bench`: the engine in-process, then REST (and gRPC) under load, each beside a baseline from the same run.
import os from 'node:os';
import { formatEngineBench, runEngineBench } from './engine.bench.js';
import { runHttpBench, type LoadRow } from './http.bench.js';

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

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
  console.log(`load: ${load.connections} connections, pipelining ${load.pipelining}, ${load.durationSec} s per figure, ${load.workers} check workers\n`);

  if (!only || only === 'engine') {
    console.log('## Engine, in-process, one thread\n');
    console.log(formatEngineBench(runEngineBench({ big: process.argv.includes('--big'), seconds: arg('seconds', 1.5) })));
    console.log('');
  }
  if (!only || only === 'rest') {
    console.log('## REST (autocannon) vs bare uWebSockets.js\n');
    console.log(formatLoadRows(await runHttpBench(load)));
    console.log('');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
