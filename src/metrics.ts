// Prometheus metrics (prom-client): per-RPC request counts and latency, check volume, queues, writer batches, LMDB size.
import fs from 'node:fs';
import client from 'prom-client';

export type Transport = 'rest' | 'grpc';

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

/**
 * A count kept as a plain number on the request path and added to its prom-client counter at scrape time: a
 * counter's inc() builds a label-hash string and objects on every call, garbage that made up ~15 % of what a check
 * allocates on the main thread (and so of its young-generation collections).
 */
class PendingCount {
  n = 0;
  constructor(readonly counter: { inc(value: number): void }) {}
}
const pendingCounts: PendingCount[] = [];

function pendingCount(counter: { inc(value: number): void }): PendingCount {
  const p = new PendingCount(counter);
  pendingCounts.push(p);
  return p;
}

/** `collect` of every counter fed by a PendingCount: moves the counts in before the registry reads them. */
function addPendingCounts(): void {
  for (const p of pendingCounts) {
    if (p.n === 0) continue;
    p.counter.inc(p.n);
    p.n = 0;
  }
}

const requests = new client.Counter({
  name: 'permio_requests_total',
  help: 'Requests answered, by transport, RPC (or route) and status',
  labelNames: ['transport', 'rpc', 'status'] as const,
  registers: [registry],
  collect: addPendingCounts,
});

const latency = new client.Histogram({
  name: 'permio_request_duration_seconds',
  help: 'Time from request received to response written, by transport and RPC',
  labelNames: ['transport', 'rpc'] as const,
  buckets: [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

const checks = pendingCount(new client.Counter({ name: 'permio_checks_total', help: 'Check requests answered', registers: [registry], collect: addPendingCounts }));
const pairs = pendingCount(
  new client.Counter({
    name: 'permio_check_pairs_total',
    help: 'Resource × permission pairs checked',
    registers: [registry],
    collect: addPendingCounts,
  }),
);

const writerBatch = new client.Histogram({
  name: 'permio_writer_batch_commands',
  help: 'Commands per writer group commit',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
  registers: [registry],
});

const writerCommit = new client.Histogram({
  name: 'permio_writer_commit_seconds',
  help: 'Time from a write batch sent to the writer until it is durable and answered',
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

/** Children cached per label set: the hot path must not hash labels on every request. */
const latencyChildren = new Map<string, client.Histogram.Internal<'transport' | 'rpc'>>();
const requestChildren = new Map<string, PendingCount>();

/** Records one answered request; `startedAt` from `performance.now()`. */
export function observeRequest(transport: Transport, rpc: string, status: number, startedAt: number): void {
  const key = transport + rpc;
  let h = latencyChildren.get(key);
  if (h === undefined) latencyChildren.set(key, (h = latency.labels(transport, rpc)));
  h.observe((performance.now() - startedAt) / 1000);
  const ckey = key + status;
  let c = requestChildren.get(ckey);
  if (c === undefined) requestChildren.set(ckey, (c = pendingCount(requests.labels(transport, rpc, String(status)))));
  c.n++;
}

export function observeCheck(pairCount: number): void {
  checks.n++;
  pairs.n += pairCount;
}

const checkCache = new client.Counter({
  name: 'permio_check_cache_total',
  help: 'Checks by answer source: hit (main-thread cache), miss (worker, then cached), uncached (worker; batch too large or cache off)',
  labelNames: ['result'] as const,
  registers: [registry],
  collect: addPendingCounts,
});
const checkCacheChildren = {
  hit: pendingCount(checkCache.labels('hit')),
  miss: pendingCount(checkCache.labels('miss')),
  uncached: pendingCount(checkCache.labels('uncached')),
};

export function observeCheckCache(result: keyof typeof checkCacheChildren): void {
  checkCacheChildren[result].n++;
}

export function observeWriterBatch(commands: number, seconds: number): void {
  writerBatch.observe(commands);
  writerCommit.observe(seconds);
}

/** Cluster mode's gauges (SPEC §12), read at scrape time. */
export function registerReplicaGauges(status: () => { connected: boolean; lagEntries: number } | undefined): void {
  new client.Gauge({
    name: 'permio_log_connected',
    help: 'Cluster mode: 1 while the NATS JetStream write log is reachable, else 0',
    registers: [registry],
    collect() {
      this.set(status()?.connected ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'permio_replica_lag_revisions',
    help: 'Cluster mode: log entries (group commits, each one or more revisions) stored in the log and not yet applied here',
    registers: [registry],
    collect() {
      this.set(status()?.lagEntries ?? 0);
    },
  });
}

/** Gauges read at scrape time: worker queue depths and the size of the LMDB data file (`dataFile`, a path). */
export function registerGauges(opts: { queueDepths: () => number[]; dataFile: string }): void {
  new client.Gauge({
    name: 'permio_worker_queue_depth',
    help: 'Ops waiting for each check worker',
    labelNames: ['worker'] as const,
    registers: [registry],
    collect() {
      opts.queueDepths().forEach((depth, i) => this.set({ worker: String(i) }, depth));
    },
  });
  new client.Gauge({
    name: 'permio_lmdb_bytes',
    help: 'Size of the LMDB data file',
    registers: [registry],
    collect() {
      try {
        this.set(fs.statSync(opts.dataFile).size);
      } catch {
        this.set(0);
      }
    },
  });
}

/** The Prometheus text exposition. */
export function renderMetrics(): Promise<string> {
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;

const watchCutOffs = new client.Counter({
  name: 'permio_watch_slow_consumers_total',
  help: 'Watch streams cut off because the watcher left more than PERMIO_WATCH_MAX_BUFFER_MB unread',
  registers: [registry],
});

export function observeWatchCutOff(): void {
  watchCutOffs.inc();
}

/** `permio_watchers`: the open Watch streams (replaying or live). */
export function registerWatchGauge(open: () => number): void {
  new client.Gauge({
    name: 'permio_watchers',
    help: 'Open Watch streams, replaying or live',
    registers: [registry],
    collect() {
      this.set(open());
    },
  });
}
