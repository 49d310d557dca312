// Watch (SPEC §7): every subscription of this node. A change-feed listener fans each committed change out to the
// live subscriptions of its project; a new subscription first replays the change log, then goes live with no gap and
// no duplicate; idle streams get heartbeats; a watcher that leaves too much unread is cut off. Transport-free: each
// subscription writes to a WatchSink (api/rest/watch-socket.ts, api/grpc/watch-stream.ts).
import { now } from '../clock.js';
import { Errors, type PermioError } from '../errors.js';
import { observeWatchCutOff } from '../metrics.js';
import type { Change, ChangeFeed, WatchEvent } from '../store/change-feed.js';
import type { ChangeLog } from '../store/change-log.js';
import type { RevisionTokens } from './revision-token.js';

/** What a watcher keeps (SPEC §7): only its principal's grant events, only grant events at or under a URI. */
export interface WatchFilter {
  readonly userId?: string;
  /** A normalized resource URI (no trailing '/', except the root). */
  readonly prefix?: string;
}

/** One §7 message, `{revision, committed_at, events}`, with each transport's encoding made once for all receivers. */
export class WatchMessage {
  private json: Buffer | undefined;
  /** The gRPC transport's encoding (protobuf), made by it on first use. */
  wire: Buffer | undefined;

  constructor(readonly body: { readonly revision: string; readonly committed_at: string; readonly events: readonly WatchEvent[] }) {}

  /** The message as JSON text (UTF-8). */
  text(): Buffer {
    return (this.json ??= Buffer.from(JSON.stringify(this.body)));
  }
}

/** Where a subscription's messages go: one per subscription, implemented by each transport. */
export interface WatchSink {
  /** Bytes handed to the transport that the peer has not taken yet. */
  backlog(): number;
  /** Sends `messages` in order (as one write where the transport can). */
  send(messages: readonly WatchMessage[]): void;
  /** Sends `err` (one §5 error object / the mapped status) and closes; `slow` when it is the slow-consumer cut-off. */
  fail(err: PermioError, slow: boolean): void;
  /** Ends the stream normally (after the project's PROJECT_DELETED). */
  end(): void;
}

/** Replay pauses while the peer has this much unread, and goes on when it drained (`Subscription.drained`). */
const REPLAY_HIGH_WATER_BYTES = 1024 * 1024;
/** Change-log entries read per replay step; steps yield to the event loop between them. */
const REPLAY_BATCH = 256;
/** The heartbeat check runs this many times per heartbeat period (and at least once a second). */
const HEARTBEAT_CHECKS_PER_PERIOD = 4;

export interface WatchHubOptions {
  readonly feed: ChangeFeed;
  readonly changeLog: ChangeLog;
  readonly tokens: RevisionTokens;
  /** PERMIO_WATCH_HEARTBEAT_S in ms. */
  readonly heartbeatMs: number;
  /** PERMIO_WATCH_MAX_BUFFER_MB in bytes. */
  readonly maxBufferBytes: number;
}

const GRANT_TYPES: ReadonlySet<string> = new Set(['GRANT', 'REVOKE', 'GRANT_EXPIRED']);

/** Whether `uri` is `prefix` or below it by whole segments (SPEC §4): `/a` covers `/a/b`, never `/ab`. */
function atOrUnder(uri: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return uri.length === prefix.length ? uri === prefix : uri.length > prefix.length && uri.charCodeAt(prefix.length) === 47 /* '/' */ && uri.startsWith(prefix);
}

/** The events of `events` that `filter` keeps: schema events always, grant events when they match. */
export function filterEvents(events: readonly WatchEvent[], filter: WatchFilter): readonly WatchEvent[] {
  const { userId, prefix } = filter;
  if (userId === undefined && prefix === undefined) return events;
  return events.filter((e) => {
    if (!GRANT_TYPES.has(e.type)) return true;
    const g = e as { user_id: string; resource_uri: string };
    return (userId === undefined || g.user_id === userId) && (prefix === undefined || atOrUnder(g.resource_uri, prefix));
  });
}

const filterKey = (f: WatchFilter) => (f.userId === undefined && f.prefix === undefined ? '' : `${f.userId ?? ''}\u0000${f.prefix ?? ''}`);
const endsProject = (events: readonly WatchEvent[]) => events.some((e) => e.type === 'PROJECT_DELETED');

/** One watcher: replaying the change log, then live until it ends, fails or its peer goes away. */
export class Subscription {
  state: 'replaying' | 'live' | 'done' = 'replaying';
  /** Every matching change up to this revision was sent or queued. */
  cursor: number;
  /** Live messages queued since the last flush, and their size. */
  pending: WatchMessage[] = [];
  pendingBytes = 0;
  /** When the last message was queued (server clock), for heartbeats. */
  lastQueuedAt = now();
  /** The change just queued ends the project: close after sending it. */
  ending = false;
  /** Replay is paused until the peer drains. */
  waitingForDrain = false;

  constructor(
    private readonly hub: WatchHub,
    readonly projectId: string,
    readonly filter: WatchFilter,
    readonly sink: WatchSink,
    after: number,
  ) {
    this.cursor = after;
  }

  /** The transport says the peer took what was buffered (or part of it): a paused replay goes on. */
  drained(): void {
    if (this.waitingForDrain && this.state === 'replaying') {
      this.waitingForDrain = false;
      this.hub.replayStep(this);
    }
  }

  /** The peer went away (socket closed, call cancelled): forget the subscription. */
  close(): void {
    this.hub.remove(this);
  }
}

/** The live subscriptions of one project, grouped by filter so each change is filtered and encoded once per group. */
interface ProjectWatchers {
  readonly groups: Map<string, { readonly filter: WatchFilter; readonly subs: Set<Subscription> }>;
}

export class WatchHub {
  private readonly projects = new Map<string, ProjectWatchers>();
  private readonly replaying = new Set<Subscription>();
  /** Subscriptions with queued messages, sent together once per event-loop turn. */
  private readonly dirty = new Set<Subscription>();
  private flushScheduled = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly o: WatchHubOptions) {
    const every = Math.min(1000, Math.max(10, Math.floor(o.heartbeatMs / HEARTBEAT_CHECKS_PER_PERIOD)));
    this.heartbeat = setInterval(() => this.beat(), every).unref();
  }

  /** How many subscriptions are open (replaying or live). */
  get size(): number {
    let n = this.replaying.size;
    for (const p of this.projects.values()) for (const g of p.groups.values()) n += g.subs.size;
    return n;
  }

  /**
   * Opens a subscription on `projectId`: with `after` (a revision the change log still holds), every matching change
   * after it is replayed first; without, it starts at the current revision. The "live" message follows either way.
   */
  subscribe(projectId: string, filter: WatchFilter, sink: WatchSink, after?: number): Subscription {
    const sub = new Subscription(this, projectId, filter, sink, after ?? this.o.feed.applied);
    if (after === undefined) this.goLive(sub);
    else {
      this.replaying.add(sub);
      this.replayStep(sub);
    }
    return sub;
  }

  /**
   * The change-feed listener (main.ts): queues each change's matching events to the live subscriptions of its project.
   * Only queues — the sockets are written once per event-loop turn (`flush`), after the write was answered.
   */
  publish(full: Change): void {
    if (full.project_id === undefined || (full.events.length === 0 && full.elided_events === undefined)) return;
    const project = this.projects.get(full.project_id);
    if (project === undefined) return;
    // a change too large to carry (a large import) is read back from the change log, only when someone watches
    const change = full.elided_events === undefined ? full : (this.o.changeLog.projectChanges(full.project_id, full.revision - 1, 1)[0] ?? full);
    const ends = endsProject(change.events);
    const token = this.o.tokens.encode(change.revision);
    for (const group of project.groups.values()) {
      const events = filterEvents(change.events, group.filter);
      if (events.length === 0) continue;
      const message = new WatchMessage({ revision: token, committed_at: change.committed_at, events });
      for (const sub of group.subs) {
        if (change.revision <= sub.cursor) continue; // already replayed
        sub.cursor = change.revision;
        sub.ending = ends;
        this.queue(sub, message);
      }
    }
    if (ends) this.projects.delete(full.project_id);
  }

  /** Ends every subscription with 503 (shutdown: clients resume on another start or node). */
  close(): void {
    clearInterval(this.heartbeat);
    const all = [...this.replaying];
    for (const p of this.projects.values()) for (const g of p.groups.values()) all.push(...g.subs);
    for (const sub of all) this.fail(sub, Errors.unavailable('the server is shutting down'), false);
  }

  /** Sends heartbeats now (the test clock moved). */
  tick(): void {
    this.beat();
  }

  /** @internal One replay step: reads the next batch of the change log (up to what the feed dispatched) and sends it. */
  replayStep(sub: Subscription): void {
    if (sub.state !== 'replaying') return;
    if (sub.sink.backlog() > REPLAY_HIGH_WATER_BYTES) {
      sub.waitingForDrain = true;
      return;
    }
    if (sub.cursor < this.o.changeLog.replayableAfter()) {
      return this.fail(sub, Errors.revisionNotRetained(this.o.tokens.encode(sub.cursor), this.o.tokens.encode(this.o.changeLog.replayableAfter())), false);
    }
    // Only what the feed dispatched (acknowledged writes); a commit not dispatched yet reaches the live path.
    const upTo = this.o.feed.applied;
    const batch = this.o.changeLog.projectChanges(sub.projectId, sub.cursor, REPLAY_BATCH);
    const out: WatchMessage[] = [];
    let exhausted = batch.length < REPLAY_BATCH;
    let ended = false;
    for (const change of batch) {
      if (change.revision > upTo) {
        exhausted = true;
        break;
      }
      sub.cursor = change.revision;
      const events = filterEvents(change.events, sub.filter);
      if (events.length > 0) out.push(new WatchMessage({ revision: this.o.tokens.encode(change.revision), committed_at: change.committed_at, events }));
      if (endsProject(change.events)) {
        ended = true;
        break;
      }
    }
    if (out.length > 0) sub.sink.send(out);
    if (ended) {
      this.replaying.delete(sub);
      sub.state = 'done';
      return sub.sink.end();
    }
    if (!exhausted) {
      setImmediate(() => this.replayStep(sub));
      return;
    }
    // Caught up with the feed, in this same turn: every later change reaches the live path, none twice (cursor).
    sub.cursor = Math.max(sub.cursor, upTo);
    this.replaying.delete(sub);
    this.goLive(sub);
  }

  /** @internal Forgets `sub` (its peer went away). */
  remove(sub: Subscription): void {
    if (sub.state === 'done') return;
    sub.state = 'done';
    this.replaying.delete(sub);
    this.dirty.delete(sub);
    sub.pending = [];
    const project = this.projects.get(sub.projectId);
    const key = filterKey(sub.filter);
    const group = project?.groups.get(key);
    if (group === undefined) return;
    group.subs.delete(sub);
    if (group.subs.size > 0) return;
    project!.groups.delete(key);
    if (project!.groups.size === 0) this.projects.delete(sub.projectId);
  }

  private goLive(sub: Subscription): void {
    sub.state = 'live';
    let project = this.projects.get(sub.projectId);
    if (project === undefined) this.projects.set(sub.projectId, (project = { groups: new Map() }));
    const key = filterKey(sub.filter);
    let group = project.groups.get(key);
    if (group === undefined) project.groups.set(key, (group = { filter: sub.filter, subs: new Set() }));
    group.subs.add(sub);
    this.queue(sub, this.current(sub.cursor)); // registered: every later write follows
  }

  /** `{revision, committed_at, events: []}`: the stream is live and has everything up to `revision`. */
  private current(revision: number): WatchMessage {
    return new WatchMessage({ revision: this.o.tokens.encode(revision), committed_at: new Date(now()).toISOString(), events: [] });
  }

  private queue(sub: Subscription, message: WatchMessage): void {
    sub.pending.push(message);
    sub.pendingBytes += message.text().length;
    sub.lastQueuedAt = now();
    this.dirty.add(sub);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every subscription's queued messages; one whose peer has more unread than the limit is cut off instead. */
  private flush(): void {
    this.flushScheduled = false;
    for (const sub of this.dirty) {
      const messages = sub.pending;
      sub.pending = [];
      sub.pendingBytes = 0;
      if (sub.state !== 'live') continue;
      if (sub.sink.backlog() > this.o.maxBufferBytes) {
        observeWatchCutOff();
        this.fail(sub, Errors.slowConsumer(this.o.maxBufferBytes), true);
        continue;
      }
      sub.sink.send(messages);
      if (sub.ending) {
        this.remove(sub);
        sub.sink.end();
      }
    }
    this.dirty.clear();
  }

  private fail(sub: Subscription, err: PermioError, slow: boolean): void {
    this.remove(sub);
    sub.sink.fail(err, slow);
  }

  /** Queues the current revision to every live subscription that was sent nothing for a heartbeat period. */
  private beat(): void {
    const due = now() - this.o.heartbeatMs;
    let message: WatchMessage | undefined;
    for (const project of this.projects.values()) {
      for (const group of project.groups.values()) {
        for (const sub of group.subs) {
          if (sub.lastQueuedAt > due || sub.pending.length > 0) continue;
          message ??= this.current(this.o.feed.applied);
          sub.cursor = Math.max(sub.cursor, this.o.feed.applied);
          this.queue(sub, message);
        }
      }
    }
  }
}
