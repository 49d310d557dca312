// `--only=watch`: what revisions, the change log and tokens cost. The REST check rate with them against a build
// without them (`--against=DIR`, same run, alternating rounds, see ab.bench.ts), and sequential durable grant writes
// — one client, one write at a time, each on a fresh URI — on both builds: a write's latency is the writer path
// (apply, change log, commit, fsync) plus one round trip.
import type { AbRow } from './ab.bench.js';
import { LatencyHistogram } from './latency.js';
import { startPermio } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { int, markdownTable, ms } from './table.js';

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
