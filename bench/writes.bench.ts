// Write load: grants through REST (each answered once durable), at 32, 100 and 500 connections, with the writer's
// group-commit size and commit latency from /metrics; then the check rate alone vs while grants stream in.
import type autocannon from 'autocannon';
import { autocannonInChild, type AutocannonSummary } from './autocannon-load.js';
import { cpuMeter, startPermio } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms, pct } from './table.js';

export interface WritesOptions {
  durationSec: number;
  /** Connections of the check load. */
  connections: number;
  workers: number;
}

export interface WriteRow {
  scenario: string;
  writesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  commitsPerSec: number;
  commandsPerCommit: number;
  commitMs: number;
  /** Growth of the LMDB data file per acknowledged write. */
  fileBytesPerWrite: number;
  serverCores: number;
  loadCores: number;
  boxCores: number;
}

export interface MixRow {
  scenario: string;
  checksPerSec: number;
  p99Ms: number;
  writesPerSec?: number;
  dip?: number;
  serverCores: number;
  loadCores: number;
  boxCores: number;
}

const WRITE_CONNECTIONS = [32, 100, 500];
const MIX_WRITE_CONNECTIONS = 100;
const PACED_WRITES_PER_SEC = 1000; // a steady trickle, beside the flat-out stream
const PACED_CONNECTIONS = 10;
const WRITER_PRINCIPALS = 16; // grants go to these principals, each on a fresh URI

interface WriterMetrics {
  commands: number;
  commits: number;
  commitSeconds: number;
  lmdbBytes: number;
}

/** The writer's counters from `/metrics`: commands, group commits, their time (sent → answered), the LMDB file size. */
export async function writerMetrics(base: string): Promise<WriterMetrics> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    commands: value('permio_writer_batch_commands_sum'),
    commits: value('permio_writer_batch_commands_count'),
    commitSeconds: value('permio_writer_commit_seconds_sum'),
    lmdbBytes: value('permio_lmdb_bytes'),
  };
}

/** Grant requests on unique URIs: autocannon replaces `[<id>]` per request (`idReplacement`). */
export function writeLoad(base: string, ds: Dataset, connections: number, durationSec: number, rate?: number): autocannon.Options {
  return {
    url: `${base}/v1/grants`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ds.key}` },
    idReplacement: true,
    requests: Array.from({ length: WRITER_PRINCIPALS }, (_, i) => ({
      method: 'POST' as const,
      body: JSON.stringify({
        project_name: ds.project,
        user_id: `writer-${i}`,
        resource_uri: `/writes/w${i}/[<id>]`,
        permissions: ds.permissions.slice(0, 2),
      }),
    })),
    connections,
    duration: durationSec,
    ...(rate === undefined ? {} : { overallRate: rate }),
  };
}

export function checkLoad(base: string, ds: Dataset, connections: number, durationSec: number): autocannon.Options {
  return {
    url: `${base}/v1/check`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ds.key}` },
    body: JSON.stringify({ project_name: ds.project, principal_id: ds.principal, resource_uris: ds.uris.slice(0, 1), permissions: ds.permissions.slice(0, 1) }),
    connections,
    duration: durationSec,
  };
}

export function noErrors(name: string, r: AutocannonSummary): AutocannonSummary {
  if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.total}`);
  return r;
}

export async function runWritesBench(o: WritesOptions): Promise<{ writes: WriteRow[]; mix: MixRow[] }> {
  const permio = await startPermio(o.workers);
  const base = `http://127.0.0.1:${permio.ports.http_port}`;
  const writes: WriteRow[] = [];
  const mix: MixRow[] = [];
  try {
    const ds = await seedDataset(base, permio.adminKey);
    const pid = permio.child.pid!;
    /** Runs `loads` at once; returns their summaries and the server's busy cores meanwhile. */
    const measure = async (...loads: autocannon.Options[]) => {
      const stopMeter = cpuMeter(pid);
      const results = await Promise.all(loads.map((l) => autocannonInChild(l)));
      return { results, ...stopMeter() };
    };

    for (const connections of WRITE_CONNECTIONS) {
      const before = await writerMetrics(base);
      const m = await measure(writeLoad(base, ds, connections, o.durationSec));
      const r = noErrors('writes', m.results[0]!);
      const after = await writerMetrics(base);
      const commits = after.commits - before.commits;
      writes.push({
        scenario: `grants, ${connections} connections`,
        writesPerSec: r.requestsPerSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        commitsPerSec: commits / m.seconds,
        commandsPerCommit: (after.commands - before.commands) / commits,
        commitMs: ((after.commitSeconds - before.commitSeconds) / commits) * 1000,
        fileBytesPerWrite: (after.lmdbBytes - before.lmdbBytes) / r.total,
        serverCores: m.serverCores,
        loadCores: r.loadCores,
        boxCores: m.boxCores,
      });
    }

    // Checks alone before and after each mixed figure (the box is shared: rates drift); the dip is against their mean.
    const checksAlone = async () => {
      const m = await measure(checkLoad(base, ds, o.connections, o.durationSec));
      const r = noErrors('checks', m.results[0]!);
      const row: MixRow = {
        scenario: `checks 1×1 alone (${o.connections} connections)`,
        checksPerSec: r.requestsPerSec,
        p99Ms: r.p99Ms,
        serverCores: m.serverCores,
        loadCores: r.loadCores,
        boxCores: m.boxCores,
      };
      return row;
    };
    let alone = await checksAlone();
    mix.push(alone);
    for (const [scenario, writeOptions] of [
      [`checks + grants flat out (${MIX_WRITE_CONNECTIONS} connections)`, writeLoad(base, ds, MIX_WRITE_CONNECTIONS, o.durationSec)],
      [`checks + grants at ${int(PACED_WRITES_PER_SEC)}/s`, writeLoad(base, ds, PACED_CONNECTIONS, o.durationSec, PACED_WRITES_PER_SEC)],
    ] as const) {
      const m = await measure(checkLoad(base, ds, o.connections, o.durationSec), writeOptions);
      const c = noErrors('checks', m.results[0]!);
      const w = noErrors('writes', m.results[1]!);
      const next = await checksAlone();
      const reference = (alone.checksPerSec + next.checksPerSec) / 2;
      mix.push({
        scenario,
        checksPerSec: c.requestsPerSec,
        p99Ms: c.p99Ms,
        writesPerSec: w.requestsPerSec,
        dip: 1 - c.requestsPerSec / reference,
        serverCores: m.serverCores,
        loadCores: c.loadCores + w.loadCores,
        boxCores: m.boxCores,
      });
      mix.push(next);
      alone = next;
    }
  } finally {
    await permio.stop();
  }
  return { writes, mix };
}

export function formatWriteRows(rows: readonly WriteRow[]): string {
  return markdownTable(
    ['scenario', 'durable writes/s', 'p50 ms¹', 'p99 ms¹', 'commits/s', 'commands per commit', 'commit ms (avg)', 'LMDB file growth per write', 'server CPU (cores)', 'load-gen CPU (cores)', 'whole box busy (cores)'],
    'lrrrrrrrrrr',
    rows.map((r) => [
      r.scenario,
      int(r.writesPerSec),
      String(r.p50Ms),
      String(r.p99Ms),
      int(r.commitsPerSec),
      r.commandsPerCommit.toFixed(1),
      ms(r.commitMs),
      `${int(r.fileBytesPerWrite)} B`,
      r.serverCores.toFixed(2),
      r.loadCores.toFixed(2),
      r.boxCores.toFixed(2),
    ]),
  );
}

export function formatMixRows(rows: readonly MixRow[]): string {
  return markdownTable(
    ['scenario', 'checks/s', 'check p99 ms¹', 'writes/s meanwhile', 'check rate dip vs the alone rows around it', 'server CPU (cores)', 'load-gen CPU (cores)', 'whole box busy (cores)'],
    'lrrrrrrr',
    rows.map((r) => [
      r.scenario,
      int(r.checksPerSec),
      String(r.p99Ms),
      r.writesPerSec === undefined ? '' : int(r.writesPerSec),
      r.dip === undefined ? '(reference)' : pct(r.dip),
      r.serverCores.toFixed(2),
      r.loadCores.toFixed(2),
      r.boxCores.toFixed(2),
    ]),
  );
}
