// The web console: shipped asset size, time to interactive in headless Chromium (Debian's, via playwright-core) of
// /dashboard and of its API-log page over 10,000 logged calls, and the call-log listing it reads — seek by key range
// and index against the decode-everything scan it replaced, on a store at the 100,000-entry retention cap.
//   npm run bench -- --only=dashboard [--against=DIR]   (DIR: another build's dist, e.g. main's, for the flush A/B)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openStore, type Store } from '../src/store/env.js';
import { StoreReader } from '../src/store/read.js';
import { StoreWriter } from '../src/store/writer.js';
import { stampCommand } from '../src/store/commands.js';
import { rangeOf } from '../src/store/keys.js';
import type { LogQuery } from '../src/store/call-log-columns.js';
import type { ApiLogRecord } from '../src/store/records.js';
import { DIST, startPermio } from './processes.js';
import { inParallel } from './seed.js';
import { int, markdownTable, ms } from './table.js';

const CHROMIUM = process.env.PERMIO_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const LOGGED_CALLS = 10_000;
const STORE_ENTRIES = 100_000; // PERMIO_CALL_LOG_MAX_ENTRIES default: the most one organisation keeps
const FLUSH_ENTRIES = 1000; // the call log's batch (FLUSH_AT_ENTRIES)
const RUNS = 7; // browser loads per figure (median and worst reported)
const ENTRY_SPACING_MS = 10; // the built store's entries are this far apart

export interface DashboardReport {
  assets: string;
  loads: string;
  listing: string;
  flush: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Raw and gzipped size of every shipped file (each compressed alone, as a server or proxy would). */
function assetSizes(): string {
  const dir = path.join(DIST, 'dashboard');
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
  const rows: string[][] = [];
  const sum = (pick: (f: string) => boolean) => {
    const chosen = files.filter(pick);
    const raw = chosen.reduce((n, f) => n + fs.statSync(f).size, 0);
    const gz = chosen.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(f)).length, 0);
    return [String(chosen.length), `${(raw / 1024).toFixed(1)} KiB`, `${(gz / 1024).toFixed(1)} KiB`];
  };
  rows.push(['main.js: the console, preact, hooks and htm (one minified module)', ...sum((f) => f.endsWith('.js'))]);
  rows.push(['index.html, style.css, favicon.svg', ...sum((f) => !f.endsWith('.js'))]);
  rows.push(['**everything shipped**', ...sum(() => true)]);
  return markdownTable(['files', 'count', 'raw', 'gzipped'], 'lrrr', rows);
}

/** Wall time from `goto` to `ready()` in a fresh context (cold cache), `RUNS` times. */
async function timeLoads(browser: Browser, setup: (c: BrowserContext) => Promise<void>, url: string, ready: (p: Page) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    await setup(context);
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(url);
    await ready(page);
    times.push(performance.now() - started);
    await context.close();
  }
  return times;
}

async function browserLoads(): Promise<string> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install chromium, or set PERMIO_CHROMIUM)`);
  const server = await startPermio(2, { env: { PERMIO_CALL_LOG_CHECK_SAMPLE: '1' } });
  const base = `http://127.0.0.1:${server.ports.http_port}`;
  const headers = { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' };
  const post = async (p: string, body: unknown) => (await fetch(base + p, { method: 'POST', headers, body: JSON.stringify(body) })).json() as Promise<any>;
  const { organisation } = await post('/v1/organisations', { name: 'bench', user_id: 'u' });
  await post('/v1/organisations', { name: 'other', user_id: 'u' }); // two organisations: the console knows it holds the operator key
  const orgId = organisation.id as string;
  const check = { organisation_id: orgId, project_name: 'default', resource_uris: ['/docs/1'], permissions: ['doc.read'] };
  await inParallel(Array.from({ length: LOGGED_CALLS }, (_, i) => () => post('/v1/check', { ...check, principal_id: `user_${i}` })), 32);
  for (;;) {
    const page = (await (await fetch(`${base}/v1/organisations/${orgId}/logs?page_size=1`, { headers })).json()) as { total_items: number };
    if (page.total_items >= LOGGED_CALLS) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const none = async () => {};
  const signedIn = async (c: BrowserContext) => {
    await c.addInitScript((key) => sessionStorage.setItem('permio.apiKey', key), server.adminKey);
  };
  const figures: [string, number[]][] = [
    ['baseline: `/healthz` (a JSON document) until `load`', await timeLoads(browser, none, `${base}/healthz`, async () => {})],
    ['`/dashboard` until the sign-in field is interactive', await timeLoads(browser, none, `${base}/dashboard`, (p) => p.getByLabel('API key').waitFor())],
    ['`/dashboard`, key in the session, until the Projects table is shown', await timeLoads(browser, signedIn, `${base}/dashboard#/projects`, (p) => p.getByRole('cell', { name: 'default', exact: true }).waitFor())],
    [
      `API log over ${int(LOGGED_CALLS)} calls, until its first 50 rows are shown`,
      await timeLoads(browser, signedIn, `${base}/dashboard#/api-log`, (p) => p.getByRole('table').getByRole('row').nth(50).waitFor()),
    ],
  ];
  await browser.close();
  await server.stop();
  const baseline = median(figures[0]![1]);
  return markdownTable(
    ['load (fresh browser context, cold cache)', 'median ms', 'worst ms', 'vs baseline'],
    'lrrr',
    figures.map(([name, t]) => [name, ms(median(t)), ms(Math.max(...t)), `${(median(t) / baseline).toFixed(1)}×`]),
  );
}

/** A store with `STORE_ENTRIES` call-log entries of one organisation, written through the real writer. */
function buildLogStore(dir: string): { store: Store; orgId: string; keys: string[] } {
  const store = openStore(dir, { readOnly: false });
  const writer = new StoreWriter(store);
  const apply = (cmd: Parameters<typeof stampCommand>[0]) => {
    const r = writer.applyBatch([stampCommand(cmd)])[0]!;
    if (!r.ok) throw new Error(r.message);
    return r.value as any;
  };
  const orgId = apply({ op: 'createOrganisation', name: 'bench', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 }).id as string;
  const keys = Array.from({ length: 20 }, (_, i) => `apikey_${i}`);
  const t0 = Date.now() - STORE_ENTRIES * ENTRY_SPACING_MS;
  for (let done = 0; done < STORE_ENTRIES; done += FLUSH_ENTRIES) {
    apply({ op: 'appendLogs', entries: Array.from({ length: FLUSH_ENTRIES }, (_, i) => logEntry(orgId, keys, done + i, t0)), max_age_ms: 30 * 86_400_000, max_per_org: STORE_ENTRIES });
  }
  return { store, orgId, keys };
}

/** Entry `n`: mostly successful checks, 1 in 50 a 409, 1 in 10 a grant; {@link ENTRY_SPACING_MS} apart. */
function logEntry(orgId: string, keys: string[], n: number, t0: number): Omit<ApiLogRecord, 'id'> {
  const grant = n % 10 === 0;
  return {
    time: new Date(t0 + n * ENTRY_SPACING_MS).toISOString(),
    organisation_id: orgId,
    actor: keys[n % keys.length]!,
    transport: 'rest',
    rpc: grant ? 'Grant' : 'Check',
    route: grant ? 'POST /v1/grants' : 'POST /v1/check',
    status: n % 50 === 0 ? 409 : 200,
    latency_ms: 0.4,
    request: JSON.stringify({ project_name: 'default', principal_id: `user_${n}`, resource_uris: [`/docs/${n}`], permissions: ['doc.read'] }),
    response: '{"passed":true,"missing_permissions":[]}',
  };
}

/** The listing before the index: decode every entry of the organisation, filter, sort newest first, slice a page. */
function scanEverything(store: Store, orgId: string, q: LogQuery): number {
  const all: ApiLogRecord[] = [];
  for (const { value } of store.dbs.apiLogs.getRange(rangeOf.organisation(orgId))) all.push(value as ApiLogRecord);
  const hits = all.filter(
    (e) =>
      (q.startTime === undefined || e.time >= q.startTime) &&
      (q.endTime === undefined || e.time < q.endTime) &&
      (q.status === undefined || e.status === q.status) &&
      (q.keyId === undefined || e.actor === q.keyId) &&
      (q.route === undefined || e.rpc === q.route || e.route === q.route),
  );
  hits.reverse();
  return hits.slice(0, q.size).length + hits.length;
}

function timePerCall(fn: () => unknown, minMs = 300): number {
  fn(); // warm
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < minMs || n < 3) {
    fn();
    n++;
  }
  return (performance.now() - started) / n;
}

function listing(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-bench-log-'));
  const { store, orgId, keys } = buildLogStore(dir);
  // an organisation's first listing in a process reads its facets (the columns); later ones read what was added
  const coldStarted = performance.now();
  const reader = new StoreReader(store);
  reader.apiLogPage(orgId, { size: 50 });
  const cold = performance.now() - coldStarted;
  const newest = reader.apiLogPage(orgId, { size: 1 }).entries[0]!;
  const middle = reader.apiLogPage(orgId, { size: STORE_ENTRIES / 2 }).nextBeforeSeq!;
  const lastTenth = new Date(Date.parse(newest.time) - (STORE_ENTRIES / 10) * ENTRY_SPACING_MS).toISOString(); // the newest 10 %
  const queries: [string, LogQuery][] = [
    ['first page, no filter', { size: 50 }],
    ['page 1,000 (a token half-way down)', { size: 50, beforeSeq: middle }],
    ['status=409 (2 %)', { size: 50, status: 409 }],
    ['key_id (5 %)', { size: 50, keyId: keys[3] }],
    ['route=Grant (10 %)', { size: 50, route: 'Grant' }],
    ['start_time: the newest 10 %', { size: 50, startTime: lastTenth }],
    ['status=409 + route=Grant + start_time', { size: 50, status: 409, route: 'Grant', startTime: lastTenth }],
  ];
  const rows = [[`first listing after a start (reads the ${int(STORE_ENTRIES)} entries' facets)`, int(STORE_ENTRIES), ms(cold), '', '']];
  rows.push(...queries.map(([name, q]) => {
    const seek = timePerCall(() => reader.apiLogPage(orgId, q));
    const scan = timePerCall(() => scanEverything(store, orgId, q));
    return [name, int(reader.apiLogPage(orgId, q).total), ms(seek), ms(scan), `${(scan / seek).toFixed(0)}×`];
  }));

  void store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return markdownTable(['ListApiLogs query (page of 50)', 'matching', 'columns + seek ms', 'decode-all scan ms', 'speed-up'], 'lrrrr', rows);
}

/**
 * Milliseconds per 1,000-entry call-log flush at the cap (1,000 entries in, the oldest 1,000 out), through the
 * StoreWriter of the build in `dist`, on a store already holding {@link STORE_ENTRIES} entries.
 */
async function flushCost(dist: string, rounds: number): Promise<number[]> {
  const { openStore: open } = (await import(path.join(dist, 'src/store/env.js'))) as typeof import('../src/store/env.js');
  const { StoreWriter: Writer } = (await import(path.join(dist, 'src/store/writer.js'))) as typeof import('../src/store/writer.js');
  const { stampCommand: stamp } = (await import(path.join(dist, 'src/store/commands.js'))) as typeof import('../src/store/commands.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-bench-flush-'));
  const store = open(dir, { readOnly: false });
  const writer = new Writer(store);
  const orgId = (writer.applyBatch([stamp({ op: 'createOrganisation', name: 'b', user_id: 'u', plan: 'enterprise', rate_limit_per_minute: 0 })])[0] as any).value.id;
  const keys = Array.from({ length: 20 }, (_, i) => `apikey_${i}`);
  let n = 0;
  const flush = () => {
    const entries = Array.from({ length: FLUSH_ENTRIES }, () => logEntry(orgId, keys, n++, Date.now()));
    writer.applyBatch([stamp({ op: 'appendLogs', entries, max_age_ms: 30 * 86_400_000, max_per_org: STORE_ENTRIES })]);
  };
  while (n < STORE_ENTRIES) flush();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    flush();
    times.push(performance.now() - started);
  }
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return times;
}

/** This build's flush cost, beside the build in `against` (e.g. main's `dist`) when given: the same run, alternating. */
async function flushRows(against: string | undefined): Promise<string> {
  const builds: [string, string][] = [['this build (entries + facets)', DIST]];
  if (against !== undefined) builds.unshift([`${against} (entries only)`, path.resolve(against)]);
  const results = new Map<string, number[]>(builds.map(([name]) => [name, []]));
  for (let round = 0; round < 3; round++) for (const [name, dist] of builds) results.get(name)!.push(...(await flushCost(dist, 20)));
  return markdownTable(
    ['1,000-entry call-log flush at the 100,000-entry cap (1,000 in, 1,000 out)', 'median ms', 'p90 ms'],
    'lrr',
    builds.map(([name]) => {
      const t = [...results.get(name)!].sort((a, b) => a - b);
      return [name, ms(median(t)), ms(t[Math.floor(t.length * 0.9)]!)];
    }),
  );
}

/** `against`: another build's `dist` for the flush A/B (`--against=DIR`). */
export async function runDashboardBench(against?: string): Promise<DashboardReport> {
  const assets = assetSizes();
  const listed = listing();
  const flush = await flushRows(against);
  const loads = await browserLoads();
  return { assets, loads, listing: listed, flush };
}
