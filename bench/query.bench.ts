// SPEC §8 reads over REST, each beside a same-run baseline: LookupResources of a principal with 10 k grants in a big
// project (pages of 1,000, and the whole walk vs the naive way: ListGrants + Check of every URI), LookupSubjects of a
// resource whose ancestors carry 10 k principals (pages of 1,000), and ExplainCheck 1×100×2 vs Check 1×100×2.
//   npm run bench -- --only=query [--query-grants=1000000] [--duration=S]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../src/store/env.js';
import { StoreWriter } from '../src/store/writer.js';
import { stampCommand, type CommandBody } from '../src/store/commands.js';
import type { ProjectRecord } from '../src/store/records.js';
import { load, type LoadOptions } from './http.bench.js';
import { LatencyHistogram } from './latency.js';
import { startPermio } from './processes.js';
import { buildStore } from './store-builder.js';
import { PERMISSION_NAMES } from './engine-dataset.js';
import { int, markdownTable, ms } from './table.js';

export interface QueryOptions extends LoadOptions {
  /** Synthetic grants in the project besides the lookup principals' own. */
  grants: number;
}

const REACH = 'reach-user'; // holds REACH_GRANTS grants
const REACH_GRANTS = 10_000;
const SUBJECTS = 10_000; // principals granted on the ancestors of SUBJECT_URI
const SUBJECT_URI = '/orgs/o1/teams/t1/docs/d1';
const PAGE = 1000;
const SAMPLES = 50; // whole walks / pages timed one at a time

/** Adds the lookup principals to the built store, through the real writer. */
function addLookupGrants(dataDir: string, organisationId: string): void {
  const store = openStore(dataDir, { readOnly: false });
  const writer = new StoreWriter(store);
  const project = store.dbs.projects.get([organisationId, 'default']) as ProjectRecord;
  const ref = { organisation_id: organisationId, project_name: 'default', project_id: project.id };
  const cmds: CommandBody[] = [];
  // 10 k grants under /reach, two levels deep, some nested under others (not maximal)
  for (let i = 0; i < REACH_GRANTS; i++) {
    const uri = i % 10 === 9 ? `/reach/r${Math.floor(i / 10)}/sub` : `/reach/r${i}`;
    cmds.push({ op: 'grant', user_id: REACH, resource_uri: uri, permissions: [PERMISSION_NAMES[0]!], roles: [], ...ref });
  }
  const ancestors = ['/', '/orgs', '/orgs/o1', '/orgs/o1/teams', '/orgs/o1/teams/t1', '/orgs/o1/teams/t1/docs', SUBJECT_URI];
  for (let i = 0; i < SUBJECTS; i++) {
    cmds.push({ op: 'grant', user_id: `subject-${i}`, resource_uri: ancestors[i % ancestors.length]!, permissions: [PERMISSION_NAMES[0]!], roles: [], ...ref });
  }
  for (let i = 0; i < cmds.length; i += 5000) {
    for (const r of writer.applyBatch(cmds.slice(i, i + 5000).map((c) => stampCommand(c)))) if (!r.ok) throw new Error(`${r.status} ${r.message}`);
  }
  void store.close();
}

async function post(url: string, key: string, path: string, body: object): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Walks every page of a lookup; returns the items and each page's latency. */
async function walk(url: string, key: string, route: string, body: object, field: string, pages: LatencyHistogram): Promise<string[]> {
  const out: string[] = [];
  let token = '';
  do {
    const started = performance.now();
    const page = await post(url, key, route, { ...body, page_size: PAGE, ...(token ? { page_token: token } : {}) });
    pages.record(performance.now() - started);
    out.push(...page[field]);
    token = page.next_page_token;
  } while (token !== '');
  return out;
}

/** The naive reach of REACH: list its grants, check each URI (batches of 1,000), keep the maximal ones. */
async function naiveReach(url: string, key: string, permission: string): Promise<string[]> {
  const uris: string[] = [];
  let token = '';
  do {
    const q = new URLSearchParams({ project_name: 'default', user_id: REACH, page_size: String(PAGE), ...(token ? { page_token: token } : {}) });
    const res = await fetch(`${url}/v1/grants?${q}`, { headers: { authorization: `Bearer ${key}` } });
    const page = (await res.json()) as { grants: { resource_uri: string }[]; next_page_token: string };
    uris.push(...page.grants.map((g) => g.resource_uri));
    token = page.next_page_token;
  } while (token !== '');
  const held: string[] = [];
  for (let i = 0; i < uris.length; i += PAGE) {
    const batch = uris.slice(i, i + PAGE);
    const answer = await post(url, key, '/v1/check', { project_name: 'default', principal_id: REACH, resource_uris: batch, permissions: [permission] });
    const missing = new Set((answer.missing_permissions as { resource_uri: string }[]).map((m) => m.resource_uri));
    for (const u of batch) if (!missing.has(u)) held.push(u);
  }
  const set = new Set(held);
  return held.filter((u) => !u.split('/').some((_, i, parts) => i > 0 && i < parts.length - 1 && set.has(parts.slice(0, i + 1).join('/')))).sort();
}

export async function runQueryBench(o: QueryOptions): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-query-bench-'));
  const built = await buildStore(dataDir, [{ name: 'default', grants: o.grants }]);
  addLookupGrants(dataDir, built.organisationId);
  const server = await startPermio(o.workers, { dataDir });
  const url = `http://127.0.0.1:${server.ports.http_port}`;
  const key = built.key;
  const perm = PERMISSION_NAMES[0]!;
  try {
    const rows: string[][] = [];

    const resPages = new LatencyHistogram();
    const walks = new LatencyHistogram();
    let reach: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const started = performance.now();
      reach = await walk(url, key, '/v1/lookup/resources', { project_name: 'default', principal_id: REACH, permission: perm }, 'resource_uris', resPages);
      walks.record(performance.now() - started);
    }
    const naiveWalks = new LatencyHistogram();
    let naive: string[] = [];
    for (let i = 0; i < Math.max(3, SAMPLES / 10); i++) {
      const started = performance.now();
      naive = await naiveReach(url, key, perm);
      naiveWalks.record(performance.now() - started);
    }
    if (naive.length !== reach.length) throw new Error(`lookup found ${reach.length} URIs, the naive scan ${naive.length}`);
    rows.push([`LookupResources, ${int(REACH_GRANTS)} grants of one principal: page of ${int(PAGE)}`, ms(resPages.percentile(0.5)), ms(resPages.percentile(0.99)), '']);
    rows.push([`LookupResources: the whole answer (${int(reach.length)} URIs, ${Math.ceil(reach.length / PAGE)} pages)`, ms(walks.percentile(0.5)), ms(walks.percentile(0.99)), '']);
    rows.push([
      'naive: ListGrants + Check of every URI (baseline)',
      ms(naiveWalks.percentile(0.5)),
      ms(naiveWalks.percentile(0.99)),
      `lookup ${(naiveWalks.percentile(0.5) / walks.percentile(0.5)).toFixed(1)}× faster`,
    ]);

    const subPages = new LatencyHistogram();
    let subjects: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      subjects = await walk(url, key, '/v1/lookup/subjects', { project_name: 'default', resource_uri: SUBJECT_URI, permission: perm }, 'principal_ids', subPages);
    }
    rows.push([`LookupSubjects, ${int(subjects.length)} principals on the ancestors: page of ${int(PAGE)}`, ms(subPages.percentile(0.5)), ms(subPages.percentile(0.99)), '']);

    const uris = Array.from({ length: 100 }, (_, i) => `/reach/r${i}/doc`);
    const body = JSON.stringify({ project_name: 'default', principal_id: REACH, resource_uris: uris, permissions: [perm, PERMISSION_NAMES[1]!] });
    const auth = { authorization: `Bearer ${key}` };
    const checkLoad = await load(`${url}/v1/check`, body, auth, o);
    const explainLoad = await load(`${url}/v1/explain`, body, auth, o);
    rows.push(['Check 1×100×2 under load (baseline)', ms(checkLoad.p50), ms(checkLoad.p99), `${int(checkLoad.rps)} req/s`]);
    rows.push(['ExplainCheck 1×100×2 under load', ms(explainLoad.p50), ms(explainLoad.p99), `${int(explainLoad.rps)} req/s (${((explainLoad.rps / checkLoad.rps) * 100).toFixed(0)} % of Check)`]);
    const header = `${int(built.storedGrants + REACH_GRANTS + SUBJECTS)} grants in the project; sequential requests (one client) unless "under load"\n\n`;
    return header + markdownTable(['scenario', 'p50 ms', 'p99 ms', 'vs baseline'], 'lrrl', rows);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
