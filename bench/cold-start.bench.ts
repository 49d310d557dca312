// Cold start: builds an LMDB data directory of N grants through the real store writer, starts the server on it and
// times /healthz, the first (lazy-loading) check of a small and of the biggest project, and resident memory per grant.
//   npm run bench -- --only=cold                          1 M grants (default)
//   npm run bench -- --only=cold --cold-grants=10000000   10 M grants (the target; the build takes minutes)
//   --cold-keep keeps the data directory (its path is printed)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_FILE } from '../src/store/env.js';
import { residentBytes, startPermio } from './processes.js';
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

/** One check of the project's probe grant over REST; returns the round trip in ms (it must pass). */
async function timedCheck(base: string, key: string, p: BuiltProject): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project_name: p.name, principal_id: p.probe.principal, resource_uris: [p.probe.uri], permissions: [p.probe.permission] }),
  });
  const body = (await res.json()) as { passed?: boolean };
  const elapsed = performance.now() - started;
  if (res.status !== 200 || body.passed !== true) throw new Error(`cold check ${p.name}: ${res.status} ${JSON.stringify(body)}`);
  return elapsed;
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
    const firstSmall = await timedCheck(base, built.key, smallest);
    const secondSmall = await timedCheck(base, built.key, smallest);
    const firstBig = await timedCheck(base, built.key, biggest);
    const secondBig = await timedCheck(base, built.key, biggest);
    const otherFirsts: number[] = [];
    for (const p of built.projects.slice(1, -1)) otherFirsts.push(await timedCheck(base, built.key, p));
    const loaded = residentBytes(pid);
    const perGrant = (a: number, b: number) => ((b - a) / built.storedGrants).toFixed(1);

    rows.push(
      ['spawn → `listening` log line', `${ms(listeningMs)} ms`],
      ['spawn → `/healthz` 200', `${ms(healthyMs)} ms`],
      [`first check, small project (${int(small)} grants; loads it)`, `${ms(firstSmall)} ms`],
      ['second check, same project', `${ms(secondSmall)} ms`],
      [`first check, biggest project (${int(big)} grants; loads it)`, `${ms(firstBig)} ms`],
      ['second check, same project', `${ms(secondBig)} ms`],
      [`first check, the other ${otherFirsts.length} small projects`, `${ms(Math.min(...otherFirsts))}–${ms(Math.max(...otherFirsts))} ms`],
      ['server RSS after /healthz (nothing loaded)', `${bytes(idle.rss)} (anon ${bytes(idle.anon)}, file ${bytes(idle.file)})`],
      ['server RSS, every project loaded', `${bytes(loaded.rss)} (anon ${bytes(loaded.anon)}, file ${bytes(loaded.file)})`],
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
