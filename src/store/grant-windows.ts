// Where a grant entry's time window (SPEC §8) sits in its GrantRecord: the one place export and import read and write it.
// The record keeps `windows: {[permission or role id]: {starts_at?, expires_at?}}` for entries that have one.
import type { GrantRecord } from './records.js';

/** An entry's window; both fields absent = permanent. */
export interface EntryWindow {
  starts_at?: string;
  expires_at?: string;
}

type Windowed = GrantRecord & { windows?: Record<string, EntryWindow> };

const PERMANENT: EntryWindow = Object.freeze({});

/** The window of entry `id` (a permission or role id) of `rec`. */
export function entryWindow(rec: GrantRecord, id: string): EntryWindow {
  return (rec as Windowed).windows?.[id] ?? PERMANENT;
}

/** Whether any entry of `rec` has a window. */
export function hasWindows(rec: GrantRecord): boolean {
  return (rec as Windowed).windows !== undefined;
}

/** `''` for a permanent window, else a key telling windows apart (entries with equal keys share an export line). */
export function windowKey(w: EntryWindow): string {
  return w.starts_at === undefined && w.expires_at === undefined ? '' : `${w.starts_at ?? ''}/${w.expires_at ?? ''}`;
}

/** `rec` with `windows` set for those of its entries that have one in `byId` (or kept from before), none otherwise. */
export function withEntryWindows(rec: GrantRecord, byId: ReadonlyMap<string, EntryWindow>, before?: GrantRecord): GrantRecord {
  const windows: Record<string, EntryWindow> = {};
  let any = false;
  for (const id of [...rec.p, ...rec.r]) {
    const w = byId.get(id) ?? (before ? entryWindow(before, id) : PERMANENT);
    if (windowKey(w) === '') continue;
    windows[id] = w;
    any = true;
  }
  const { seq, p, r } = rec;
  return any ? ({ seq, p, r, windows } as Windowed) : { seq, p, r };
}
