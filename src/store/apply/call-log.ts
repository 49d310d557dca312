// Applies a batch of API call-log entries, then the retention of the organisations it touched (by size and age).
import type { CommandOf as Cmd } from '../commands.js';
import { putLogFacets, removeLogFacets } from '../call-log-facets.js';
import { keyOf, rangeOf, seqOfLogKey, type Key } from '../keys.js';
import type { ApiLogRecord } from '../records.js';
import { seqDigits, type WriteTxn } from './write-txn.js';

const LOG_AGE_SCAN = 1000; // expired call-log entries removed per batch and organisation, at most

export function appendLogs(tx: WriteTxn, cmd: Cmd<'appendLogs'>): object {
  const { apiLogs } = tx.db;
  const counts = tx.counts; // entries per organisation, counted once and then kept up to date
  const orgs = new Set<string>();
  for (const entry of cmd.entries) {
    const seq = tx.nextSeq();
    const count = counts.get(entry.organisation_id);
    if (count !== undefined) counts.set(entry.organisation_id, count + 1);
    apiLogs.putSync(keyOf.apiLog(entry.organisation_id, seq), { id: `log_${seqDigits(seq)}`, ...entry });
    putLogFacets(tx.db, seq, entry);
    orgs.add(entry.organisation_id);
  }
  const cutoff = new Date(tx.now - cmd.max_age_ms).toISOString();
  for (const orgId of orgs) {
    // getKeysCount marks the options it is given as count-only: the scans below get their own range object
    const count = counts.get(orgId) ?? apiLogs.getKeysCount(rangeOf.organisation(orgId));
    const range = rangeOf.organisation(orgId);
    const over = Math.max(count - cmd.max_per_org, 0);
    // collect first (no writes under a live cursor): the oldest entries over the cap by key alone (no record
    // decoded), then those past the age, oldest first, decoded until the first young one (usually the first)
    const doomed = over > 0 ? ([...apiLogs.getKeys({ ...range, limit: over })] as Key[]) : [];
    for (const { key, value } of apiLogs.getRange({ ...range, offset: over, limit: LOG_AGE_SCAN })) {
      if ((value as ApiLogRecord).time >= cutoff) break; // oldest first: the rest is younger
      doomed.push(key as Key);
    }
    for (const key of doomed) {
      apiLogs.removeSync(key);
      removeLogFacets(tx.db, orgId, seqOfLogKey(key));
    }
    counts.set(orgId, count - doomed.length);
  }
  return {};
}
