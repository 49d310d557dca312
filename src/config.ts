// Reads PERMIO_* once, validates each value and returns one frozen Config.
import os from 'node:os';
import path from 'node:path';

export type Plan = 'free' | 'pro' | 'enterprise';
export const PLANS: readonly Plan[] = ['free', 'pro', 'enterprise'];

export interface Config {
  readonly httpPort: number;
  readonly grpcPort: number;
  /** PERMIO_HOST: the address both ports listen on (SPEC §13). */
  readonly host: string;
  /** PERMIO_TLS_CERT and PERMIO_TLS_KEY: TLS for REST, WebSocket and gRPC alike; undefined: plain TCP. */
  readonly tls: TlsFiles | undefined;
  readonly dataDir: string;
  readonly workers: number;
  /** The operator key from PERMIO_ADMIN_KEY, or undefined to read/create `$dataDir/admin.key`. */
  readonly adminKey: string | undefined;
  readonly defaultPlan: Plan;
  readonly logLevel: 'silent' | 'info' | 'debug';
  /** API call log: fraction of successful checks recorded (others: every call), retention by age and size. */
  readonly callLog: {
    readonly enabled: boolean;
    readonly checkSampleRate: number;
    readonly retentionDays: number;
    readonly maxEntriesPerOrg: number;
  };
  /** The change log keeps at least this many of the last revisions (and everything younger than 24 h). */
  readonly changelogRetention: number;
  /** Budget of the main thread's cache of check answers, in characters (≈ bytes); 0 disables it. */
  readonly checkCacheChars: number;
  /** PERMIO_FAULT_INJECTION=1 enables operator-only `POST /debug/crash/*` routes (tests of crash recovery). */
  readonly faultInjection: boolean;
  /**
   * Tests only — PERMIO_TEST_CLOCK=1: the server's clock stands still (from its start time) and the operator moves it
   * with `POST /debug/clock?advance_ms=N`, so tests of time (updated_at, rate limits, expiry) need no sleeps.
   */
  readonly testClock: boolean;
  /** Started by `npm start` (npm sets `npm_lifecycle_event`): the server stops if npm, its parent, dies. */
  readonly underNpmStart: boolean;
  /** Cluster mode (SPEC §12): the shared write log in NATS JetStream; undefined without PERMIO_NATS_URL (one node). */
  readonly cluster: ClusterConfig | undefined;
  /** How long a read waits for a revision this node has not applied yet (cluster mode), in ms. */
  readonly consistencyWaitMs: number;
  /** Watch (SPEC §7): an idle stream's heartbeat period, and the unsent backlog past which a watcher is cut off. */
  readonly watch: {
    readonly heartbeatMs: number;
    readonly maxBufferBytes: number;
  };
  /** Largest import body (SPEC §9, PERMIO_IMPORT_MAX_MB): the one exception to the 1 MiB request limit. */
  readonly importMaxBytes: number;
}

/** PEM files: the certificate (chain) and its private key. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ClusterConfig {
  /** NATS server URLs (PERMIO_NATS_URL, comma-separated). */
  readonly natsUrls: readonly string[];
  /** The JetStream stream holding the write log. */
  readonly stream: string;
  /** The stream's replica count, used when this node creates it. */
  readonly replicas: number;
  /** This node's name: log consumer names, batch ids, metrics, logs. */
  readonly nodeId: string;
}

const DEFAULTS = {
  httpPort: 8080,
  grpcPort: 50051,
  host: '0.0.0.0', // SPEC §13: every IPv4 interface
  dataDir: './data',
  defaultPlan: 'enterprise' as Plan,
  checkSampleRate: 0.01, // 1 % of successful checks: logging must never be the bottleneck
  retentionDays: 7,
  maxEntriesPerOrg: 100_000,
  checkCacheMb: 64,
  natsStream: 'PERMIO_LOG',
  natsReplicas: 1,
  consistencyWaitMs: 2000,
  changelogRetention: 1_000_000, // SPEC §7
  watchHeartbeatS: 10, // SPEC §7
  watchMaxBufferMb: 16, // SPEC §7
  importMaxMb: 4096, // SPEC §9
};

function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}`);
  return n;
}

function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = readNumber(env, name, fallback, 0, Number.MAX_SAFE_INTEGER);
  if (!Number.isInteger(n)) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

const MAX_PORT = 65_535;

function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PORT) throw new Error(`${name} must be an integer port 0–${MAX_PORT}`);
  return n;
}

/** A host name or an IPv4/IPv6 address, as getaddrinfo takes it: no spaces, brackets, ports or schemes. */
const HOST = /^[A-Za-z0-9.:_%-]{1,253}$/;

function readHost(env: NodeJS.ProcessEnv): string {
  const host = env.PERMIO_HOST || DEFAULTS.host;
  if (!HOST.test(host)) throw new Error('PERMIO_HOST must be an IP address or a host name (e.g. 0.0.0.0, 127.0.0.1, ::)');
  return host;
}

function readTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const cert = env.PERMIO_TLS_CERT || undefined;
  const key = env.PERMIO_TLS_KEY || undefined;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new Error('PERMIO_TLS_CERT and PERMIO_TLS_KEY go together: set both (PEM files) for TLS, or neither');
  }
  return Object.freeze({ certFile: path.resolve(cert), keyFile: path.resolve(key) });
}

const MAX_NATS_REPLICAS = 5; // JetStream's limit
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/; // JetStream forbids '.', '*', '>', whitespace and path separators
const NODE_ID = /^[\x21-\x7e]{1,128}$/; // printable ASCII: it names consumers and batch ids

function readCluster(env: NodeJS.ProcessEnv): ClusterConfig | undefined {
  const urls = (env.PERMIO_NATS_URL ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) return undefined;
  const stream = env.PERMIO_NATS_STREAM || DEFAULTS.natsStream;
  if (!STREAM_NAME.test(stream)) throw new Error('PERMIO_NATS_STREAM must be 1–64 of A–Z, a–z, 0–9, _ and -');
  const replicas = readNumber(env, 'PERMIO_NATS_REPLICAS', DEFAULTS.natsReplicas, 1, MAX_NATS_REPLICAS);
  if (!Number.isInteger(replicas)) throw new Error(`PERMIO_NATS_REPLICAS must be an integer from 1 to ${MAX_NATS_REPLICAS}`);
  const nodeId = env.PERMIO_NODE_ID || os.hostname();
  if (!NODE_ID.test(nodeId)) throw new Error('PERMIO_NODE_ID must be 1–128 printable ASCII characters without spaces');
  return Object.freeze({ natsUrls: Object.freeze(urls), stream, replicas, nodeId });
}

/** Builds the Config from the environment; throws with the variable's name on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const workersRaw = env.PERMIO_WORKERS;
  let workers = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  if (workersRaw !== undefined && workersRaw !== '') {
    workers = Number(workersRaw);
    if (!Number.isInteger(workers) || workers < 1) throw new Error('PERMIO_WORKERS must be a positive integer');
  }
  const plan = (env.PERMIO_DEFAULT_PLAN || DEFAULTS.defaultPlan) as Plan;
  if (!PLANS.includes(plan)) throw new Error(`PERMIO_DEFAULT_PLAN must be one of ${PLANS.join(', ')}`);
  const adminKey = env.PERMIO_ADMIN_KEY || undefined;
  const level = env.PERMIO_LOG_LEVEL || 'info';
  if (level !== 'silent' && level !== 'info' && level !== 'debug')
    throw new Error('PERMIO_LOG_LEVEL must be silent, info or debug');
  return Object.freeze({
    httpPort: readPort(env, 'PERMIO_HTTP_PORT', DEFAULTS.httpPort),
    grpcPort: readPort(env, 'PERMIO_GRPC_PORT', DEFAULTS.grpcPort),
    host: readHost(env),
    tls: readTls(env),
    dataDir: path.resolve(env.PERMIO_DATA_DIR || DEFAULTS.dataDir),
    workers,
    adminKey,
    defaultPlan: plan,
    logLevel: level,
    faultInjection: env.PERMIO_FAULT_INJECTION === '1',
    testClock: env.PERMIO_TEST_CLOCK === '1',
    underNpmStart: env.npm_lifecycle_event === 'start',
    cluster: readCluster(env),
    consistencyWaitMs: readNumber(env, 'PERMIO_CONSISTENCY_WAIT_MS', DEFAULTS.consistencyWaitMs, 0, 3_600_000),
    changelogRetention: readCount(env, 'PERMIO_CHANGELOG_RETENTION', DEFAULTS.changelogRetention),
    watch: Object.freeze({
      heartbeatMs: Math.round(readNumber(env, 'PERMIO_WATCH_HEARTBEAT_S', DEFAULTS.watchHeartbeatS, 0.01, 86_400) * 1000),
      maxBufferBytes: Math.floor(readNumber(env, 'PERMIO_WATCH_MAX_BUFFER_MB', DEFAULTS.watchMaxBufferMb, 0.001, 65_536) * 1024 * 1024),
    }),
    importMaxBytes: Math.floor(readNumber(env, 'PERMIO_IMPORT_MAX_MB', DEFAULTS.importMaxMb, 0.001, 1_048_576) * 1024 * 1024),
    checkCacheChars: Math.floor(readNumber(env, 'PERMIO_CHECK_CACHE_MB', DEFAULTS.checkCacheMb, 0, 65_536) * 1024 * 1024),
    callLog: Object.freeze({
      enabled: env.PERMIO_CALL_LOG !== '0',
      checkSampleRate: readNumber(env, 'PERMIO_CALL_LOG_CHECK_SAMPLE', DEFAULTS.checkSampleRate, 0, 1),
      retentionDays: readNumber(env, 'PERMIO_CALL_LOG_RETENTION_DAYS', DEFAULTS.retentionDays, 0, 36_500),
      maxEntriesPerOrg: readNumber(env, 'PERMIO_CALL_LOG_MAX_ENTRIES', DEFAULTS.maxEntriesPerOrg, 1, 1e9),
    }),
  });
}
