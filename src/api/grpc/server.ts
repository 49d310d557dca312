// The gRPC front end: both Permio services on @grpc/grpc-js, plus grpc.health.v1 and server reflection for grpcurl.
import net from 'node:net';
import os from 'node:os';
import { Server, ServerCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { log } from '../../log.js';
import { OPERATIONS } from '../operations.js';
import type { ServiceLike } from '../service-port.js';
import { boundedDefinition, createHandlers, type InternalErrorLog } from './handlers.js';
import { PROTO_PACKAGE, serviceDefinition, SERVICE_NAMES } from './proto.js';
import { addReflection } from './reflection.js';
import type { TlsMaterial } from '../tls.js';

export interface GrpcServerOptions {
  service: ServiceLike;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  /** Interface to bind (an IPv6 address without brackets); by default every interface (`[::]`, or `0.0.0.0` where IPv6 is unavailable). */
  host?: string;
  /** TLS on the port (grpcs) instead of plain HTTP/2. */
  tls?: TlsMaterial;
  /** Receives the cause of every INTERNAL answer; defaults to an error line in the JSON log. */
  onInternalError?: InternalErrorLog;
}

export interface GrpcServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting calls, lets in-flight ones finish, and forces the rest closed after {@link FORCE_SHUTDOWN_AFTER_MS}. */
  close(): Promise<void>;
}

/** How long `close()` waits for in-flight calls (and health watchers) before cutting connections. */
export const FORCE_SHUTDOWN_AFTER_MS = 5_000;

/** The largest single request message of any RPC (Check's); each RPC's own limit is applied as it is decoded. */
const MAX_RECEIVE_BYTES = Math.max(...OPERATIONS.filter((o) => o.kind !== 'client-streaming').map((o) => o.bodyLimit));

const SERVER_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
  'grpc.keepalive_time_ms': 60_000, // ping idle connections every minute so dead peers are noticed …
  'grpc.keepalive_timeout_ms': 20_000, // … and dropped when a ping goes unanswered for 20 s
};

/** Health-checked service names: '' is the whole server (what `grpc_health_probe` asks by default). */
const HEALTH_NAMES = ['', ...SERVICE_NAMES.map((name) => `${PROTO_PACKAGE}.${name}`)];

function setHealth(health: HealthImplementation, status: ServingStatus): void {
  for (const name of HEALTH_NAMES) health.setStatus(name, status);
}

function bind(server: Server, host: string, port: number, tls: TlsMaterial | undefined): Promise<number> {
  const address = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const credentials = tls
    ? ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false) // no client certificates
    : ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Every interface: dual-stack `[::]` where this machine has IPv6, else `0.0.0.0`. */
function defaultHost(): string {
  const hasIpv6 = Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6'));
  return hasIpv6 ? '[::]' : '0.0.0.0';
}

function shutdown(server: Server, health: HealthImplementation): Promise<void> {
  setHealth(health, 'NOT_SERVING');
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, FORCE_SHUTDOWN_AFTER_MS);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/**
 * Starts the gRPC server: `permio.v1.PermissionsService` and `permio.v1.OrganisationService` (every RPC goes to
 * the service, see `handlers.ts`), `grpc.health.v1.Health` (SERVING once bound) and `grpc.reflection.v1(alpha)`.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const logInternal =
    opts.onInternalError ?? ((rpc, cause) => log.error('grpc internal error', { rpc, error: String((cause as Error)?.stack ?? cause) }));
  const server = new Server(SERVER_OPTIONS);
  for (const name of SERVICE_NAMES) {
    const definition = serviceDefinition(name);
    server.addService(boundedDefinition(definition), createHandlers(definition, opts.service, logInternal));
  }
  const health = new HealthImplementation();
  setHealth(health, 'NOT_SERVING');
  health.addToServer(server);
  addReflection(server);

  const port = await bind(server, opts.host ?? defaultHost(), opts.port, opts.tls);
  setHealth(health, 'SERVING');
  return { port, close: () => shutdown(server, health) };
}
