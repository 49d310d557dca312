// Per call-log entry, a small record of what listings filter on (SPEC §5: time, status, key id, RPC, route), written
// and removed with the entry: the reader filters and counts over these, never over the entries and their bodies.
import type { RootDatabase } from 'lmdb';
import type { Dbs } from './apply/write-txn.js';
import { keyOf, META, seqOfLogKey, type Key } from './keys.js';
import type { ApiLogRecord } from './records.js';

/** Longest route kept in the facets; a longer one matches no filter (and longer filter values are refused). */
export const MAX_FILTER_ROUTE_CHARS = 512;

const FACETS_VERSION = 1; // meta `callLogFacets`: bump to rebuild apiLogFacets on open
const BACKFILL_BATCH = 10_000; // entries read per pass when a store older than the facets is upgraded

/** An entry's facets: time in ms since the epoch, status, key id (`operator` too), RPC, route ('' when too long). */
export type LogFacets = readonly [timeMs: number, status: number, keyId: string, rpc: string, route: string];

/** Writes the facets of entry `seq` (inside the transaction that writes the entry). */
export function putLogFacets(db: Dbs, seq: number, entry: Omit<ApiLogRecord, 'id'>): void {
  const route = entry.route.length <= MAX_FILTER_ROUTE_CHARS ? entry.route : '';
  const facets: LogFacets = [Date.parse(entry.time), entry.status, entry.actor, entry.rpc, route];
  db.apiLogFacets.putSync(keyOf.apiLogFacets(entry.organisation_id, seq), facets);
}

/** Removes the facets of entry `seq` (with the entry), by key. */
export function removeLogFacets(db: Dbs, orgId: string, seq: number): void {
  db.apiLogFacets.removeSync(keyOf.apiLogFacets(orgId, seq));
}

/** Writes the facets of every entry of a store older than them: once, when the writer opens it. */
export function ensureLogFacets(root: RootDatabase, db: Dbs): void {
  if (db.meta.get(META.callLogFacets) === FACETS_VERSION) return;
  let start: Key | undefined;
  for (;;) {
    // read a batch, then write it: no writes under a live cursor
    const batch = [...db.apiLogs.getRange({ ...(start && { start }), limit: BACKFILL_BATCH })];
    root.transactionSync(() => {
      for (const { key, value } of batch) putLogFacets(db, seqOfLogKey(key as Key), value as ApiLogRecord);
    });
    if (batch.length < BACKFILL_BATCH) break;
    const last = batch[batch.length - 1]!.key as Key;
    start = [...last.slice(0, -1), seqOfLogKey(last) + 1];
  }
  db.meta.putSync(META.callLogFacets, FACETS_VERSION);
}
