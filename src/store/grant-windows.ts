// A grant entry's time window (SPEC §8) as the API, events, export and import write it (`starts_at`, `expires_at`),
// and the two conversions to and from the GrantRecord's `w` (`{[permission or role id]: {s?, e?}}`, kept for the
// entries that have one; see records.ts).
import type { EntryWindow as RecordWindow, GrantRecord } from './records.js';

/** An entry's window; both fields absent = permanent. */
export interface EntryWindow {
  starts_at?: string;
  expires_at?: string;
}

const PERMANENT: EntryWindow = Object.freeze({});

/** A stored window as the API writes it (`{}` for none): field by field, absent stays absent. */
export function boundsOf(w: RecordWindow | undefined): EntryWindow {
  if (w === undefined) return PERMANENT;
  return { ...(w.s === undefined ? {} : { starts_at: w.s }), ...(w.e === undefined ? {} : { expires_at: w.e }) };
}

/** The stored form of a window, or undefined when it has no bound (permanent). */
export function recordWindow(w: EntryWindow): RecordWindow | undefined {
  if (w.starts_at === undefined && w.expires_at === undefined) return undefined;
  return { ...(w.starts_at === undefined ? {} : { s: w.starts_at }), ...(w.expires_at === undefined ? {} : { e: w.expires_at }) };
}

/** The window of entry `id` (a permission or role id) of `rec`. */
export function entryWindow(rec: GrantRecord, id: string): EntryWindow {
  return boundsOf(rec.w?.[id]);
}

/** Whether any entry of `rec` has a window. */
export function hasWindows(rec: GrantRecord): boolean {
  return rec.w !== undefined;
}

/** `''` for a permanent window, else a key telling windows apart (entries with equal keys share an export line). */
export function windowKey(w: EntryWindow): string {
  return w.starts_at === undefined && w.expires_at === undefined ? '' : `${w.starts_at ?? ''}/${w.expires_at ?? ''}`;
}

/** `rec` with `w` set for those of its entries that have a window in `byId` (or kept from before), none otherwise. */
export function withEntryWindows(rec: GrantRecord, byId: ReadonlyMap<string, EntryWindow>, before?: GrantRecord): GrantRecord {
  const w: NonNullable<GrantRecord['w']> = {};
  let any = false;
  for (const id of [...rec.p, ...rec.r]) {
    const stored = recordWindow(byId.get(id) ?? (before ? entryWindow(before, id) : PERMANENT));
    if (stored === undefined) continue;
    w[id] = stored;
    any = true;
  }
  const { seq, p, r } = rec;
  return any ? { seq, p, r, w } : { seq, p, r };
}
