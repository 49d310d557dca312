// The NATS connection of the write log: connects (and reconnects) for ever, creates the stream if missing, says whether it is usable.
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { log } from '../../log.js';

export interface LogOptions {
  /** NATS server URLs; the client also learns the cluster's other servers from them. */
  readonly urls: readonly string[];
  /** The JetStream stream holding the log. */
  readonly stream: string;
  /** Replica count for the stream, when this node creates it. */
  readonly replicas: number;
  /** Names this client and its consumers on the NATS side. */
  readonly nodeId: string;
}

const PING_INTERVAL_MS = 2000; // a silent (frozen, cut-off) server is noticed after 2 missed pings, ~4 s
const MAX_PINGS_OUT = 2;
const RECONNECT_WAIT_MS = 250;
const API_TIMEOUT_MS = 2000; // JetStream API calls (stream info, consumer create)
const SETUP_RETRY_MS = [250, 500, 1000, 2000, 5000];

/** The log's stream as JetStream describes it. */
export interface StreamState {
  /** When the stream was created (ISO time): tells one stream from another of the same name. */
  readonly created: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/**
 * One NATS connection, kept up for ever (reconnecting with the client's backoff). `connected` is true while the
 * connection is up, once the stream has been found or created; listeners hear every change.
 */
export class LogConnection {
  /** The one subject the stream captures. */
  readonly subject: string;
  private nc: NatsConnection | undefined;
  private jsClient: JetStreamClient | undefined;
  private manager: JetStreamManager | undefined;
  private up = false;
  private closed = false;
  private readonly listeners: ((connected: boolean) => void)[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly options: LogOptions) {
    this.subject = `${options.stream}.writes`;
  }

  get connected(): boolean {
    return this.up;
  }

  /** JetStream client; only while connected. */
  get js(): JetStreamClient {
    return this.jsClient!;
  }

  get jsm(): JetStreamManager {
    return this.manager!;
  }

  /** Called with `true` once usable and `false` when the connection drops (and again on each change). */
  onChange(listener: (connected: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves when the connection is (or next becomes) usable; never rejects. */
  whenConnected(): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Starts connecting in the background; returns at once. */
  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    const nc = await connect({
      servers: [...this.options.urls],
      name: `permio ${this.options.nodeId}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
    });
    if (this.closed) return void (await nc.close());
    this.nc = nc;
    log.info('log: connected to NATS', { server: nc.getServer(), stream: this.options.stream });
    void this.watchStatus(nc);
    await this.setUp(nc);
  }

  /** Makes sure the stream exists (creating it if missing), then reports the connection usable. */
  private async setUp(nc: NatsConnection): Promise<void> {
    let lastError = '';
    for (let attempt = 0; !this.closed && !nc.isClosed(); attempt++) {
      try {
        this.manager ??= await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
        this.jsClient ??= jetstream(nc, { timeout: API_TIMEOUT_MS });
        await this.ensureStream(this.manager);
        this.setConnected(true);
        return;
      } catch (err) {
        const error = String((err as Error)?.message ?? err);
        // e.g. "replicas > 1 not supported in non-clustered mode": said once, retried (the operator may fix NATS)
        if (error !== lastError) log.error('log: cannot use JetStream; retrying', { stream: this.options.stream, error });
        lastError = error;
        await new Promise((r) => setTimeout(r, SETUP_RETRY_MS[Math.min(attempt, SETUP_RETRY_MS.length - 1)]));
      }
    }
  }

  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    const { stream, replicas } = this.options;
    try {
      const info = await jsm.streams.info(stream);
      if (info.config.num_replicas !== replicas) {
        log.warn('log: the stream exists with another replica count; keeping it', { stream, replicas: info.config.num_replicas });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      await jsm.streams.add({
        name: stream,
        subjects: [this.subject],
        num_replicas: replicas,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits, // the whole log is kept: a new node replays it from the start
        discard: DiscardPolicy.Old,
      });
      log.info('log: created the stream', { stream, replicas });
    }
  }

  private setConnected(value: boolean): void {
    if (this.up === value) return;
    this.up = value;
    if (value) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    for (const l of this.listeners) l(value);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        if (this.up) log.warn('log: lost the NATS connection', { server: s.type === 'disconnect' ? s.server : undefined });
        this.setConnected(false);
      } else if (s.type === 'reconnect') {
        log.info('log: reconnected to NATS', { server: s.server });
        this.setConnected(true); // the stream was set up on the first connection; a leaderless one makes appends retry
      }
    }
  }

  /** The stream's current bounds; rejects when NATS or the stream cannot answer. */
  async streamState(): Promise<StreamState> {
    if (!this.up) throw new errors.ConnectionError('not connected');
    const info: StreamInfo = await this.jsm.streams.info(this.options.stream);
    return { created: info.created, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
  }

  /** The server's limit on one message, in bytes. */
  get maxPayload(): number {
    return this.nc?.info?.max_payload ?? 1024 * 1024;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.setConnected(false);
    await this.nc?.close();
  }
}
