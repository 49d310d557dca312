// The typed client's cost (SPEC §10): single checks through `permio/client` against the same checks sent raw — fetch
// with a JSON body for REST, a bare grpc-js client of the same protos for gRPC — with the same number of calls in
// flight, in alternating rounds against one server, so the ratio is what the client adds.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_DIR, PROTO_FILES, PROTO_PACKAGE } from '../src/api/grpc/proto.js';
import { Permio } from '../src/client/index.js';
import { startPermio } from './processes.js';
import { int, markdownTable, pct } from './table.js';

export interface ClientBenchRow {
  transport: 'REST' | 'gRPC';
  raw: number;
  client: number;
}

const PRINCIPALS = 1000;

/** Calls `once` from `inflight` loops for `seconds`; returns calls/s. Each call checks a different principal. */
async function rate(once: (principal: string) => Promise<unknown>, inflight: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: inflight }, async (_, loop) => {
      for (let i = loop; performance.now() < until; i += inflight) {
        await once(`user-${i % PRINCIPALS}`);
        calls++;
      }
    }),
  );
  return calls / seconds;
}

export async function runClientBench(opts: { workers: number; inflight: number; seconds: number; rounds: number }): Promise<ClientBenchRow[]> {
  const server = await startPermio(opts.workers, { env: { PERMIO_CALL_LOG: '0', PERMIO_CHECK_CACHE_MB: '0' } });
  const url = `http://127.0.0.1:${server.ports.http_port}`;
  const grpcAddress = `127.0.0.1:${server.ports.grpc_port}`;
  const admin = new Permio({ url, apiKey: server.adminKey });
  const clients: Permio[] = [admin];
  let raw: grpc.Client | undefined;
  try {
    const organisation = (await admin.organisations.create({ name: 'Bench', user_id: 'u' })).organisation;
    const scoped = (transport: 'rest' | 'grpc') => {
      const c = new Permio({ url, grpcAddress, apiKey: server.adminKey, transport, organisationId: organisation.id, consistency: 'minimize_latency', retries: 0 });
      clients.push(c);
      return c;
    };
    const rest = scoped('rest');
    const viaGrpc = scoped('grpc');
    await rest.permissions.create({ name: 'doc.read' });
    for (let i = 0; i < PRINCIPALS; i += 2) await rest.grants.grant({ user_id: `user-${i}`, resource_uri: '/docs', permissions: ['doc.read'] });
    const check = (principal: string) => ({ organisation_id: organisation.id, project_name: 'default', principal_id: principal, resource_uris: ['/docs/a'], permissions: ['doc.read'] });

    const headers = { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' };
    const rawRest = async (p: string) => (await fetch(`${url}/v1/check`, { method: 'POST', headers, body: JSON.stringify(check(p)) })).json();
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] })) as any;
    raw = new pkg[PROTO_PACKAGE.split('.')[0]!][PROTO_PACKAGE.split('.')[1]!].PermissionsService(grpcAddress, grpc.credentials.createInsecure()) as grpc.Client;
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${server.adminKey}`);
    const rawGrpc = (p: string) =>
      new Promise((resolve, reject) => (raw as any).Check(check(p), metadata, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));

    const scenarios = {
      'REST raw': rawRest,
      'REST client': (p: string) => rest.check(check(p)),
      'gRPC raw': rawGrpc,
      'gRPC client': (p: string) => viaGrpc.check(check(p)),
    };
    const totals = new Map<string, number[]>(Object.keys(scenarios).map((k) => [k, []]));
    for (const once of Object.values(scenarios)) await rate(once, opts.inflight, 0.5); // connections up, code warm
    for (let round = 0; round < opts.rounds; round++) {
      const order = Object.entries(scenarios);
      if (round % 2 === 1) order.reverse();
      for (const [name, once] of order) totals.get(name)!.push(await rate(once, opts.inflight, opts.seconds));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return (['REST', 'gRPC'] as const).map((t) => ({ transport: t, raw: median(totals.get(`${t} raw`)!), client: median(totals.get(`${t} client`)!) }));
  } finally {
    raw?.close();
    for (const c of clients) c.close();
    await server.stop();
  }
}

export function formatClientRows(rows: readonly ClientBenchRow[], inflight: number): string {
  return markdownTable(
    ['transport', `raw calls/s (${inflight} in flight)`, 'client calls/s', 'client / raw'],
    'lrrr',
    rows.map((r) => [r.transport, int(r.raw), int(r.client), pct(r.client / r.raw)]),
  );
}
