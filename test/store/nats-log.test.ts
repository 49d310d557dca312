// The write log against real nats-server processes: order, dedup on retry, resume, outages, a 3-server cluster losing a server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import { PermioError } from '../../src/errors.js';
import { LogConnection, type LogOptions } from '../../src/store/log/log-connection.js';
import { appendEntry, EntryIds } from '../../src/store/log/log-publisher.js';
import { LogFollower, type LogEntry } from '../../src/store/log/log-follower.js';
import { packEntry } from '../../src/store/log/log-codec.js';
import { startNats, startNatsCluster, type NatsCluster, type StartedNats } from '../helpers/nats.js';

interface Value {
  from: string;
  n: number;
}

const open: (LogConnection | LogFollower<Value>)[] = [];
let streams = 0;

/** A connected log on a fresh stream name (tests share one server). */
async function openLog(urls: string, over: Partial<LogOptions> = {}): Promise<LogConnection> {
  const conn = new LogConnection({ urls: urls.split(','), stream: `T${++streams}`, replicas: 1, nodeId: 'node-a', ...over });
  open.push(conn);
  conn.start();
  await conn.whenConnected();
  return conn;
}

/** A follower collecting every entry it is handed. */
function follow(conn: LogConnection, from = 1, handler?: (entries: LogEntry<Value>[]) => void) {
  const seen: LogEntry<Value>[] = [];
  const follower = new LogFollower<Value>(conn, from, (entries) => {
    handler?.(entries);
    seen.push(...entries);
  });
  open.push(follower);
  follower.start();
  return { follower, seen, until: (count: number) => until(() => seen.length >= count) };
}

async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 45_000; // a NATS leader election can take most of this
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function append(conn: LogConnection, ids: EntryIds, value: Value) {
  return appendEntry(conn, packEntry(value), ids.next());
}

function expectGapless(seen: LogEntry<Value>[], from = 1): void {
  expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => from + i));
}

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await (x instanceof LogFollower ? x.stop() : x.close());
});

describe('one nats-server', () => {
  let nats: StartedNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats.cleanup();
  });

  it('creates the stream with the configured name and hands every entry on once, in stream order', async () => {
    const a = await openLog(nats.url);
    const b = new LogConnection({ ...a.options, nodeId: 'node-b' }); // a second node on the same stream
    open.push(b);
    b.start();
    await b.whenConnected();
    const { seen, until: seenAll } = follow(a);
    const idsA = new EntryIds('node-a');
    const idsB = new EntryIds('node-b');
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, n) => [append(a, idsA, { from: 'a', n }), append(b, idsB, { from: 'b', n })]).flat(),
    );
    await seenAll(200);
    expectGapless(seen);
    expect(new Set(acks.map((x) => x.seq)).size).toBe(200);
    // each value sits at the sequence its publisher was told
    const bySeq = new Map(seen.map((e) => [e.seq, e.value]));
    acks.forEach((ack, i) => expect(bySeq.get(ack.seq)).toEqual({ from: i % 2 ? 'b' : 'a', n: Math.floor(i / 2) }));
    // one publisher's entries keep its order
    for (const from of ['a', 'b']) {
      const ns = seen.filter((e) => e.value!.from === from).map((e) => e.value!.n);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
    expect((await a.streamState()).lastSeq).toBe(200);
  });

  it('stores a retried publish once: the retry is answered with the first copy’s sequence', async () => {
    const conn = await openLog(nats.url);
    const { seen, until: seenAll } = follow(conn);
    const first = await appendEntry(conn, packEntry({ from: 'a', n: 1 }), 'node-a.boot.1');
    const retry = await appendEntry(conn, packEntry({ from: 'a', n: 1 }), 'node-a.boot.1');
    expect(first).toEqual({ seq: 1, duplicate: false });
    expect(retry).toEqual({ seq: 1, duplicate: true });

    // an ack that never arrived: the entry is stored by a publish nobody waits for, then retried with its id
    const raw = await connect({ servers: nats.url });
    const h = headers();
    h.set('Nats-Msg-Id', 'node-a.boot.2');
    raw.publish(conn.subject, packEntry({ from: 'a', n: 2 }), { headers: h });
    await raw.flush();
    await raw.close();
    await until(() => seen.length === 2, 'the unacknowledged entry');
    expect(await appendEntry(conn, packEntry({ from: 'a', n: 2 }), 'node-a.boot.2')).toEqual({ seq: 2, duplicate: true });

    await appendEntry(conn, packEntry({ from: 'a', n: 3 }), 'node-a.boot.3');
    await seenAll(3);
    expect(seen.map((e) => e.value!.n)).toEqual([1, 2, 3]);
    expectGapless(seen);
  });

  it('resumes from a given sequence, then follows live appends', async () => {
    const conn = await openLog(nats.url);
    const ids = new EntryIds('node-a');
    for (let n = 1; n <= 10; n++) await append(conn, ids, { from: 'a', n });
    const { follower, seen, until: seenAll } = follow(conn, 6);
    await seenAll(5);
    expect(seen.map((e) => e.value!.n)).toEqual([6, 7, 8, 9, 10]);
    expect(follower.handled).toBe(10);
    expect(follower.knownEnd).toBe(10);
    await append(conn, ids, { from: 'a', n: 11 });
    await seenAll(6);
    expectGapless(seen, 6);
    expect(seen[5]!.storedAt).toBeGreaterThanOrEqual(seen[4]!.storedAt);
  });

  it('retries a handler that throws with the same entries, without skipping or repeating', async () => {
    const conn = await openLog(nats.url);
    const ids = new EntryIds('node-a');
    let failures = 0;
    const { seen, until: seenAll } = follow(conn, 1, (entries) => {
      if (entries.some((e) => e.value!.n === 3) && failures++ === 0) throw new Error('disk trouble');
    });
    for (let n = 1; n <= 5; n++) await append(conn, ids, { from: 'a', n });
    await seenAll(5);
    expect(failures).toBe(2);
    expect(seen.map((e) => e.value!.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('hands on an entry that is not MessagePack as undefined, and goes on', async () => {
    const conn = await openLog(nats.url);
    const { seen, until: seenAll } = follow(conn);
    await appendEntry(conn, new Uint8Array([0x92, 0x01]), 'junk'); // a 2-element array cut off after one
    await append(conn, new EntryIds('node-a'), { from: 'a', n: 1 });
    await seenAll(2);
    expect(seen.map((e) => e.value)).toEqual([undefined, { from: 'a', n: 1 }]);
  });

  it('stays unusable, and appends get 503, while the stream cannot be created (3 replicas on one server)', async () => {
    const conn = new LogConnection({ urls: [nats.url], stream: 'R3', replicas: 3, nodeId: 'node-a' });
    open.push(conn);
    conn.start();
    const err = await appendEntry(conn, packEntry({ from: 'a', n: 1 }), 'r3.1').catch((e: unknown) => e);
    expect((err as PermioError).status).toBe(503);
    expect(conn.connected).toBe(false);
  });

  it('refuses an entry larger than the server’s message limit with 413', async () => {
    const conn = await openLog(nats.url);
    const err = await appendEntry(conn, new Uint8Array(conn.maxPayload + 1), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermioError);
    expect((err as PermioError).status).toBe(413);
  });
});

describe('NATS down and back', () => {
  let nats: StartedNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats.cleanup();
  });

  it('fails appends with 503 while NATS is down, then reconnects and the follower resumes without a gap', async () => {
    const conn = await openLog(nats.url);
    const changes: boolean[] = [];
    conn.onChange((c) => changes.push(c));
    const ids = new EntryIds('node-a');
    const { seen, until: seenAll } = follow(conn);
    for (let n = 1; n <= 5; n++) await append(conn, ids, { from: 'a', n });
    await seenAll(5);

    await nats.kill();
    await until(() => !conn.connected, 'the disconnect');
    const err = await append(conn, ids, { from: 'a', n: 99 }).catch((e: unknown) => e);
    expect((err as PermioError).status).toBe(503);
    await expect(conn.streamState()).rejects.toThrow();

    await nats.restart();
    await conn.whenConnected();
    expect(changes).toEqual([false, true]);
    for (let n = 6; n <= 10; n++) await append(conn, ids, { from: 'a', n });
    await seenAll(10);
    expectGapless(seen);
    expect(seen.map((e) => e.value!.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('starts without NATS, answers 503 until it is reachable, then connects', async () => {
    await nats.stop();
    const conn = new LogConnection({ urls: [nats.url], stream: 'LATE', replicas: 1, nodeId: 'node-a' });
    open.push(conn);
    conn.start();
    const err = await appendEntry(conn, packEntry({ from: 'a', n: 1 }), 'late.1').catch((e: unknown) => e);
    expect((err as PermioError).status).toBe(503);
    expect((err as PermioError).message).toBe('Unavailable: the write log (NATS) is unreachable');
    await nats.restart();
    await conn.whenConnected();
    expect((await appendEntry(conn, packEntry({ from: 'a', n: 1 }), 'late.1')).seq).toBe(1);
  });
});

describe('a 3-server NATS cluster, stream replicas 3', () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  });
  afterAll(async () => {
    await cluster.cleanup();
  });

  it('keeps every entry and keeps taking appends when the stream leader dies', async () => {
    const conn = await openLog(cluster.urls, { replicas: 3 });
    const info = await conn.jsm.streams.info(conn.options.stream);
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas?.length).toBe(2);
    const ids = new EntryIds('node-a');
    const { seen, until: seenAll } = follow(conn);
    for (let n = 1; n <= 20; n++) await append(conn, ids, { from: 'a', n });

    const leader = cluster.servers.find((s) => s.name === info.cluster?.leader)!;
    await leader.kill();
    for (let n = 21; n <= 40; n++) await append(conn, ids, { from: 'a', n }); // retried through the election
    await seenAll(40);
    expectGapless(seen);
    expect(seen.map((e) => e.value!.n)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const after = await conn.jsm.streams.info(conn.options.stream);
    expect(after.cluster?.leader).not.toBe(leader.name);
    expect(after.state.last_seq).toBe(40);
    await leader.restart();
  });
});
