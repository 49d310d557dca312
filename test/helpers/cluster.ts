// Permio nodes in cluster mode (real processes on one NATS URL list), and what tests compare between replicas.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startServer, type RunningServer } from './server.js';
import { client, type Client } from './http.js';

const SETTLE_TIMEOUT_MS = 45_000; // a NATS leader election can take most of this
const POLL_MS = 25;

export interface ClusterNode {
  readonly id: string;
  server: RunningServer;
  /** REST client with the operator key. */
  api: Client;
  /** kill -9, then start again on the same data directory. */
  crashAndRestart(): Promise<void>;
}

export interface NodeOptions {
  natsUrls: string;
  id: string;
  adminKey: string;
  env?: Record<string, string>;
  dataDir?: string;
}

/** Starts one node (the process is listening; it may still be catching up). */
export async function startNode(opts: NodeOptions): Promise<ClusterNode> {
  const env = { PERMIO_NATS_URL: opts.natsUrls, PERMIO_NODE_ID: opts.id, PERMIO_WORKERS: '1', ...opts.env };
  const start = (dataDir?: string) => startServer({ env, adminKey: opts.adminKey, dataDir });
  const server = await start(opts.dataDir);
  const node: ClusterNode = {
    id: opts.id,
    server,
    api: client(server.httpUrl, opts.adminKey),
    crashAndRestart: async () => {
      await node.server.kill();
      node.server = await start(node.server.dataDir);
      node.api = client(node.server.httpUrl, opts.adminKey);
    },
  };
  return node;
}

/** Starts `count` nodes named a, b, c… on one cluster, sharing one operator key, and waits until all serve. */
export async function startNodes(natsUrls: string, count: number, env: Record<string, string> = {}): Promise<ClusterNode[]> {
  const adminKey = `perms_api_${crypto.randomBytes(16).toString('hex')}`;
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) => startNode({ natsUrls, id: String.fromCharCode(97 + i), adminKey, env })),
  );
  await Promise.all(nodes.map((n) => serving(n)));
  return nodes;
}

/** Stops (kill -9) and removes every node. */
export async function stopNodes(nodes: readonly ClusterNode[]): Promise<void> {
  for (const n of nodes) {
    await n.server.kill();
    fs.rmSync(n.server.dataDir, { recursive: true, force: true });
  }
}

/** Resolves with `/healthz` once it answers 200 SERVING. */
export async function serving(node: ClusterNode): Promise<any> {
  return until(async () => {
    const h = await node.api.get('/healthz');
    return h.status === 200 && h.body.status === 'SERVING' ? h.body : undefined;
  }, `${node.id} serving`);
}

/** Polls `probe` until it returns something other than undefined. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * What a replica holds for one organisation, read through the API: the organisation, its users, projects and keys,
 * and per project its permissions, roles and the grants of `principals`.
 */
export async function snapshot(api: Client, orgId: string, principals: readonly string[]): Promise<unknown> {
  const get = async (path: string) => {
    const res = await api.get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const q = `organisation_id=${orgId}&page_size=1000`;
  const projects = (await get(`/v1/organisations/${orgId}/projects?page_size=1000`)).projects as { name: string }[];
  const perProject: Record<string, unknown> = {};
  for (const { name } of projects) {
    const grants: Record<string, unknown> = {};
    for (const user of principals) {
      grants[user] = (await get(`/v1/grants?${q}&project_name=${name}&user_id=${encodeURIComponent(user)}`)).grants;
    }
    perProject[name] = {
      permissions: (await get(`/v1/permissions?${q}&project_name=${name}`)).permissions,
      roles: (await get(`/v1/roles?${q}&project_name=${name}`)).roles,
      grants,
    };
  }
  return {
    organisation: (await get(`/v1/organisations/${orgId}`)).organisation,
    users: (await get(`/v1/organisations/${orgId}/users?page_size=1000`)).users,
    api_keys: (await get(`/v1/organisations/${orgId}/apikeys?page_size=1000`)).api_keys,
    projects,
    per_project: perProject,
  };
}

/** Waits until every node's snapshot equals the first node's (replicas converge), and returns it. */
export async function converged(nodes: readonly ClusterNode[], orgId: string, principals: readonly string[]): Promise<unknown> {
  let last = '';
  return until(async () => {
    const all = await Promise.all(nodes.map((n) => snapshot(n.api, orgId, principals)));
    const texts = all.map((s) => JSON.stringify(s));
    last = texts.join('\n');
    return texts.every((t) => t === texts[0]) ? all[0] : undefined;
  }, `replicas to converge (last:\n${last.slice(0, 2000)})`);
}
