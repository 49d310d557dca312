// `--only=watch`: what revisions, the change log, tokens and Watch cost. The REST check rate with them against a
// build without them (`--against=DIR`, same run, alternating rounds, see ab.bench.ts), and sequential durable grant
// writes — one client, one write at a time, each on a fresh URI — on both builds: a write's latency is the writer
// path (apply, change log, commit, fsync) plus one round trip. Then durable grant writes/s with 0, 100 and 1,000
// WebSocket watchers on the written project, and the delivery latency from a write's 200 to its event at 100.
import type { AbRow } from './ab.bench.js';
import { autocannonInChild } from './autocannon-load.js';
import { LatencyHistogram } from './latency.js';
import { cpuMeter, startPermio } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms, pct } from './table.js';
import { openCountingWatchers, openTimingWatchers } from './watchers.js';
import { noErrors, writeLoad } from './writes.bench.js';

export interface SequentialWriteOptions {
  /** The other build's `dist` directory. */
  against: string;
  workers: number;
  /** Alternating rounds (each measures both builds once). */
  rounds: number;
  /** Writes per build and round. */
  writesPerRound: number;
}

export interface SequentialWriteRow {
  build: 'other' | 'this';
  writes: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** `count` grants one after another on one keep-alive connection; each latency into `h`. */
async function sequentialGrants(url: string, ds: Dataset, tag: string, count: number, h: LatencyHistogram): Promise<number> {
  const headers = { authorization: `Bearer ${ds.key}`, 'content-type': 'application/json' };
  let total = 0;
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ project_name: ds.project, user_id: 'seq-writer', resource_uri: `/seq/${tag}/${i}`, permissions: ds.permissions.slice(0, 2) });
    const started = performance.now();
    const res = await fetch(`${url}/v1/grants`, { method: 'POST', headers, body });
    await res.arrayBuffer();
    const elapsed = performance.now() - started;
    if (res.status !== 200) throw new Error(`sequential grant: ${res.status}`);
    h.record(elapsed);
    total += elapsed;
  }
  return total;
}

export async function runSequentialWriteBench(o: SequentialWriteOptions): Promise<SequentialWriteRow[]> {
  const other = await startPermio(o.workers, { dist: o.against });
  const mine = await startPermio(o.workers);
  try {
    const servers = await Promise.all(
      [other, mine].map(async (p) => {
        const url = `http://127.0.0.1:${p.ports.http_port}`;
        return { url, ds: await seedDataset(url, p.adminKey), h: new LatencyHistogram(), totalMs: 0 };
      }),
    );
    for (const s of servers) await sequentialGrants(s.url, s.ds, 'warm-up', o.writesPerRound / 10, new LatencyHistogram());
    for (let round = 0; round < o.rounds; round++) {
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const s = servers[i]!;
        s.totalMs += await sequentialGrants(s.url, s.ds, `r${round}`, o.writesPerRound, s.h);
      }
    }
    return servers.map((s, i) => ({
      build: i === 0 ? ('other' as const) : ('this' as const),
      writes: s.h.total,
      meanMs: s.totalMs / s.h.total,
      p50Ms: s.h.percentile(0.5),
      p99Ms: s.h.percentile(0.99),
    }));
  } finally {
    await Promise.all([other.stop(), mine.stop()]);
  }
}

/** One table: the check A/B rows, then the sequential writes of both builds. */
export function formatWatchRows(checks: readonly AbRow[], writes: readonly SequentialWriteRow[]): string {
  const [other, mine] = writes;
  const rows = checks.map((r) => [r.scenario, `${int(r.baseRps)} req/s`, `${int(r.thisRps)} req/s`, (r.thisRps / r.baseRps).toFixed(3)]);
  if (other && mine) {
    rows.push(
      ['sequential grant writes, mean latency', `${ms(other.meanMs)} ms`, `${ms(mine.meanMs)} ms`, (other.meanMs / mine.meanMs).toFixed(3)],
      ['sequential grant writes, p50 / p99', `${ms(other.p50Ms)} / ${ms(other.p99Ms)} ms`, `${ms(mine.p50Ms)} / ${ms(mine.p99Ms)} ms`, ''],
    );
  }
  return markdownTable(['scenario', 'without (other build)', 'with (this build)', 'with / without (speed)'], 'lrrr', rows);
}

export interface WatcherWriteOptions {
  workers: number;
  durationSec: number;
  /** Watchers connected during each figure, e.g. [0, 100, 1000]. */
  watcherCounts: readonly number[];
  /** Rounds over the counts (alternating order), averaged. */
  rounds: number;
}

export interface WatcherWriteRow {
  watchers: number;
  writesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Watch messages all watchers together received per second. */
  messagesPerSec: number;
  serverCores: number;
  boxCores: number;
}

const WRITE_CONNECTIONS = 100;

/** Durable grant writes (100 connections, fresh URIs) while `n` watchers of the project are connected. */
export async function runWatcherWriteBench(o: WatcherWriteOptions): Promise<WatcherWriteRow[]> {
  const permio = await startPermio(o.workers);
  const base = `http://127.0.0.1:${permio.ports.http_port}`;
  try {
    const ds = await seedDataset(base, permio.adminKey);
    const sums = new Map<number, WatcherWriteRow & { runs: number }>();
    for (let round = 0; round < o.rounds; round++) {
      const counts = round % 2 === 0 ? o.watcherCounts : [...o.watcherCounts].reverse();
      for (const n of counts) {
        const watchers = await openCountingWatchers(base, { key: ds.key, project: ds.project }, n);
        const frames = watchers.frames();
        const stop = cpuMeter(permio.child.pid!);
        const r = noErrors('writes', await autocannonInChild(writeLoad(base, ds, WRITE_CONNECTIONS, o.durationSec)));
        const cpu = stop();
        await new Promise((resolve) => setTimeout(resolve, 500)); // the last events in flight
        const delivered = watchers.frames() - frames;
        watchers.close();
        const row = sums.get(n) ?? { watchers: n, writesPerSec: 0, p50Ms: 0, p99Ms: 0, messagesPerSec: 0, serverCores: 0, boxCores: 0, runs: 0 };
        row.writesPerSec += r.requestsPerSec;
        row.p50Ms += r.p50Ms;
        row.p99Ms += r.p99Ms;
        row.messagesPerSec += delivered / cpu.seconds;
        row.serverCores += cpu.serverCores;
        row.boxCores += cpu.boxCores;
        row.runs++;
        sums.set(n, row);
      }
    }
    return o.watcherCounts.map((n) => {
      const { runs, ...row } = sums.get(n)!;
      return {
        ...row,
        writesPerSec: row.writesPerSec / runs,
        p50Ms: row.p50Ms / runs,
        p99Ms: row.p99Ms / runs,
        messagesPerSec: row.messagesPerSec / runs,
        serverCores: row.serverCores / runs,
        boxCores: row.boxCores / runs,
      };
    });
  } finally {
    await permio.stop();
  }
}

export interface DeliveryOptions {
  workers: number;
  durationSec: number;
  watchers: number;
  /** Writers, each one grant at a time. */
  writers: number;
}

export interface DeliveryRow {
  watchers: number;
  writes: number;
  samples: number;
  /** Events that never arrived (must be 0). */
  missing: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Delivery latency: from the moment a write's 200 is read to the moment each watcher has read its event. */
export async function runDeliveryBench(o: DeliveryOptions): Promise<DeliveryRow> {
  const permio = await startPermio(o.workers);
  const base = `http://127.0.0.1:${permio.ports.http_port}`;
  try {
    const ds = await seedDataset(base, permio.adminKey);
    const watchers = await openTimingWatchers(base, { key: ds.key, project: ds.project }, o.watchers);
    const answered = new Map<string, number>();
    const headers = { authorization: `Bearer ${ds.key}`, 'content-type': 'application/json' };
    const until = performance.now() + o.durationSec * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: o.writers }, async (_, w) => {
        while (performance.now() < until) {
          const body = JSON.stringify({ project_name: ds.project, user_id: `watched-${w}`, resource_uri: `/delivery/${w}/${n++}`, permissions: ds.permissions.slice(0, 1) });
          const res = await fetch(`${base}/v1/grants`, { method: 'POST', headers, body });
          await res.arrayBuffer();
          const at = performance.now();
          if (res.status !== 200) throw new Error(`delivery grant: ${res.status}`);
          answered.set(res.headers.get('permio-revision')!, at);
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last events in flight
    watchers.close();
    const h = new LatencyHistogram();
    let missing = 0;
    let max = 0;
    for (const seen of watchers.arrivals) {
      for (const [token, at200] of answered) {
        const at = seen.get(token);
        if (at === undefined) {
          missing++;
          continue;
        }
        const latency = Math.max(0, at - at200); // an event may be read before its 200 (two sockets): 0
        max = Math.max(max, latency);
        h.record(latency);
      }
    }
    return { watchers: o.watchers, writes: answered.size, samples: h.total, missing, p50Ms: h.percentile(0.5), p99Ms: h.percentile(0.99), maxMs: max };
  } finally {
    await permio.stop();
  }
}

/** The watcher table: write rates beside the 0-watcher rate, then the delivery latency. */
export function formatWatcherRows(rows: readonly WatcherWriteRow[], delivery: DeliveryRow | undefined): string {
  const zero = rows.find((r) => r.watchers === 0)?.writesPerSec;
  const table = rows.map((r) => [
    `durable grants, ${WRITE_CONNECTIONS} connections, ${int(r.watchers)} watchers`,
    `${int(r.writesPerSec)} writes/s`,
    `${ms(r.p50Ms)} / ${ms(r.p99Ms)} ms`,
    zero ? pct(r.writesPerSec / zero) : '',
    int(r.messagesPerSec),
    `${r.serverCores.toFixed(2)} / ${r.boxCores.toFixed(2)}`,
  ]);
  if (delivery) {
    table.push([
      `delivery, write 200 → event, ${int(delivery.watchers)} watchers (${int(delivery.writes)} writes, ${int(delivery.samples)} events, ${delivery.missing} missing)`,
      '',
      `p50 ${ms(delivery.p50Ms)} / p99 ${ms(delivery.p99Ms)} ms (max ${ms(delivery.maxMs)})`,
      '',
      '',
      '',
    ]);
  }
  return markdownTable(['scenario', 'rate', 'latency', 'vs 0 watchers', 'messages delivered/s', 'server / box cores'], 'lrrrrr', table);
}
