// REST load test: autocannon against Permio's /v1/check and, in the same run, against a bare uWS hello server.
import autocannon from 'autocannon';
import { startPermio, startProcess } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';

export interface LoadRow {
  scenario: string;
  requestsPerSec: number;
  pairsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  baselineRatio?: number;
}

export interface LoadOptions {
  durationSec: number;
  connections: number;
  pipelining: number;
  workers: number;
}

/** Connections for the fixed-rate latency run: autocannon paces each connection, so many connections burst. */
const LATENCY_CONNECTIONS = 10;

/** Per-run variations: a fixed rate (the latency run) or a pipelining factor. */
interface LoadVariant {
  rate?: number;
  pipelining?: number;
}

/** One autocannon run of POSTs of `body`; throws on any non-2xx answer or socket error. */
export async function load(url: string, body: string, headers: Record<string, string>, o: LoadOptions, v: LoadVariant = {}) {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections: v.rate ? LATENCY_CONNECTIONS : o.connections,
    pipelining: v.pipelining ?? o.pipelining,
    duration: o.durationSec,
    ...(v.rate ? { overallRate: v.rate } : {}),
  });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/** A check of the dataset's principal on its first `uris` resources × first `perms` permissions. */
export function checkBody(ds: Dataset, uris: number, perms: number): string {
  return JSON.stringify({
    project_name: ds.project,
    principal_id: ds.principal,
    resource_uris: ds.uris.slice(0, uris),
    permissions: ds.permissions.slice(0, perms),
  });
}

/** The pipelining factor of the pipelined rows (autocannon `-p`). */
const PIPELINED = 10;

/** Cumulative counts of the server's REST Check latency histogram (`/metrics`), by bucket bound in seconds. */
async function checkLatencyBuckets(base: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<number, number>();
  const re = /^permio_request_duration_seconds_bucket\{le="([^"]+)",transport="rest",rpc="Check"\} (\d+)$/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/**
 * The server-side p99 of the Check requests between two histogram snapshots, as the bucket bound it falls under
 * (autocannon reports whole milliseconds; the server's histogram has 0.1, 0.25, 0.5, 0.75 and 1 ms buckets).
 */
function p99Bound(before: Map<number, number>, after: Map<number, number>): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const le of bounds) if ((after.get(le)! - (before.get(le) ?? 0)) >= 0.99 * total) return le * 1000;
  return Infinity;
}

/** The same load at half of `peakRps`, with the server-side p99 read from its histogram around the run. */
async function halfOfPeak(server: string, body: string, auth: Record<string, string>, o: LoadOptions, peakRps: number, label: string): Promise<LoadRow> {
  const before = await checkLatencyBuckets(server);
  const half = await load(`${server}/v1/check`, body, auth, o, { rate: Math.round(peakRps / 2) });
  const serverP99 = p99Bound(before, await checkLatencyBuckets(server));
  return {
    scenario: `${label} at half of peak (server-side p99 ≤ ${serverP99} ms)`,
    requestsPerSec: half.rps,
    pairsPerSec: half.rps,
    p50Ms: half.p50,
    p99Ms: half.p99,
  };
}

const RATE_LIMIT_NEVER_REACHED = 1_000_000_000; // requests per minute

async function limitOrganisation(base: string, adminKey: string, orgId: string, perMinute: number): Promise<void> {
  const res = await fetch(`${base}/v1/organisations/${orgId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ plan: 'enterprise', rate_limit_per_minute: perMinute }),
  });
  if (res.status !== 200) throw new Error(`PATCH organisation: ${res.status} ${await res.text()}`);
}

/** Runs the REST scenarios; every ratio is against the bare uWS server measured in this run. */
export async function runHttpBench(o: LoadOptions): Promise<LoadRow[]> {
  const rows: LoadRow[] = [];
  const hello = await startProcess('bench/hello-uws.js');
  const helloUrl = `http://127.0.0.1:${hello.ports.http_port}/v1/check`;
  const permio = await startPermio(o.workers);
  try {
    const ds = await seedDataset(`http://127.0.0.1:${permio.ports.http_port}`, permio.adminKey);
    const url = `http://127.0.0.1:${permio.ports.http_port}/v1/check`;
    const auth = { authorization: `Bearer ${ds.key}` };

    const base = await load(helloUrl, checkBody(ds, 1, 1), {}, o);
    rows.push({ scenario: 'bare uWS hello (baseline)', requestsPerSec: base.rps, pairsPerSec: 0, p50Ms: base.p50, p99Ms: base.p99 });

    for (const [name, nUris, nPerms] of [
      ['REST check 1×1', 1, 1],
      ['REST check 10×10', 10, 10],
      ['REST check 100×2', 100, 2],
    ] as const) {
      const r = await load(url, checkBody(ds, nUris, nPerms), auth, o);
      rows.push({
        scenario: name,
        requestsPerSec: r.rps,
        pairsPerSec: r.rps * nUris * nPerms,
        p50Ms: r.p50,
        p99Ms: r.p99,
        baselineRatio: r.rps / base.rps,
      });
      if (nUris === 1) rows.push(await halfOfPeak(`http://127.0.0.1:${permio.ports.http_port}`, checkBody(ds, 1, 1), auth, o, r.rps, 'REST check 1×1'));
    }

    // HTTP/1.1 pipelining: uWS answers a pipelined request only from its own microtasks, which a cached answer is.
    const helloPipelined = await load(helloUrl, checkBody(ds, 1, 1), {}, o, { pipelining: PIPELINED });
    rows.push({ scenario: `bare uWS hello, pipelining ${PIPELINED} (baseline of the next row)`, requestsPerSec: helloPipelined.rps, pairsPerSec: 0, p50Ms: helloPipelined.p50, p99Ms: helloPipelined.p99 });
    const pipelined = await load(url, checkBody(ds, 1, 1), auth, o, { pipelining: PIPELINED });
    rows.push({
      scenario: `REST check 1×1, pipelining ${PIPELINED} (repeated request: cached)`,
      requestsPerSec: pipelined.rps,
      pairsPerSec: pipelined.rps,
      p50Ms: pipelined.p50,
      p99Ms: pipelined.p99,
      baselineRatio: pipelined.rps / helloPipelined.rps,
    });

    // The cost of rate limiting on the check path: the same 1×1 load once the organisation has a (never
    // reached) limit, so every request takes a token and carries the X-RateLimit-* headers.
    const server = `http://127.0.0.1:${permio.ports.http_port}`;
    await limitOrganisation(server, permio.adminKey, ds.organisationId, RATE_LIMIT_NEVER_REACHED);
    const limited = await load(url, checkBody(ds, 1, 1), auth, o);
    rows.push({
      scenario: 'REST check 1×1, rate-limited key (limit never reached)',
      requestsPerSec: limited.rps,
      pairsPerSec: limited.rps,
      p50Ms: limited.p50,
      p99Ms: limited.p99,
      baselineRatio: limited.rps / base.rps,
    });

    // The rows above repeat one body, so after the first request they are answered from the main thread's cache.
    // The same loads on a server with the cache off: every check goes to its worker (what a check never asked
    // before costs).
    const uncached = await startPermio(o.workers, { env: { PERMIO_CHECK_CACHE_MB: '0' } });
    try {
      const ds2 = await seedDataset(`http://127.0.0.1:${uncached.ports.http_port}`, uncached.adminKey);
      const url2 = `http://127.0.0.1:${uncached.ports.http_port}/v1/check`;
      const auth2 = { authorization: `Bearer ${ds2.key}` };
      for (const [name, nUris, nPerms] of [
        ['REST check 1×1, answer cache off (worker hop)', 1, 1],
        ['REST check 10×10, answer cache off (worker hop)', 10, 10],
        ['REST check 100×2, answer cache off (worker hop)', 100, 2],
      ] as const) {
        const r = await load(url2, checkBody(ds2, nUris, nPerms), auth2, o);
        rows.push({ scenario: name, requestsPerSec: r.rps, pairsPerSec: r.rps * nUris * nPerms, p50Ms: r.p50, p99Ms: r.p99, baselineRatio: r.rps / base.rps });
        if (nUris === 1) rows.push(await halfOfPeak(`http://127.0.0.1:${uncached.ports.http_port}`, checkBody(ds2, 1, 1), auth2, o, r.rps, 'REST check 1×1, cache off,'));
      }
    } finally {
      await uncached.stop();
    }
  } finally {
    await permio.stop();
    await hello.stop();
  }
  return rows;
}
