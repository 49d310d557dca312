// Scaling with check workers: the REST 10×10 check load, rotating over 4 projects (2 per worker when there are 2),
// against Permio with PERMIO_WORKERS=1 and then 2 on the same data; the 1-worker run is the baseline. The answer
// cache is off (the load repeats four bodies, which would otherwise never reach a worker).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckPool } from '../src/worker/pool.js';
import { autocannonInChild } from './autocannon-load.js';
import { cpuMeter, startPermio } from './processes.js';
import { BENCH_USER, BENCH_USER_URI, buildStore, type BuiltProject } from './store-builder.js';
import { PERMISSION_NAMES } from './engine-dataset.js';
import { int, markdownTable, pct } from './table.js';

export interface ScalingOptions {
  durationSec: number;
  connections: number;
  /** Worker counts to measure, in order, e.g. [1, 2, 1]: the first count is the baseline, measured around the others. */
  workerCounts: readonly number[];
}

export interface ScalingRow {
  workers: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCores: number;
  loadCores: number;
  boxCores: number;
  /** Against the mean of the rows with the first worker count. */
  vsBaseline?: number;
}

const CANDIDATE_PROJECTS = 8; // built; 4 of them, spread evenly over the shards, are loaded
const LOADED_PROJECTS = 4;
const GRANTS_PER_PROJECT = 5_000;
const URIS = 10;
const PERMS = 10;

/** The shard CheckPool sends a project to with `workers` shards: its own method, called on a stand-in pool. */
function shardOf(projectId: string, workers: number): number {
  return CheckPool.prototype.shardOf.call({ shards: { length: workers } } as unknown as CheckPool, projectId);
}

/** `count` projects taking turns over the shards of the largest worker count, so every worker gets the same share. */
function spreadProjects(projects: readonly BuiltProject[], workers: number, count: number): BuiltProject[] {
  const byShard = Array.from({ length: workers }, (_, s) => projects.filter((p) => shardOf(p.id, workers) === s));
  const picked: BuiltProject[] = [];
  for (let i = 0; picked.length < count; i++) {
    const shard = byShard[i % workers]!;
    const p = shard[Math.floor(i / workers)];
    if (p === undefined) throw new Error(`scaling: not enough projects on shard ${i % workers}; raise CANDIDATE_PROJECTS`);
    picked.push(p);
  }
  return picked;
}

function checkBody(project: string): string {
  return JSON.stringify({
    project_name: project,
    principal_id: BENCH_USER,
    resource_uris: Array.from({ length: URIS }, (_, i) => `${BENCH_USER_URI}/folders/f${i}/docs/d${i}`),
    permissions: PERMISSION_NAMES.slice(0, PERMS),
  });
}

export async function runScalingBench(o: ScalingOptions): Promise<{ rows: ScalingRow[]; projects: string[] }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-scaling-'));
  const rows: ScalingRow[] = [];
  try {
    const built = await buildStore(
      dataDir,
      // Sizes differ by one grant so the projects' sequence ids do not all share a parity: with an even worker count
      // FNV-1a % workers sees only the low bits of the id's characters (equal gaps all landed on one shard).
      Array.from({ length: CANDIDATE_PROJECTS }, (_, i) => ({ name: `tenant-${i}`, grants: GRANTS_PER_PROJECT + i })),
    );
    const projects = spreadProjects(built.projects, Math.max(...o.workerCounts), LOADED_PROJECTS);
    for (const workers of o.workerCounts) {
      const permio = await startPermio(workers, { dataDir, env: { PERMIO_CHECK_CACHE_MB: '0' } });
      try {
        const stopMeter = cpuMeter(permio.child.pid!);
        const r = await autocannonInChild({
          url: `http://127.0.0.1:${permio.ports.http_port}/v1/check`,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${built.key}` },
          requests: projects.map((p) => ({ method: 'POST' as const, body: checkBody(p.name) })), // each connection rotates
          connections: o.connections,
          duration: o.durationSec,
        });
        const cpu = stopMeter();
        if (r.non2xx || r.errors) throw new Error(`scaling: ${r.non2xx} non-2xx, ${r.errors} errors`);
        rows.push({
          workers,
          requestsPerSec: r.requestsPerSec,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          serverCores: cpu.serverCores,
          loadCores: r.loadCores,
          boxCores: cpu.boxCores,
        });
      } finally {
        await permio.stop();
      }
    }
    const base = rows.filter((r) => r.workers === o.workerCounts[0]);
    const baseRate = base.reduce((sum, r) => sum + r.requestsPerSec, 0) / base.length;
    for (const r of rows) if (r.workers !== o.workerCounts[0]) r.vsBaseline = r.requestsPerSec / baseRate;
    return { rows, projects: projects.map((p) => `${p.name} → worker ${shardOf(p.id, Math.max(...o.workerCounts))}`) };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function formatScalingRows(rows: readonly ScalingRow[]): string {
  return markdownTable(
    ['PERMIO_WORKERS', 'req/s', 'pairs/s', 'p50 ms¹', 'p99 ms¹', 'server CPU (cores)', 'load-gen CPU (cores)', 'whole box busy (cores)', 'vs baseline (mean)'],
    'rrrrrrrrr',
    rows.map((r) => [String(r.workers), int(r.requestsPerSec), int(r.requestsPerSec * URIS * PERMS), String(r.p50Ms), String(r.p99Ms), r.serverCores.toFixed(2), r.loadCores.toFixed(2), r.boxCores.toFixed(2), r.vsBaseline === undefined ? '(baseline)' : pct(r.vsBaseline)]),
  );
}
