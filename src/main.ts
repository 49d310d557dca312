// Wires config → store → writer → check pool → service → REST and gRPC; owns the shutdown order.
import path from 'node:path';
import { useManualClock } from './clock.js';
import { loadConfig } from './config.js';
import { Errors } from './errors.js';
import { resolveAdminKey } from './admin-key.js';
import { log, setLogLevel } from './log.js';
import { DATA_FILE, openStore } from './store/env.js';
import { DataDirInUse, lockDataDir, preparePrivateDir } from './store/data-dir.js';
import { checkDataFile, DataFileUnusable } from './store/data-file.js';
import { StoreReader } from './store/read.js';
import { ChangeFeed, type Change } from './store/change-feed.js';
import { ChangeLog } from './store/change-log.js';
import { WriterClient } from './worker/writer-client.js';
import { CheckPool } from './worker/pool.js';
import { Authenticator } from './service/auth.js';
import { ServiceContext } from './service/context.js';
import { RevisionTokens } from './service/revision-token.js';
import { limitFor, RateLimiter } from './service/rate-limit.js';
import { PermioService } from './service/service.js';
import { CallLog } from './service/call-log.js';
import { startRestServer } from './api/rest/app.js';
import { startGrpcServer } from './api/grpc/server.js';
import { loadTls } from './api/tls.js';
import { docsPages } from './api/docs.js';
import { dashboardPages } from './api/dashboard.js';
import { registerGauges, registerReplicaGauges, registerWatchGauge } from './metrics.js';
import { healthReport } from './service/health.js';
import { WatchHub } from './service/watch-hub.js';
import { ExpirySweeper } from './service/expiry-sweep.js';

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.logLevel);
  const tls = config.tls && loadTls(config.tls); // before anything starts: a bad certificate is a startup error
  const advanceClock = config.testClock ? useManualClock(Date.now()) : undefined; // before anything reads the time
  preparePrivateDir(config.dataDir);
  const dirLock = await lockDataDir(config.dataDir); // before anything in the directory is opened
  const admin = resolveAdminKey(config.adminKey, config.dataDir);
  const dataFile = path.join(config.dataDir, DATA_FILE);
  checkDataFile(dataFile); // before LMDB maps it: a truncated or garbled file would crash it without a word

  const feed = new ChangeFeed();
  let afterWriterRestart = (_revision: number) => {};
  const writer = await WriterClient.start(
    { dataDir: config.dataDir, cluster: config.cluster, changelogRetention: config.changelogRetention }, // creates the environment if missing
    feed,
    (revision) => afterWriterRestart(revision),
    (reason) => {
      log.error('cluster: this replica cannot follow the log; stopping', { reason });
      process.exit(1);
    },
  ).catch((err: unknown) => {
    throw new DataFileUnusable(dataFile, String((err as Error)?.message ?? err)); // what LMDB said opening it
  });
  const store = openStore(config.dataDir, { readOnly: true });
  const reader = new StoreReader(store);
  const changeLog = new ChangeLog(store);
  const pool = new CheckPool(config.workers, config.dataDir);
  const auth = new Authenticator(reader, admin.key);
  registerGauges({ queueDepths: () => pool.queueDepths(), dataFile });
  if (config.cluster) registerReplicaGauges(() => writer.replica);
  const tokens = new RevisionTokens(reader.storeId());
  const limitOfOrg = (orgId: string) => {
    const org = reader.org(orgId);
    return org ? limitFor(org.plan, org.rate_limit_per_minute) : 0;
  };
  const ctx = new ServiceContext({ config, reader, writer, feed, changeLog, tokens, pool, auth, limitOfOrg });
  // The change feed's listeners, called for every committed change in revision order: reads see it, then its events
  // are queued to the owning check worker, then the main thread's caches drop what it made stale.
  feed.subscribe(() => reader.refresh());
  feed.subscribe((change) => pool.applyChange(change));
  feed.subscribe((change) => ctx.applyChange(change));
  const watchHub = new WatchHub({ feed, changeLog, tokens, ...config.watch });
  feed.subscribe((change) => watchHub.publish(change)); // queued only: sockets are written after the write is answered
  registerWatchGauge(() => watchHub.size);
  const sweeper = new ExpirySweeper(ctx);
  feed.subscribe((change) => sweeper.observe(change));
  sweeper.start();
  afterWriterRestart = (revision) => {
    log.warn('writer thread restarted; check workers and caches reload from LMDB');
    reader.refresh();
    ctx.clearCaches();
    pool.reset();
    // changes committed but never dispatched (the thread died before answering) come from the change log, in order
    let missed: Change[];
    while ((missed = changeLog.changesAfter(feed.applied, RESTART_REPLAY_BATCH)).length > 0) for (const c of missed) feed.publish(c);
    feed.advance(revision);
  };
  const callLog = new CallLog(config.callLog, writer);
  const service = new PermioService(ctx, new RateLimiter((orgId) => ctx.rateLimitOf(orgId)), callLog, watchHub);

  let ready = false;
  const rest = await startRestServer({
    service,
    port: config.httpPort,
    host: config.host,
    tls,
    health: () =>
      healthReport(
        ready,
        config.cluster && { nodeId: config.cluster.nodeId, status: writer.replica, revisionApplied: tokens.encode(feed.applied) },
        writer.storageTrouble,
      ),
    pages: { ...docsPages(), ...dashboardPages() },
    debugActions: {
      ...(config.faultInjection
        ? {
            '/debug/crash/check-worker/0': () => pool.crash(0),
            '/debug/crash/check-worker/1': () => pool.crash(1),
            '/debug/crash/writer': () => writer.crash(),
          }
        : {}),
      ...(advanceClock
        ? {
            '/debug/clock': clockAction(advanceClock, () => {
              watchHub.tick();
              sweeper.tick();
            }),
          }
        : {}),
    },
  });
  const grpc = await startGrpcServer({ service, port: config.grpcPort, host: config.host, tls });
  ready = true;
  log.info('listening', {
    host: config.host,
    http_port: rest.port,
    grpc_port: grpc.port,
    tls: tls !== undefined,
    data_dir: config.dataDir,
    workers: config.workers,
    ...(config.cluster ? { node_id: config.cluster.nodeId, nats_stream: config.cluster.stream } : {}),
    ...(admin.file ? { admin_key_file: admin.file } : {}),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info('shutting down', { signal });
    sweeper.stop();
    watchHub.close(); // watchers get 503 and resume elsewhere; open streams would hold the listeners
    await Promise.all([rest.close(), grpc.close()]); // stop accepting, finish in-flight requests
    await callLog.close(); // the last call-log batch goes through the writer
    await writer.close(); // flush the writer and close its LMDB handle
    await pool.close();
    await store.close();
    await dirLock.release();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  if (config.underNpmStart) watchLauncher(() => void shutdown('launcher exited'));
  watchIpcLauncher(() => void shutdown('launcher exited'));
}

/** `POST /debug/clock?advance_ms=N` (test clock only): moves the server's clock forward by N ms, then runs `moved`. */
function clockAction(advance: (ms: number) => void, moved: () => void): (query: URLSearchParams) => void {
  return (query) => {
    const ms = Number(query.get('advance_ms'));
    if (!Number.isSafeInteger(ms) || ms <= 0) throw Errors.invalidField('advance_ms', 'must be a positive integer (milliseconds)');
    advance(ms);
    moved(); // heartbeats due at the new time go out now
  };
}

const LAUNCHER_POLL_MS = 500;
const RESTART_REPLAY_BATCH = 1000;

/**
 * Under `npm start`, npm is our parent and forwards SIGTERM/SIGINT. If npm itself is killed (kill -9), we would
 * live on as an orphan holding the ports: notice the new parent and shut down as if signalled.
 */
function watchLauncher(onExit: () => void): void {
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher) onExit();
  }, LAUNCHER_POLL_MS).unref();
}

/** `permio serve` runs the server as its child holding an IPC channel, which closes when the launcher dies. */
function watchIpcLauncher(onExit: () => void): void {
  if (process.channel === undefined) return;
  process.channel.unref(); // the channel alone must not keep the server alive
  process.once('disconnect', onExit);
}

// A bug must cost one request, never the server: log what escaped and keep serving.
process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: String((err as Error)?.stack ?? err) }));
process.on('uncaughtException', (err) => log.error('uncaught exception', { error: String(err?.stack ?? err) }));

main().catch((err) => {
  if (err instanceof DataDirInUse) log.error(`startup failed: ${err.message}`, { data_dir: err.dir });
  else if (err instanceof DataFileUnusable) log.error(`startup failed: ${err.message}`, { data_file: err.file });
  else log.error('startup failed', { error: String(err?.stack ?? err) });
  process.exit(1);
});
