// Soak: mixed reads and writes against a real server for a configured time at a target rate, printing per-interval
// counts, errors by status, latency percentiles, the server's memory (RSS, anonymous part) with the LMDB file size, and
// worker queue depths; then a summary with memory growth and error totals, and a read-your-writes check of grants made
// under load. Exits 1 on any 5xx, transport error, malformed answer, read-your-writes violation or server death.
//
//   npm run build && node dist/bench/soak.js --minutes=N --rate=R [--clients=C] [--interval=S] [--workers=W]
import fs from 'node:fs';
import os from 'node:os';
import { startPermio } from './processes.js';

const DEFAULTS = {
  minutes: 1,
  /** Requests per second, all clients together. */
  rate: 200,
  /** Concurrent clients (requests in flight at most). */
  clients: 16,
  /** Seconds per printed line. */
  interval: 10,
  workers: Math.min(4, os.availableParallelism()),
};

const PROJECT = 'default';
const STABLE_PERMISSIONS = 10; // never renamed or deleted: tracked grants use them
const CHURN_PERMISSIONS = 10; // renamed, edited into roles, granted and revoked by id
const STABLE_ROLES = 3;
const CHURN_ROLES = 5; // their permission sets are replaced during the soak
const TRACKED_USERS = 50; // only ever granted to: their grants must all still answer at the end
const CHURN_USERS = 200; // granted and revoked at random
const URIS_PER_CHURN_USER = 8;
const BATCH_URIS = 10; // a batch check: 10 resources × 5 permissions
const BATCH_PERMISSIONS = 5;
const IMMEDIATE_RYW_SHARE = 0.25; // tracked grants checked right after their 200
const FINAL_RYW_SAMPLE = 300; // tracked grants checked again at the end
const REQUEST_TIMEOUT_MS = 30_000; // a request unanswered this long counts as a transport error
const MIB = 1024 * 1024;
const LAST_ERRORS_SHOWN = 5;

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

interface Options {
  minutes: number;
  rate: number;
  clients: number;
  interval: number;
  workers: number;
}

function parseOptions(argv: readonly string[]): Options {
  const opts: Record<string, number> = { ...DEFAULTS };
  for (const arg of argv) {
    const m = /^--([a-z]+)=(.+)$/.exec(arg);
    if (m === null || !(m[1]! in DEFAULTS)) throw new Error(`unknown argument ${arg}; expected --minutes= --rate= --clients= --interval= --workers=`);
    const value = Number(m[2]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${m[1]} must be a positive number`);
    opts[m[1]!] = value;
  }
  return opts as unknown as Options;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------------------------

const BUCKETS_PER_DOUBLING = 64; // ~1 % resolution
const MIN_MS = 0.001;
const BUCKETS = 40 * BUCKETS_PER_DOUBLING; // 1 µs … ~18 min

/** A log-bucketed latency histogram (≈1 % resolution) with the exact maximum. */
class Latencies {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(ms / MIN_MS) * BUCKETS_PER_DOUBLING));
    this.counts[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The latency in ms below which a share `p` (0–1) of the calls completed. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, MIN_MS * 2 ** ((i + 1) / BUCKETS_PER_DOUBLING));
    }
    return this.max;
  }

  merge(other: Latencies): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }
}

/** Counts of one interval (or of the whole run, merged). */
class Tally {
  readonly latency = new Latencies();
  /** Non-200 answers by status; `transport` for no answer. */
  readonly errors = new Map<string, number>();
  readonly byOp = new Map<string, { count: number; errors: number; latency: Latencies }>();

  /** `status`: the HTTP status, `transport` (no answer) or `bad-body` (a 200 without the fields of its kind). */
  record(op: string, status: number | string, ms: number): void {
    this.latency.record(ms);
    let o = this.byOp.get(op);
    if (o === undefined) this.byOp.set(op, (o = { count: 0, errors: 0, latency: new Latencies() }));
    o.count++;
    o.latency.record(ms);
    if (status !== 200) {
      o.errors++;
      this.errors.set(String(status), (this.errors.get(String(status)) ?? 0) + 1);
    }
  }

  merge(other: Tally): void {
    this.latency.merge(other.latency);
    for (const [k, v] of other.errors) this.errors.set(k, (this.errors.get(k) ?? 0) + v);
    for (const [op, o] of other.byOp) {
      let mine = this.byOp.get(op);
      if (mine === undefined) this.byOp.set(op, (mine = { count: 0, errors: 0, latency: new Latencies() }));
      mine.count += o.count;
      mine.errors += o.errors;
      mine.latency.merge(o.latency);
    }
  }

  errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }
}

interface Memory {
  /** VmRSS: every thread of the process. */
  rss: number;
  /** RssAnon: heaps and other private memory — where a leak shows. */
  anon: number;
  /** RssFile: file-backed pages, mostly LMDB's memory map (grows with the data, not a leak). */
  file: number;
}

/** Resident memory of `pid` in bytes, from /proc/<pid>/status. */
function memoryOf(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

const NO_MEMORY: Memory = { rss: NaN, anon: NaN, file: NaN };

interface ServerGauges {
  /** `permio_worker_queue_depth` per worker, e.g. `[0, 2]`. */
  queues: number[];
  /** `permio_lmdb_bytes`: the size of the data file. */
  lmdbBytes: number;
}

/** The gauges of `/metrics` the soak follows. */
async function serverGauges(base: string): Promise<ServerGauges> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
  const queues: number[] = [];
  for (const m of text.matchAll(/^permio_worker_queue_depth\{worker="(\d+)"\} (\S+)$/gm)) queues[Number(m[1])] = Number(m[2]);
  return { queues, lmdbBytes: Number(/^permio_lmdb_bytes (\S+)$/m.exec(text)?.[1] ?? NaN) };
}

const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());
const fmtMiB = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;
const fmtErrors = (errors: ReadonlyMap<string, number>): string =>
  errors.size === 0 ? 'none' : [...errors].sort().map(([k, v]) => `${k}×${v}`).join(' ');

// ---------------------------------------------------------------------------------------------------------------
// The dataset and the operations
// ---------------------------------------------------------------------------------------------------------------

interface Api {
  base: string;
  key: string;
}

interface Answer {
  status: number | 'transport';
  body: any;
  ms: number;
}

async function call(api: Api, method: string, path: string, body?: unknown): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(api.base + path, {
      method,
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text; shown if the call failed
    }
    return { status: res.status, body: parsed, ms: performance.now() - started };
  } catch (e) {
    return { status: 'transport', body: String((e as Error).cause ?? e), ms: performance.now() - started };
  }
}

/** Like {@link call}, for setup: anything but a 200 stops the soak. */
async function must(api: Api, method: string, path: string, body?: unknown): Promise<any> {
  const a = await call(api, method, path, body);
  if (a.status !== 200) throw new Error(`setup ${method} ${path}: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

/** What the soak grants, renames and checks; the tracked grants are what read-your-writes is verified on. */
interface World {
  stablePermissions: string[]; // names
  stablePermissionIds: string[];
  churnPermissionIds: string[];
  churnRoleIds: string[];
  stableRoleNames: string[];
  /** Tracked grants that answered 200: (user, URI, permission name); never revoked. */
  tracked: { user: string; uri: string; permission: string }[];
  seq: number;
}

async function seed(admin: Api, base: string): Promise<{ api: Api; world: World }> {
  const { organisation } = await must(admin, 'POST', '/v1/organisations', { name: 'soak', user_id: 'soak-owner' });
  const { api_key } = await must(admin, 'POST', `/v1/organisations/${organisation.id}/apikeys`, { name: 'soak key' });
  const api: Api = { base, key: api_key.key };
  const stablePermissions = Array.from({ length: STABLE_PERMISSIONS }, (_, i) => `soak.stable.${i}`);
  const stablePermissionIds: string[] = [];
  for (const name of stablePermissions) stablePermissionIds.push((await must(api, 'POST', '/v1/permissions', { project_name: PROJECT, name })).id);
  const churnPermissionIds: string[] = [];
  for (let i = 0; i < CHURN_PERMISSIONS; i++) {
    churnPermissionIds.push((await must(api, 'POST', '/v1/permissions', { project_name: PROJECT, name: `soak.churn.${i}` })).id);
  }
  const stableRoleNames: string[] = [];
  for (let i = 0; i < STABLE_ROLES; i++) {
    const name = `Stable ${i}`;
    await must(api, 'POST', '/v1/roles', { project_name: PROJECT, name, permissions: stablePermissionIds.slice(i, i + 3) });
    stableRoleNames.push(name);
  }
  const churnRoleIds: string[] = [];
  for (let i = 0; i < CHURN_ROLES; i++) {
    churnRoleIds.push((await must(api, 'POST', '/v1/roles', { project_name: PROJECT, name: `Churn ${i}`, permissions: churnPermissionIds.slice(i, i + 2) })).id);
  }
  for (let u = 0; u < CHURN_USERS; u += 4) {
    await must(api, 'POST', '/v1/grants', { project_name: PROJECT, user_id: `churn-${u}`, resource_uri: churnUri(u, 0), roles: [stableRoleNames[u % STABLE_ROLES]] });
  }
  return { api, world: { stablePermissions, stablePermissionIds, churnPermissionIds, churnRoleIds, stableRoleNames, tracked: [], seq: 0 } };
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const sample = <T>(xs: readonly T[], n: number): T[] => Array.from({ length: n }, () => pick(xs));
const churnUri = (user: number, i: number) => `/orgs/o${user % 20}/teams/t${i}/docs/d${user}`;
const randomChurnUser = () => Math.floor(Math.random() * CHURN_USERS);

type Op = (api: Api, w: World, tally: Tally, ryw: RywStats) => Promise<void>;

interface RywStats {
  checked: number;
  violations: string[];
}

/** Records one answer; a 200 whose body lacks what every answer of its kind has counts as a `bad-body` error. */
function note(tally: Tally, op: string, a: Answer, wellFormed: (body: any) => boolean = () => true): boolean {
  const ok = a.status === 200 && wellFormed(a.body);
  tally.record(op, a.status === 200 && !ok ? 'bad-body' : a.status, a.ms);
  if (!ok) lastErrors.push(`${op}: ${a.status} ${JSON.stringify(a.body)?.slice(0, 200)}`);
  if (lastErrors.length > LAST_ERRORS_SHOWN) lastErrors.shift();
  return ok;
}

const lastErrors: string[] = [];
const isCheck = (b: any) => typeof b?.passed === 'boolean' && Array.isArray(b?.missing_permissions);

/** A principal to check: tracked or churn, and a URI under one of its likely grants (or not). */
function checkTarget(w: World): { user: string; uri: string } {
  if (w.tracked.length > 0 && Math.random() < 0.5) {
    const g = pick(w.tracked);
    return { user: g.user, uri: `${g.uri}/leaf` };
  }
  const u = randomChurnUser();
  return { user: `churn-${u}`, uri: `${churnUri(u, Math.floor(Math.random() * URIS_PER_CHURN_USER))}/x` };
}

const OPS: { name: string; weight: number; run: Op }[] = [
  {
    name: 'check',
    weight: 35,
    run: async (api, w, tally) => {
      const t = checkTarget(w);
      const a = await call(api, 'POST', '/v1/check', { project_name: PROJECT, principal_id: t.user, resource_uris: [t.uri], permissions: [pick(w.stablePermissions)] });
      note(tally, 'check', a, isCheck);
    },
  },
  {
    name: 'check-batch',
    weight: 15,
    run: async (api, w, tally) => {
      const t = checkTarget(w);
      const uris = Array.from({ length: BATCH_URIS }, (_, i) => `${t.uri}/${i}`);
      const a = await call(api, 'POST', '/v1/check', { project_name: PROJECT, principal_id: t.user, resource_uris: uris, permissions: sample(w.stablePermissions, BATCH_PERMISSIONS) });
      note(tally, 'check-batch', a, isCheck);
    },
  },
  {
    name: 'grant-tracked',
    weight: 8,
    run: async (api, w, tally, ryw) => {
      const user = `tracked-${Math.floor(Math.random() * TRACKED_USERS)}`;
      const uri = `/tracked/${user}/g${++w.seq}`;
      const permission = pick(w.stablePermissions);
      const a = await call(api, 'POST', '/v1/grants', { project_name: PROJECT, user_id: user, resource_uri: uri, permissions: [permission] });
      if (!note(tally, 'grant', a)) return;
      w.tracked.push({ user, uri, permission });
      if (Math.random() >= IMMEDIATE_RYW_SHARE) return;
      // Read-your-writes: the 200 above means every later check, on any worker, sees the grant.
      const c = await call(api, 'POST', '/v1/check', { project_name: PROJECT, principal_id: user, resource_uris: [`${uri}/doc`], permissions: [permission] });
      if (!note(tally, 'check-after-grant', c, isCheck)) return;
      ryw.checked++;
      if (c.body.passed !== true) ryw.violations.push(`${user} ${uri} ${permission}: ${JSON.stringify(c.body)}`);
    },
  },
  {
    name: 'grant-churn',
    weight: 8,
    run: async (api, w, tally) => {
      const u = randomChurnUser();
      const byRole = Math.random() < 0.3;
      const a = await call(api, 'POST', '/v1/grants', {
        project_name: PROJECT,
        user_id: `churn-${u}`,
        resource_uri: churnUri(u, Math.floor(Math.random() * URIS_PER_CHURN_USER)),
        ...(byRole ? { roles: [pick([...w.churnRoleIds, ...w.stableRoleNames])] } : { permissions: [pick(w.stablePermissions), pick(w.churnPermissionIds)] }),
      });
      note(tally, 'grant', a);
    },
  },
  {
    name: 'revoke',
    weight: 6,
    run: async (api, w, tally) => {
      const u = randomChurnUser();
      const a = await call(api, 'DELETE', '/v1/grants', {
        project_name: PROJECT,
        user_id: `churn-${u}`,
        resource_uri: churnUri(u, Math.floor(Math.random() * URIS_PER_CHURN_USER)),
        permissions: [pick(w.churnPermissionIds)],
        roles: Math.random() < 0.3 ? [pick(w.churnRoleIds)] : [],
      });
      note(tally, 'revoke', a);
    },
  },
  {
    name: 'role-edit',
    weight: 5,
    run: async (api, w, tally) => {
      const permissions = [...new Set(sample([...w.churnPermissionIds, ...w.stablePermissionIds.slice(0, 3)], 3))];
      const a = await call(api, 'PATCH', `/v1/roles/${pick(w.churnRoleIds)}`, { project_name: PROJECT, permissions });
      note(tally, 'role-edit', a, (b) => Array.isArray(b?.permissions));
    },
  },
  {
    name: 'permission-create',
    weight: 3,
    run: async (api, w, tally) => {
      const a = await call(api, 'POST', '/v1/permissions', { project_name: PROJECT, name: `soak.new.${process.pid}.${++w.seq}` });
      if (note(tally, 'permission-create', a, (b) => typeof b?.id === 'string')) w.churnPermissionIds.push(a.body.id);
    },
  },
  {
    name: 'permission-rename',
    weight: 3,
    run: async (api, w, tally) => {
      const a = await call(api, 'PATCH', `/v1/permissions/${pick(w.churnPermissionIds)}`, { project_name: PROJECT, name: `soak.renamed.${++w.seq}` });
      note(tally, 'permission-rename', a, (b) => typeof b?.name === 'string');
    },
  },
  {
    name: 'list',
    weight: 17,
    run: async (api, w, tally) => {
      const r = Math.random();
      const path =
        r < 0.33
          ? `/v1/permissions?project_name=${PROJECT}&page_size=50`
          : r < 0.66
            ? `/v1/roles?project_name=${PROJECT}&page_size=20`
            : `/v1/grants?project_name=${PROJECT}&user_id=${checkTarget(w).user}&page_size=50`;
      const a = await call(api, 'GET', path);
      note(tally, 'list', a, (b) => typeof b?.total_items === 'number' && typeof b?.next_page_token === 'string');
    },
  },
];

const TOTAL_WEIGHT = OPS.reduce((n, o) => n + o.weight, 0);

function pickOp(): Op {
  let x = Math.random() * TOTAL_WEIGHT;
  for (const op of OPS) if ((x -= op.weight) < 0) return op.run;
  return OPS[0]!.run;
}

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

interface IntervalRow {
  endSec: number;
  tally: Tally;
  memory: Memory;
  gauges: ServerGauges;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const server = await startPermio(opts.workers);
  const pid = server.child.pid!;
  const base = `http://127.0.0.1:${server.ports.http_port}`;
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let serverExit: string | undefined;
  server.child.once('exit', (code, signal) => (serverExit = `exit code ${code}, signal ${signal}`));

  try {
    console.log(`# Permio soak — ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, node ${process.version}`);
    console.log(`command: node dist/bench/soak.js ${process.argv.slice(2).join(' ')}`);
    console.log(
      `${opts.minutes} min at ${opts.rate} req/s, ${opts.clients} clients, ${opts.workers} check workers, a line every ${opts.interval} s; ` +
        `mix: ${OPS.map((o) => `${o.name} ${Math.round((o.weight / TOTAL_WEIGHT) * 100)}%`).join(', ')}`,
    );
    const { api, world } = await seed({ base, key: server.adminKey }, base);
    console.log(`seeded: ${STABLE_PERMISSIONS + CHURN_PERMISSIONS} permissions, ${STABLE_ROLES + CHURN_ROLES} roles, ${CHURN_USERS / 4} grants; server pid ${pid}, RSS ${fmtMiB(memoryOf(pid).rss)}\n`);

    const total = new Tally();
    const ryw: RywStats = { checked: 0, violations: [] };
    const rows: IntervalRow[] = [];
    let current = new Tally();
    const durationMs = opts.minutes * 60_000;
    const started = performance.now();
    const periodMs = 1000 / opts.rate;
    let sent = 0;

    // Open loop with a concurrency cap: request i is due at started + i / rate; a free client sends the next due one.
    const client = async () => {
      while (!stopping && serverExit === undefined) {
        const due = started + sent * periodMs;
        if (due - started >= durationMs) return;
        sent++;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await pickOp()(api, world, current, ryw);
      }
    };

    const header =
      `${'time'.padStart(6)} ${'req'.padStart(7)} ${'req/s'.padStart(7)} ${'errors'.padStart(7)}  ${'p50'.padStart(6)} ${'p90'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(7)} ms  ` +
      `${'RSS'.padStart(10)} ${'anon'.padStart(10)} ${'LMDB file'.padStart(10)}  queues  errors by status`;
    console.log(header);
    let lastTick = started;
    const report = async () => {
      const now = performance.now();
      const tally = current;
      current = new Tally();
      total.merge(tally);
      let gauges: ServerGauges = { queues: [], lmdbBytes: NaN };
      let memory = NO_MEMORY;
      if (serverExit === undefined) {
        memory = memoryOf(pid);
        gauges = await serverGauges(base).catch(() => gauges);
      }
      const row: IntervalRow = { endSec: (now - started) / 1000, tally, memory, gauges };
      rows.push(row);
      const l = tally.latency;
      const rate = tally.latency.count / ((now - lastTick) / 1000);
      lastTick = now;
      console.log(
        `${`${row.endSec.toFixed(0)}s`.padStart(6)} ${String(l.count).padStart(7)} ${rate.toFixed(1).padStart(7)} ${String(tally.errorCount()).padStart(7)}  ` +
          `${fmtMs(l.percentile(0.5)).padStart(6)} ${fmtMs(l.percentile(0.9)).padStart(6)} ${fmtMs(l.percentile(0.99)).padStart(6)} ${fmtMs(l.max).padStart(7)}     ` +
          `${fmtMiB(memory.rss).padStart(10)} ${fmtMiB(memory.anon).padStart(10)} ${fmtMiB(gauges.lmdbBytes).padStart(10)}  ${(gauges.queues.join(',') || '-').padStart(6)}  ${fmtErrors(tally.errors)}`,
      );
    };
    const ticker = setInterval(() => void report(), opts.interval * 1000);
    await Promise.all(Array.from({ length: opts.clients }, client));
    clearInterval(ticker);
    if (current.latency.count > 0) await report();
    const elapsedSec = (performance.now() - started) / 1000;

    // Read-your-writes at the end: a sample of the tracked grants must all still pass (nothing revokes them), and a
    // sibling URI that was never granted must not.
    const finalRyw = { checked: 0, violations: [] as string[] };
    if (serverExit === undefined) {
      for (const g of sample(world.tracked, Math.min(FINAL_RYW_SAMPLE, world.tracked.length))) {
        const a = await call(api, 'POST', '/v1/check', { project_name: PROJECT, principal_id: g.user, resource_uris: [`${g.uri}/x`, `${g.uri}-sibling`], permissions: [g.permission] });
        finalRyw.checked++;
        const expected = [{ resource_uri: `${g.uri}-sibling`, missing_permissions: [g.permission] }];
        if (a.status !== 200 || JSON.stringify(a.body.missing_permissions) !== JSON.stringify(expected)) {
          finalRyw.violations.push(`${g.user} ${g.uri} ${g.permission}: ${a.status} ${JSON.stringify(a.body)}`);
        }
      }
    }

    // Summary.
    const first = rows.find((r) => Number.isFinite(r.memory.rss));
    const last = [...rows].reverse().find((r) => Number.isFinite(r.memory.rss));
    const fiveXX = [...total.errors].filter(([k]) => /^5\d\d$/.test(k)).reduce((n, [, v]) => n + v, 0);
    const transport = total.errors.get('transport') ?? 0;
    const badBodies = total.errors.get('bad-body') ?? 0;
    const l = total.latency;
    /** `first → last (+growth, %)` of one measure, first and last interval. */
    const growthOf = (value: (r: IntervalRow) => number): string => {
      if (!first || !last) return '-';
      const [a, b] = [value(first), value(last)];
      const d = b - a;
      return `${fmtMiB(a)} → ${fmtMiB(b)} (${d >= 0 ? '+' : ''}${fmtMiB(d)}, ${d >= 0 ? '+' : ''}${((d / a) * 100).toFixed(1)} %)`;
    };
    const perMinute = (value: (r: IntervalRow) => number): string =>
      first && last && last !== first ? `${fmtMiB(((value(last) - value(first)) / (last.endSec - first.endSec)) * 60)}/min` : '-';
    const summary: [string, string][] = [
      ['duration', `${elapsedSec.toFixed(1)} s`],
      ['requests', `${l.count} (${(l.count / elapsedSec).toFixed(1)} req/s, target ${opts.rate})`],
      ['latency p50 / p90 / p99 / max', `${fmtMs(l.percentile(0.5))} / ${fmtMs(l.percentile(0.9))} / ${fmtMs(l.percentile(0.99))} / ${fmtMs(l.max)} ms`],
      ['errors by status', fmtErrors(total.errors)],
      ['5xx', String(fiveXX)],
      ['transport errors (no answer)', String(transport)],
      ['malformed 200 bodies', String(badBodies)],
      ['RSS, first → last interval', `${growthOf((r) => r.memory.rss)}; ${perMinute((r) => r.memory.rss)}`],
      ['  of which anonymous (heaps)', `${growthOf((r) => r.memory.anon)}; ${perMinute((r) => r.memory.anon)}`],
      ['  of which file-backed (LMDB map)', `${growthOf((r) => r.memory.file)}; ${perMinute((r) => r.memory.file)}`],
      ['LMDB data file', `${growthOf((r) => r.gauges.lmdbBytes)}; ${perMinute((r) => r.gauges.lmdbBytes)}`],
      ['RSS max', first ? fmtMiB(Math.max(...rows.map((r) => r.memory.rss).filter(Number.isFinite))) : '-'],
      ['read-your-writes, right after the 200', `${ryw.checked} checked, ${ryw.violations.length} violations`],
      ['read-your-writes, sample at the end', `${finalRyw.checked} of ${world.tracked.length} tracked grants checked, ${finalRyw.violations.length} violations`],
      ['server', serverExit === undefined ? 'alive' : `DIED (${serverExit})`],
    ];
    console.log('\n## Summary\n');
    console.log(table(['metric', 'value'], summary));
    console.log('\n## By operation\n');
    console.log(
      table(
        ['operation', 'requests', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
        [...total.byOp].sort(([a], [b]) => a.localeCompare(b)).map(([op, o]) => [op, String(o.count), String(o.errors), fmtMs(o.latency.percentile(0.5)), fmtMs(o.latency.percentile(0.99)), fmtMs(o.latency.max)]),
      ),
    );
    const problems = [...ryw.violations, ...finalRyw.violations];
    if (lastErrors.length > 0) console.log(`\nlast errors:\n  ${lastErrors.join('\n  ')}`);
    if (problems.length > 0) console.log(`\nread-your-writes violations (first 10):\n  ${problems.slice(0, 10).join('\n  ')}`);
    const failed = fiveXX > 0 || transport > 0 || badBodies > 0 || problems.length > 0 || serverExit !== undefined;
    console.log(`\n${failed ? 'FAIL' : 'PASS'}: ${failed ? '5xx, transport errors, malformed answers, read-your-writes violations or a dead server' : 'no 5xx, no transport errors, read-your-writes held'}`);
    return failed ? 1 : 0;
  } finally {
    if (serverExit === undefined) await server.stop();
    else fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
}

/** A markdown table. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
