// Engine micro-bench: ProjectIndex vs the naive matcher at 10 k, 1 M (and --big 10 M) grants, one thread; prints a markdown table.
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { ProjectIndex, type CheckResult } from '../src/engine/project-index.js';
import { generateGrant, mix, PERMISSION_NAMES, permissionId, principalCount, ROLES, roleId, treeUri } from './engine-dataset.js';
import { NaiveMatcher } from './naive-matcher.js';

const DEFAULT_SIZES = [10_000, 1_000_000];
const BIG_SIZE = 10_000_000; // --big
const NAIVE_MAX_GRANTS = 1_000_000; // above this the naive Map needs several GB of heap; --naive-big forces it
const MEASURE_SECONDS = 2; // per figure, after one warm-up pass
const MEASURE_ROUNDS = 7; // the median round is reported
const SINGLE_QUERIES = 50_000;
const BATCHES = 500;
const BATCH_URIS = 100; // 1 principal × 100 URIs × 2 permissions per batch
const BATCH_PERMS = 2; // one the principal holds under one URI, one random
const LEAF_PROBES = 7; // checks one level below a granted URI: descendants of a grant

/** What to run. */
export interface EngineBenchOptions {
  /** Dataset sizes in grants; default 10 k and 1 M, plus 10 M when `big`. */
  sizes?: readonly number[];
  big?: boolean;
  /** Run the naive baseline (default true; skipped above 1 M grants unless `naiveBig`). */
  naive?: boolean;
  naiveBig?: boolean;
  /** Seconds per measured figure. */
  seconds?: number;
}

/** One implementation on one dataset. */
export interface EngineBenchRow {
  impl: 'engine' | 'naive';
  grants: number;
  buildSeconds: number;
  /** Single checks (1 URI × 1 permission) per second, one thread. */
  checksPerSec: number;
  /** Resource × permission pairs per second in 1 × 100 × 2 batches, one thread. */
  batchPairsPerSec: number;
  /** (heapUsed + arrayBuffers) growth per grant after GC; null without --expose-gc. */
  heapBytesPerGrant: number | null;
  /** ProjectIndex.byteSize() per grant (engine only). */
  byteSizePerGrant: number | null;
  /** Share of single checks that passed: the workload is half hits, half misses. */
  passRate: number;
}

interface Checker {
  check(principal: string, uris: readonly string[], permissions: readonly string[]): CheckResult;
}

interface Query {
  principal: string;
  uris: string[];
  permissions: string[];
}

/** Runs the bench and returns its rows (printing is left to the caller). */
export function runEngineBench(options: EngineBenchOptions = {}): EngineBenchRow[] {
  const sizes = options.sizes ?? (options.big ? [...DEFAULT_SIZES, BIG_SIZE] : DEFAULT_SIZES);
  const seconds = options.seconds ?? MEASURE_SECONDS;
  const rows: EngineBenchRow[] = [];
  for (const grants of sizes) {
    const singles = asParsed(singleQueries(grants));
    const batches = asParsed(batchQueries(grants));
    rows.push(measureImpl('engine', grants, singles, batches, seconds));
    if (options.naive !== false && (grants <= NAIVE_MAX_GRANTS || options.naiveBig)) {
      rows.push(measureImpl('naive', grants, singles, batches, seconds));
    }
  }
  return rows;
}

function measureImpl(impl: 'engine' | 'naive', grants: number, singles: Query[], batches: Query[], seconds: number): EngineBenchRow {
  const before = memoryInUse();
  const started = performance.now();
  const built = impl === 'engine' ? buildEngine(grants) : buildNaive(grants);
  const buildSeconds = (performance.now() - started) / 1000;
  const after = memoryInUse();
  const checker: Checker = built;
  let passed = 0;
  for (const q of singles) if (checker.check(q.principal, q.uris, q.permissions).passed) passed++;
  return {
    impl,
    grants,
    buildSeconds,
    checksPerSec: opsPerSecond(checker, singles, seconds),
    batchPairsPerSec: opsPerSecond(checker, batches, seconds) * BATCH_URIS * BATCH_PERMS,
    heapBytesPerGrant: before === null || after === null ? null : (after - before) / grants,
    byteSizePerGrant: built instanceof ProjectIndex ? built.byteSize() / grants : null,
    passRate: passed / singles.length,
  };
}

function buildEngine(grants: number): ProjectIndex {
  const index = new ProjectIndex();
  PERMISSION_NAMES.forEach((name, p) => index.putPermission(permissionId(p), name));
  ROLES.forEach((perms, r) => index.putRole(roleId(r), perms.map(permissionId)));
  const principals = principalCount(grants);
  for (let i = 0; i < grants; i++) {
    const g = generateGrant(i, principals);
    index.grant(g.principal, g.uri, g.permissionIds, g.roleIds);
  }
  return index;
}

function buildNaive(grants: number): NaiveMatcher {
  const naive = new NaiveMatcher();
  const principals = principalCount(grants);
  for (let i = 0; i < grants; i++) {
    const g = generateGrant(i, principals);
    naive.grant(g.principal, g.uri, effectiveNames(g.permissionIds, g.roleIds));
  }
  return naive;
}

/** Permission names a generated grant confers (roles expanded). */
function effectiveNames(permissionIds: readonly string[], roleIds: readonly string[]): string[] {
  const names = permissionIds.map((id) => PERMISSION_NAMES[Number(id.slice('perm_'.length))]!);
  for (const id of roleIds) for (const p of ROLES[Number(id.slice('role_'.length))]!) names.push(PERMISSION_NAMES[p]!);
  return names;
}

/** Half hits (a granted URI or a child of it, a permission it confers), half random misses. */
function singleQueries(grants: number): Query[] {
  const principals = principalCount(grants);
  const queries: Query[] = [];
  for (let q = 0; q < SINGLE_QUERIES; q++) {
    if (q % 2 === 0) {
      const g = generateGrant(mix(q, 500) % grants, principals);
      const names = effectiveNames(g.permissionIds, g.roleIds);
      const uri = mix(q, 501) % 2 === 0 ? g.uri : `${g.uri}/leaf${q % LEAF_PROBES}`;
      queries.push({ principal: g.principal, uris: [uri], permissions: [names[mix(q, 502) % names.length]!] });
    } else {
      const permission = PERMISSION_NAMES[mix(q, 503) % PERMISSION_NAMES.length]!;
      queries.push({ principal: `user_${mix(q, 504) % principals}`, uris: [treeUri(q, 1000)], permissions: [permission] });
    }
  }
  return queries;
}

/** One principal × 100 URIs (a fifth under one of its grants) × 2 permissions (one it holds there). */
function batchQueries(grants: number): Query[] {
  const principals = principalCount(grants);
  const queries: Query[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const g = generateGrant(mix(b, 600) % grants, principals);
    const uris: string[] = [];
    for (let k = 0; k < BATCH_URIS; k++) uris.push(k % 5 === 0 ? `${g.uri}/item${k}` : treeUri(b * BATCH_URIS + k, 2000));
    const names = effectiveNames(g.permissionIds, g.roleIds);
    let other = PERMISSION_NAMES[mix(b, 601) % PERMISSION_NAMES.length]!;
    if (other === names[0]) other = PERMISSION_NAMES[(PERMISSION_NAMES.indexOf(other) + 1) % PERMISSION_NAMES.length]!;
    queries.push({ principal: g.principal, uris, permissions: [names[0]!, other] });
  }
  return queries;
}

/**
 * The queries as the server's JSON parser hands them over: flat strings. The generator builds URIs by
 * concatenation, which V8 keeps as rope (cons) strings whose every `charCodeAt` takes a slow path; no request
 * ever reaches the engine that way, and measuring with them cost the engine ~30 % of its single-check rate.
 */
function asParsed(queries: Query[]): Query[] {
  return JSON.parse(JSON.stringify(queries)) as Query[];
}

/** Calls per second over the queries: the median of MEASURE_ROUNDS rounds (a shared VM is noisy), after a warm-up pass. */
function opsPerSecond(checker: Checker, queries: Query[], seconds: number): number {
  let sink = 0;
  for (const q of queries) sink += checker.check(q.principal, q.uris, q.permissions).missing_permissions.length;
  const rates: number[] = [];
  for (let round = 0; round < MEASURE_ROUNDS; round++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      for (const q of queries) sink += checker.check(q.principal, q.uris, q.permissions).missing_permissions.length;
      calls += queries.length;
      elapsed = performance.now() - started;
    } while (elapsed < (seconds * 1000) / MEASURE_ROUNDS);
    rates.push((calls * 1000) / elapsed);
  }
  if (sink < 0) console.log(sink); // keeps the results observable
  return rates.sort((a, b) => a - b)[MEASURE_ROUNDS >> 1]!;
}

/** Heap plus ArrayBuffer bytes after a full GC, or null when GC is not exposed. */
function memoryInUse(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The rows as a markdown table, with speed-ups over the naive baseline on the same data. */
export function formatEngineBench(rows: readonly EngineBenchRow[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    '| grants | impl | build (s) | single checks/s | batch pairs/s | heap B/grant | byteSize B/grant | pass % |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const naive = rows.find((n) => n.impl === 'naive' && n.grants === r.grants);
    const vs = (own: number, base: number | undefined) => (r.impl === 'engine' && base ? ` (${(own / base).toFixed(1)}×)` : '');
    lines.push(
      `| ${fmt(r.grants)} | ${r.impl} | ${r.buildSeconds.toFixed(2)} | ${fmt(r.checksPerSec)}${vs(r.checksPerSec, naive?.checksPerSec)} | ` +
        `${fmt(r.batchPairsPerSec)}${vs(r.batchPairsPerSec, naive?.batchPairsPerSec)} | ` +
        `${r.heapBytesPerGrant === null ? 'n/a' : r.heapBytesPerGrant.toFixed(1)} | ` +
        `${r.byteSizePerGrant === null ? '' : r.byteSizePerGrant.toFixed(1)} | ${(r.passRate * 100).toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

function main(argv: readonly string[]): void {
  const secondsArg = argv.find((a) => a.startsWith('--seconds='));
  const rows = runEngineBench({
    big: argv.includes('--big'),
    naive: !argv.includes('--no-naive'),
    naiveBig: argv.includes('--naive-big'),
    ...(secondsArg ? { seconds: Number(secondsArg.slice('--seconds='.length)) } : {}),
  });
  console.log(`Engine bench — ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, one thread`);
  console.log(`command: node ${process.execArgv.join(' ')} ${process.argv.slice(1).join(' ')}`.replace(/\s+/g, ' '));
  console.log('');
  console.log(formatEngineBench(rows));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
