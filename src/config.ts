// Reads PERMIO_* once, validates each value and returns one frozen Config.
import os from 'node:os';
import path from 'node:path';

export type Plan = 'free' | 'pro' | 'enterprise';
export const PLANS: readonly Plan[] = ['free', 'pro', 'enterprise'];

export interface Config {
  readonly httpPort: number;
  readonly grpcPort: number;
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
  /** Budget of the main thread's cache of check answers, in characters (≈ bytes); 0 disables it. */
  readonly checkCacheChars: number;
  /** PERMIO_FAULT_INJECTION=1 enables operator-only `POST /debug/crash/*` routes (tests of crash recovery). */
  readonly faultInjection: boolean;
  /** Started by `npm start` (npm sets `npm_lifecycle_event`): the server stops if npm, its parent, dies. */
  readonly underNpmStart: boolean;
}

const DEFAULTS = {
  httpPort: 8080,
  grpcPort: 50051,
  dataDir: './data',
  defaultPlan: 'enterprise' as Plan,
  checkSampleRate: 0.01, // 1 % of successful checks: logging must never be the bottleneck
  retentionDays: 7,
  maxEntriesPerOrg: 100_000,
  checkCacheMb: 64,
};

function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}`);
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
    dataDir: path.resolve(env.PERMIO_DATA_DIR || DEFAULTS.dataDir),
    workers,
    adminKey,
    defaultPlan: plan,
    logLevel: level,
    faultInjection: env.PERMIO_FAULT_INJECTION === '1',
    underNpmStart: env.npm_lifecycle_event === 'start',
    checkCacheChars: Math.floor(readNumber(env, 'PERMIO_CHECK_CACHE_MB', DEFAULTS.checkCacheMb, 0, 65_536) * 1024 * 1024),
    callLog: Object.freeze({
      enabled: env.PERMIO_CALL_LOG !== '0',
      checkSampleRate: readNumber(env, 'PERMIO_CALL_LOG_CHECK_SAMPLE', DEFAULTS.checkSampleRate, 0, 1),
      retentionDays: readNumber(env, 'PERMIO_CALL_LOG_RETENTION_DAYS', DEFAULTS.retentionDays, 0, 36_500),
      maxEntriesPerOrg: readNumber(env, 'PERMIO_CALL_LOG_MAX_ENTRIES', DEFAULTS.maxEntriesPerOrg, 1, 1e9),
    }),
  });
}
