// Cold start: builds an LMDB data directory of N grants through the real store writer, starts the server on it and
// times /healthz, the first checks of a small and of the biggest project (a worker loads a project's permissions and
// roles on first use and a principal's grants on that principal's first check), then checks every principal once
// (which loads everything) and reports resident memory per grant.
//   npm run bench -- --only=cold                          1 M grants (default)
//   npm run bench -- --only=cold --cold-grants=10000000   10 M grants (the target; the build takes minutes)
//   --cold-keep keeps the data directory (its path is printed)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_FILE } from '../src/store/env.js';
import { residentBytes, startPermio } from './processes.js';
import { principalCount } from './engine-dataset.js';
import { inParallel } from './seed.js';
import { LatencyHistogram } from './latency.js';
import { buildStore, type BuiltProject } from './store-builder.js';
import { bytes, int, markdownTable, ms } from './table.js';

export interface ColdOptions {
  grants: number;
  workers: number;
  keep: boolean;
}

const SMALL_PROJECTS = 10;
const BIG_SHARE = 0.5; // the biggest project holds half the grants; the rest is spread evenly over the small ones
const HEALTH_POLL_MS = 5;
const FIRST_CHECKS_SAMPLED = 200; // principals of the biggest project whose first check is timed one at a time
const WARM_CONCURRENCY = 16;

export interface ColdReport {
  rows: [string, string][];
  dataDir: string;
}

async function until200(url: string): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not accepting yet
    }
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
}

/** One check over REST; returns the round trip in ms. */
async function timedCheck(base: string, key: string, project: string, principal: string, uri: string, permission: string): Promise<{ ms: number; passed: boolean }> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project_name: project, principal_id: principal, resource_uris: [uri], permissions: [permission] }),
  });
  const body = (await res.json()) as { passed?: boolean };
  const elapsed = performance.now() - started;
  if (res.status !== 200) throw new Error(`cold check ${project}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: elapsed, passed: body.passed === true };
}

/** The check of the project's probe grant (it must pass); returns the round trip in ms. */
async function probeCheck(base: string, key: string, p: BuiltProject): Promise<number> {
  const r = await timedCheck(base, key, p.name, p.probe.principal, p.probe.uri, p.probe.permission);
  if (!r.passed) throw new Error(`cold check ${p.name}: the probe grant did not pass`);
  return r.ms;
}

/** Principal names of a built project (engine-dataset's `user_<k>`). */
function principalsOf(p: BuiltProject): string[] {
  return Array.from({ length: principalCount(p.grants) }, (_, k) => `user_${k}`);
}

export async function runColdStartBench(o: ColdOptions): Promise<ColdReport> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-cold-'));
  const big = Math.round(o.grants * BIG_SHARE);
  const small = Math.floor((o.grants - big) / SMALL_PROJECTS);
  const plan = [...Array.from({ length: SMALL_PROJECTS }, (_, i) => ({ name: `small-${i}`, grants: small })), { name: 'big', grants: big }];
  const total = plan.reduce((n, p) => n + p.grants, 0);
  let lastReport = performance.now();
  const built = await buildStore(dataDir, plan, (written) => {
    if (performance.now() - lastReport < 10_000) return;
    lastReport = performance.now();
    console.error(`cold-start: ${int(written)} of ${int(total)} grants written`);
  });
  const rows: [string, string][] = [
    ['grants (stored entries)', `${int(built.storedGrants)} in ${plan.length} projects: ${SMALL_PROJECTS} × ${int(small)} + 1 × ${int(big)}`],
    ['build through StoreWriter.applyBatch, in-process', `${built.seconds.toFixed(1)} s (${int(total / built.seconds)} grants/s)`],
    ['LMDB file', bytes(fs.statSync(path.join(dataDir, DATA_FILE)).size)],
  ];

  const spawnedAt = performance.now();
  const permio = await startPermio(o.workers, { dataDir });
  try {
    const listeningMs = performance.now() - spawnedAt;
    const base = `http://127.0.0.1:${permio.ports.http_port}`;
    await until200(`${base}/healthz`);
    const healthyMs = performance.now() - spawnedAt;
    const pid = permio.child.pid!;
    const idle = residentBytes(pid);

    const smallest = built.projects[0]!;
    const biggest = built.projects[built.projects.length - 1]!;
    const firstSmall = await probeCheck(base, built.key, smallest);
    const secondSmall = await probeCheck(base, built.key, smallest);
    const firstBig = await probeCheck(base, built.key, biggest);
    const secondBig = await probeCheck(base, built.key, biggest);
    // first checks of further principals of the biggest project, one at a time: each loads that principal's grants
    const firsts = new LatencyHistogram();
    const sampled = principalsOf(biggest).filter((u) => u !== biggest.probe.principal).slice(0, FIRST_CHECKS_SAMPLED);
    for (const u of sampled) firsts.record((await timedCheck(base, built.key, biggest.name, u, '/org0', 'read')).ms);
    const otherFirsts: number[] = [];
    for (const p of built.projects.slice(1, -1)) otherFirsts.push(await probeCheck(base, built.key, p));
    // then every principal of every project once, which loads every grant
    const warmStarted = performance.now();
    const tasks = built.projects.flatMap((p) => principalsOf(p).map((u) => () => timedCheck(base, built.key, p.name, u, '/org0', 'read')));
    await inParallel(tasks, WARM_CONCURRENCY);
    const warmSeconds = (performance.now() - warmStarted) / 1000;
    const loaded = residentBytes(pid);
    const perGrant = (a: number, b: number) => ((b - a) / built.storedGrants).toFixed(1);

    rows.push(
      ['spawn → `listening` log line', `${ms(listeningMs)} ms`],
      ['spawn → `/healthz` 200', `${ms(healthyMs)} ms`],
      [`first check, small project (${int(small)} grants; loads its schema and one principal)`, `${ms(firstSmall)} ms`],
      ['second check, same project', `${ms(secondSmall)} ms`],
      [`first check, biggest project (${int(big)} grants, ${int(principalCount(big))} principals)`, `${ms(firstBig)} ms`],
      ['second check, same project', `${ms(secondBig)} ms`],
      [
        `first checks of ${sampled.length} more principals of the biggest project, one at a time: p50 / p99 / max`,
        `${ms(firsts.percentile(0.5))} / ${ms(firsts.percentile(0.99))} / ${ms(firsts.percentile(1))} ms`,
      ],
      [`first check, the other ${otherFirsts.length} small projects`, `${ms(Math.min(...otherFirsts))}–${ms(Math.max(...otherFirsts))} ms`],
      [`every principal checked once (${int(tasks.length)} checks, ${WARM_CONCURRENCY} in flight): loads all grants`, `${warmSeconds.toFixed(1)} s`],
      ['server RSS after /healthz (nothing loaded)', `${bytes(idle.rss)} (anon ${bytes(idle.anon)}, file ${bytes(idle.file)})`],
      ['server RSS, every grant loaded', `${bytes(loaded.rss)} (anon ${bytes(loaded.anon)}, file ${bytes(loaded.file)})`],
      ['resident bytes per grant: RSS growth / grants', `${perGrant(idle.rss, loaded.rss)} B`],
      ['… of which anonymous (heaps, trie arrays; not LMDB pages)', `${perGrant(idle.anon, loaded.anon)} B`],
    );
  } finally {
    await permio.stop();
    if (!o.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return { rows, dataDir };
}

export function formatColdRows(r: ColdReport): string {
  return markdownTable(['measure', 'value'], 'lr', r.rows);
}
