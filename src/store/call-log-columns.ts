// Listing the call log (SPEC §5) without reading it: per organisation, the entries' facets as typed-array columns in
// memory, loaded from apiLogFacets on the organisation's first listing and then kept in step (entries appended since
// are read, those retention removed dropped). Filters and totals run over the columns; pages seek by sequence number;
// only a page's entries are read from apiLogs. Sequence order is only roughly time order — a write's entry is stamped
// when the write was made, a batched read's when it was answered, and in cluster mode entries of every node, each with
// its own clock, are applied in log order — so a time bound is a binary search over the running maximum of the times,
// then a test of each entry's own time.
import type { Dbs } from './apply/write-txn.js';
import type { LogFacets } from './call-log-facets.js';
import { keyOf, rangeOf, seqOfLogKey, type Key } from './keys.js';
import type { ApiLogRecord } from './records.js';

/** Facets kept in memory over all organisations (~30 bytes each); the least recently listed go first. */
const MAX_CACHED_ENTRIES = 1_000_000;
const INITIAL_CAPACITY = 1024;
const ABSENT = 0; // interned id of a value no entry has

export interface LogQuery {
  /** RFC 3339: entries at or after it. */
  readonly startTime?: string;
  /** Entries before it. */
  readonly endTime?: string;
  readonly status?: number;
  readonly keyId?: string;
  /** An RPC name or a route: entries with either equal to it. */
  readonly route?: string;
  readonly size: number;
  /** Only entries older than this sequence number (the previous page's last). */
  readonly beforeSeq?: number;
}

export interface LogPage {
  readonly entries: ApiLogRecord[];
  /** The sequence number of the page's last entry when more match; undefined on the last page. */
  readonly nextBeforeSeq: number | undefined;
  /** Entries matching the filters, on every page. */
  readonly total: number;
}

/** One organisation's facets in sequence order: `[head, tail)` of the arrays is live. */
class Columns {
  seqs = new Float64Array(INITIAL_CAPACITY);
  times = new Float64Array(INITIAL_CAPACITY);
  /** `maxTimes[i]`: the latest time of the entries up to i (sorted, so it can be searched). */
  maxTimes = new Float64Array(INITIAL_CAPACITY);
  statuses = new Uint16Array(INITIAL_CAPACITY);
  keys = new Uint32Array(INITIAL_CAPACITY);
  rpcs = new Uint32Array(INITIAL_CAPACITY);
  routes = new Uint32Array(INITIAL_CAPACITY);
  head = 0;
  tail = 0;
  /** Key ids, RPC names and routes → small integers (0 is none). */
  readonly ids = new Map<string, number>();

  get size(): number {
    return this.tail - this.head;
  }

  /** Catches up with the store: drops entries retention removed, appends those written since. */
  sync(db: Dbs, orgId: string): void {
    const first = firstSeq(db, orgId);
    this.head = first === undefined ? this.tail : lowerBound(this.seqs, this.head, this.tail, first);
    const from = this.tail > this.head ? this.seqs[this.tail - 1]! + 1 : (first ?? 0);
    for (const { key, value } of db.apiLogFacets.getRange(rangeOf.apiLogsFrom(orgId, from))) this.push(seqOfLogKey(key as Key), value as LogFacets);
  }

  private push(seq: number, [time, status, keyId, rpc, route]: LogFacets): void {
    if (this.tail === this.seqs.length) this.makeRoom();
    const i = this.tail++;
    this.seqs[i] = seq;
    this.times[i] = time;
    this.maxTimes[i] = i > this.head ? Math.max(this.maxTimes[i - 1]!, time) : time;
    this.statuses[i] = status;
    this.keys[i] = this.intern(keyId);
    this.rpcs[i] = this.intern(rpc);
    this.routes[i] = route === '' ? ABSENT : this.intern(route);
  }

  /** Moves the live part to the front, or doubles the arrays when it fills more than half. */
  private makeRoom(): void {
    const live = this.size;
    const capacity = live * 2 > this.seqs.length ? this.seqs.length * 2 : this.seqs.length;
    for (const name of ['seqs', 'times', 'maxTimes', 'statuses', 'keys', 'rpcs', 'routes'] as const) {
      const old = this[name];
      const next = new (old.constructor as new (n: number) => typeof old)(capacity);
      next.set(old.subarray(this.head, this.tail));
      (this as Record<typeof name, typeof old>)[name] = next;
    }
    this.head = 0;
    this.tail = live;
  }

  private intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) this.ids.set(value, (id = this.ids.size + 1));
    return id;
  }

  /**
   * Positions `[lo, hi)` that hold every entry of the query's time window, and a test of each position (undefined:
   * all of them match). Before `lo` every entry is older than the start; past `hi`, none is older than the end.
   */
  select(q: LogQuery): { lo: number; hi: number; matches: ((i: number) => boolean) | undefined } {
    const start = q.startTime === undefined ? -Infinity : Date.parse(q.startTime);
    const end = q.endTime === undefined ? Infinity : Date.parse(q.endTime);
    const lo = lowerBound(this.maxTimes, this.head, this.tail, start);
    // the first position from which on every entry is at or past the end: the running maximum says where one reaches
    // it, and entries out of order after that are caught by `inWindow`
    let hi = end === Infinity ? this.tail : lowerBound(this.maxTimes, this.head, this.tail, end);
    const { times } = this;
    let exact = true; // the positions alone are the window
    for (let i = hi; i < this.tail; i++) if (times[i]! < end) (hi = i + 1), (exact = false);
    for (let i = lo; i < hi && exact; i++) if (times[i]! < start) exact = false;
    const inWindow = exact ? undefined : (i: number) => times[i]! >= start && times[i]! < end;
    if (q.status === undefined && q.keyId === undefined && q.route === undefined) return { lo, hi, matches: inWindow };
    // a value no entry has matches nothing: its id stays ABSENT, which no key or rpc column holds
    const status = q.status ?? -1;
    const key = q.keyId === undefined ? -1 : (this.ids.get(q.keyId) ?? ABSENT);
    const route = q.route === undefined ? -1 : (this.ids.get(q.route) ?? ABSENT);
    const { statuses, keys, rpcs, routes } = this;
    const matches = (i: number) =>
      (inWindow === undefined || inWindow(i)) &&
      (status < 0 || statuses[i] === status) &&
      (key < 0 || keys[i] === key) &&
      (route < 0 || (route !== ABSENT && (rpcs[i] === route || routes[i] === route)));
    return { lo, hi, matches };
  }
}

/** The first position in `[from, to)` whose value is ≥ `value` (`to` when none): the arrays are sorted. */
function lowerBound(values: Float64Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function firstSeq(db: Dbs, orgId: string): number | undefined {
  for (const key of db.apiLogFacets.getKeys({ ...rangeOf.apiLogsFrom(orgId, 0), limit: 1 })) return seqOfLogKey(key as Key);
  return undefined;
}

/** The facets of the organisations listed lately (main thread), and the listing over them. */
export class CallLogColumns {
  /** In order of last use: the oldest first (a Map iterates in insertion order). */
  private readonly byOrg = new Map<string, Columns>();
  private cached = 0;

  /** One page of `orgId`'s log, newest first, as of the reader's snapshot `db`. */
  page(db: Dbs, orgId: string, q: LogQuery): LogPage {
    const columns = this.columnsOf(db, orgId);
    const { lo, hi, matches } = columns.select(q);
    const top = q.beforeSeq === undefined ? hi : Math.min(hi, lowerBound(columns.seqs, columns.head, columns.tail, q.beforeSeq));
    let total = Math.max(hi - lo, 0);
    if (matches !== undefined) {
      total = 0;
      for (let i = lo; i < hi; i++) if (matches(i)) total++;
    }
    const seqs: number[] = [];
    for (let i = top - 1; i >= lo && seqs.length <= q.size; i--) if (matches === undefined || matches(i)) seqs.push(columns.seqs[i]!);
    const more = seqs.length > q.size;
    if (more) seqs.length = q.size;
    const entries = seqs.map((seq) => db.apiLogs.get(keyOf.apiLog(orgId, seq)) as ApiLogRecord);
    return { entries, nextBeforeSeq: more ? seqs[seqs.length - 1] : undefined, total };
  }

  private columnsOf(db: Dbs, orgId: string): Columns {
    let columns = this.byOrg.get(orgId);
    if (columns === undefined) columns = new Columns();
    else this.byOrg.delete(orgId); // re-inserted below: now the most recently used
    this.cached -= columns.size;
    columns.sync(db, orgId);
    this.cached += columns.size;
    this.byOrg.set(orgId, columns);
    for (const [id, old] of this.byOrg) {
      if (this.cached <= MAX_CACHED_ENTRIES || id === orgId) break;
      this.byOrg.delete(id);
      this.cached -= old.size;
    }
    return columns;
  }
}
