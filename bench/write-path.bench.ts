// `--only=writepath`: where one sequential durable grant's time goes, each layer measured in the same run from the disk
// up — a raw fdatasync, a bare LMDB transaction, the writer's apply and commit in-process (with the pages each commit
// writes), the writer thread's round trip as the main thread sees it, a REST check (the HTTP round trip without the
// writer), and the REST grant itself with the call log on and off. One client, one request at a time, fresh URIs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stampCommand, type CallStub, type ProjectRef, type WriteCommand } from '../src/store/commands.js';
import type { Store } from '../src/store/env.js';
import { DEFAULT_PROJECT } from '../src/store/apply/organisations.js';
import type { StoreWriter, WriteResult } from '../src/store/writer.js';
import { LatencyHistogram } from './latency.js';
import { startPermio } from './processes.js';
import { seedDataset, type Dataset } from './seed.js';
import { markdownTable, ms } from './table.js';
import { writerMetrics } from './writes.bench.js';
import { openBenchWriter } from './writer-capacity.bench.js';

export interface WritePathOptions {
  /** Timed operations per layer and round. */
  writes: number;
  rounds: number;
  workers: number;
}

export interface WritePathRow {
  layer: string;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Bytes handed to write syscalls per commit, in 4 KiB pages (in-process layers only). */
  pagesPerCommit?: number;
}

const PAGE = 4096;
const SEED_PRINCIPALS = 500; // as the REST dataset (bench/seed.ts): 500 principals × 10 grants
const SEED_GRANTS_PER_PRINCIPAL = 10;
const DAY_MS = 86_400_000;
const CLIENTS = 32; // the write goal's concurrency: 32 clients put about half their writes in each group commit
const CLIENT_PRINCIPALS = 16; // as the REST write load (bench/writes.bench.ts)
const GROUP = 16;

/** Latencies of one layer, over every round. */
class Samples {
  readonly h = new LatencyHistogram();
  totalMs = 0;
  count = 0;
  pages = 0;

  add(elapsedMs: number): void {
    this.h.record(elapsedMs);
    this.addTotal(elapsedMs, 1);
  }

  /** Time and count only (a mean without a distribution). */
  addTotal(totalMs: number, count: number): void {
    this.totalMs += totalMs;
    this.count += count;
  }

  row(layer: string, meanOnly = false): WritePathRow {
    const n = this.count;
    return {
      layer,
      p50Ms: meanOnly ? NaN : this.h.percentile(0.5),
      p99Ms: meanOnly ? NaN : this.h.percentile(0.99),
      meanMs: this.totalMs / n,
      ...(this.pages > 0 ? { pagesPerCommit: this.pages / n } : {}),
    };
  }
}

/** Bytes this process has passed to write syscalls so far (`wchar` of /proc/self/io). */
function writtenBytes(): number {
  return Number(/^wchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
}

function ok(r: WriteResult | undefined): unknown {
  if (!r?.ok) throw new Error(`write path: ${JSON.stringify(r)}`);
  return r.value;
}

/** The disk's floor: one 4 KiB page rewritten in place and fdatasynced, `n` times. */
function fdatasyncs(dir: string, n: number, s: Samples): void {
  const file = path.join(dir, 'fdatasync-probe');
  const fd = fs.openSync(file, 'w');
  const page = Buffer.alloc(PAGE, 1);
  try {
    for (let i = 0; i < n; i++) {
      fs.writeSync(fd, page, 0, PAGE, (i % 64) * PAGE);
      const started = performance.now();
      fs.fdatasyncSync(fd);
      s.add(performance.now() - started);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file);
  }
}

/** An in-process store seeded like the REST dataset, and grant commands as the REST grant makes them. */
class InProcessWriter {
  private readonly store: Store;
  private readonly writer: StoreWriter;
  private readonly ref: ProjectRef;
  private n = 0;
  private readonly prefixes = Array.from({ length: CLIENTS }, () => crypto.randomBytes(8).toString('base64url'));

  constructor(dir: string) {
    ({ store: this.store, writer: this.writer, ref: this.ref } = openBenchWriter(dir));
    for (let p = 0; p < SEED_PRINCIPALS; p++) {
      const cmds = Array.from({ length: SEED_GRANTS_PER_PRINCIPAL }, (_, g) => this.grant(`user-${p}`, `/docs/${crypto.randomBytes(6).toString('hex')}/${g}`, true));
      for (const r of this.writer.applyBatch(cmds)) ok(r);
    }
  }

  private grant(user: string, uri: string, logged: boolean): WriteCommand {
    const body = { user_id: user, resource_uri: uri, permissions: ['read', 'write'] };
    const call: CallStub = {
      organisation_id: this.ref.organisation_id,
      actor: 'key_bench',
      transport: 'rest',
      rpc: 'Grant',
      route: '/v1/grants',
      latency_ms: 0.1,
      request: JSON.stringify({ project_name: DEFAULT_PROJECT, ...body }),
      max_age_ms: 30 * DAY_MS,
      max_per_org: 100_000,
    };
    return stampCommand({ op: 'grant', ...this.ref, ...body, roles: [], ...(logged ? { call } : {}) });
  }

  /** One grant per transaction (committed and fsynced when applyBatch returns), `n` times. */
  grants(n: number, logged: boolean, s: Samples): void {
    for (let i = 0; i < n; i++, this.n++) {
      const cmd = this.grant('seq-writer', `/seq/${this.n}`, logged);
      const before = writtenBytes();
      const started = performance.now();
      ok(this.writer.applyBatch([cmd])[0]);
      s.add(performance.now() - started);
      s.pages += (writtenBytes() - before) / PAGE;
    }
  }

  /**
   * Group commits of `size` logged grants spread as 32 REST clients spread theirs (16 principals, a random prefix per
   * client, then a counter), `n / size` times: one sample per commit.
   */
  groupCommits(n: number, size: number, s: Samples): void {
    for (let c = 0; c < n / size; c++) {
      const cmds = Array.from({ length: size }, () => {
        const i = this.n++;
        return this.grant(`writer-${i % CLIENT_PRINCIPALS}`, `/writes/w${i % CLIENT_PRINCIPALS}/${this.prefixes[i % this.prefixes.length]}${i}`, true);
      });
      const before = writtenBytes();
      const started = performance.now();
      for (const r of this.writer.applyBatch(cmds)) ok(r);
      s.add(performance.now() - started);
      s.pages += (writtenBytes() - before) / PAGE;
    }
  }

  /** A transaction that puts one small value, `n` times: LMDB's own cost of a commit. */
  bareCommits(n: number, s: Samples): void {
    const { meta } = this.store.dbs;
    for (let i = 0; i < n; i++) {
      const before = writtenBytes();
      const started = performance.now();
      this.store.root.transactionSync(() => meta.putSync('write-path-probe', i));
      s.add(performance.now() - started);
      s.pages += (writtenBytes() - before) / PAGE;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

async function sequential(url: string, ds: Dataset, n: number, s: Samples, make: () => { path: string; body: object }): Promise<void> {
  const headers = { authorization: `Bearer ${ds.key}`, 'content-type': 'application/json' };
  for (let i = 0; i < n; i++) {
    const { path: p, body } = make();
    const started = performance.now();
    const res = await fetch(`${url}${p}`, { method: 'POST', headers, body: JSON.stringify(body) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`write path: ${p} answered ${res.status}`);
    s.add(performance.now() - started);
  }
}

export async function runWritePathBench(o: WritePathOptions): Promise<WritePathRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-write-path-'));
  const inProcess = new InProcessWriter(dir);
  const servers = await Promise.all(
    ([{}, { PERMIO_CALL_LOG: '0' }] as Record<string, string>[]).map(async (env) => {
      const p = await startPermio(o.workers, { env });
      const url = `http://127.0.0.1:${p.ports.http_port}`;
      return { p, url, ds: await seedDataset(url, p.adminKey) };
    }),
  );
  const [logged, unlogged] = servers as [(typeof servers)[0], (typeof servers)[0]];
  const s = {
    fsync: new Samples(),
    bare: new Samples(),
    grantLogged: new Samples(),
    grantUnlogged: new Samples(),
    group: new Samples(),
    roundTrip: new Samples(),
    check: new Samples(),
    restLogged: new Samples(),
    restUnlogged: new Samples(),
  };
  let written = 0;
  const grantBody = (ds: Dataset) => () => ({ path: '/v1/grants', body: { project_name: ds.project, user_id: 'seq-writer', resource_uri: `/seq/${written++}`, permissions: ds.permissions.slice(0, 2) } });
  try {
    for (const srv of servers) await sequential(srv.url, srv.ds, o.writes / 10, new Samples(), grantBody(srv.ds)); // warm-up
    for (let round = 0; round < o.rounds; round++) {
      fdatasyncs(dir, o.writes, s.fsync);
      inProcess.bareCommits(o.writes, s.bare);
      inProcess.grants(o.writes, true, s.grantLogged);
      inProcess.grants(o.writes, false, s.grantUnlogged);
      inProcess.groupCommits(o.writes, GROUP, s.group);
      const before = await writerMetrics(logged.url);
      await sequential(logged.url, logged.ds, o.writes, s.restLogged, grantBody(logged.ds));
      const after = await writerMetrics(logged.url);
      s.roundTrip.addTotal((after.commitSeconds - before.commitSeconds) * 1000, after.commits - before.commits);
      await sequential(unlogged.url, unlogged.ds, o.writes, s.restUnlogged, grantBody(unlogged.ds));
      const check = { project_name: logged.ds.project, principal_id: logged.ds.principal, resource_uris: logged.ds.uris.slice(0, 1), permissions: logged.ds.permissions.slice(0, 1) };
      await sequential(logged.url, logged.ds, o.writes, s.check, () => ({ path: '/v1/check', body: check }));
    }
  } finally {
    await Promise.all(servers.map((srv) => srv.p.stop()));
    await inProcess.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    s.fsync.row('fdatasync of one 4 KiB page rewritten in place (the disk)'),
    s.bare.row('LMDB transaction putting one small value, in-process (data pages synced, then the meta page)'),
    s.grantLogged.row('StoreWriter.applyBatch, one grant with its call-log entry, in-process (apply, change log, commit)'),
    s.grantUnlogged.row('the same grant without a call-log entry, in-process'),
    s.group.row(`${GROUP} logged grants per commit, keys spread as ${CLIENTS} REST clients spread theirs, in-process (per commit)`),
    s.roundTrip.row('writer thread round trip as the main thread times it, REST grant, call log on (mean, /metrics)', true),
    s.check.row('REST check 1×1, one at a time (HTTP, main thread, check worker: the round trip without the writer)'),
    s.restLogged.row('REST grant, one at a time, call log on (default)'),
    s.restUnlogged.row('REST grant, one at a time, call log off (PERMIO_CALL_LOG=0)'),
  ];
}

export function formatWritePathRows(rows: readonly WritePathRow[]): string {
  const cell = (n: number) => (Number.isNaN(n) ? '' : ms(n));
  return markdownTable(
    ['layer, same run', 'p50 ms', 'p99 ms', 'mean ms', '4 KiB pages written per commit'],
    'lrrrr',
    rows.map((r) => [r.layer, cell(r.p50Ms), cell(r.p99Ms), ms(r.meanMs), r.pagesPerCommit === undefined ? '' : r.pagesPerCommit.toFixed(1)]),
  );
}
