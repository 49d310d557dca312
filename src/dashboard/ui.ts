// Shared pieces of every page: what a page is given, alerts and status lines, and the hooks that load and act.
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText, type Api, type Organisation, type Project, type Scope } from './api.js';

/** What every page is given by the shell. */
export interface PageProps {
  readonly api: Api;
  /** The key itself: only Changes needs it, for the first WebSocket message (SPEC §7). */
  readonly apiKey: string;
  readonly operator: boolean;
  /** The selected organisation and project; `project` is '' when the organisation has none. */
  readonly scope: Scope;
  /** Every organisation (operator key), or the key's own. */
  readonly organisations: Loaded<readonly Organisation[]>;
  /** The projects of the selected organisation. */
  readonly projects: Loaded<readonly Project[]>;
  selectOrganisation(id: string): void;
}

/** The API's error (SPEC §5 message) as an alert, or nothing. */
export function ErrorAlert({ error }: { error: unknown }) {
  return error === undefined ? null : html`<p role="alert" class="error">${errorText(error)}</p>`;
}

/** A polite status line (loading, saved, copied). */
export function Status({ children }: { children: ComponentChildren }) {
  return html`<p role="status" class="muted">${children}</p>`;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/**
 * Loads when `deps` change and on `reload()`; an answer that arrives after the deps changed is dropped. New deps
 * (another page, other filters) clear the data; a reload keeps it on screen until the new answer (no flicker).
 * `initial`: data already at hand, shown without loading it again.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], initial?: T): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: initial,
    error: undefined,
    loading: initial === undefined,
  });
  const [generation, setGeneration] = useState(0);
  const loadedGeneration = useRef(generation);
  const given = useRef(initial !== undefined);
  useEffect(() => {
    if (given.current) {
      given.current = false;
      return;
    }
    let current = true;
    const reloading = loadedGeneration.current !== generation;
    loadedGeneration.current = generation;
    setState((s) => ({ data: reloading ? s.data : undefined, error: undefined, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error) => current && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** A user action (form, button): `busy` while it runs; its error is shown until the next action starts. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}

/** The loading and error states of a list, or `render(items)` once it is loaded (empty or not). */
export function ListState<T>({ list, what, render }: {
  list: Loaded<readonly T[]>;
  what: string;
  render: (items: readonly T[]) => ComponentChildren;
}) {
  if (list.error !== undefined) return html`<${ErrorAlert} error=${list.error} />`;
  if (list.data === undefined) return html`<${Status}>Loading ${what}…<//>`;
  return render(list.data);
}

/**
 * A table with a caption and column headers (`''`: the actions column, named for screen readers only); with no
 * rows, one row says `empty`, so the table is there as soon as the list is loaded.
 */
export function Table({ caption, head, empty, rows, className }: {
  caption: ComponentChildren;
  head: readonly string[];
  empty: string;
  rows: readonly ComponentChildren[];
  className?: string;
}) {
  return html`
    <table class=${className}>
      <caption>${caption}</caption>
      <thead><tr>${head.map((h) => html`<th scope="col">${h === '' ? html`<span class="sr-only">Actions</span>` : h}</th>`)}</tr></thead>
      <tbody>${rows.length === 0 ? html`<tr><td class="empty" colspan=${head.length}>${empty}</td></tr>` : rows}</tbody>
    </table>`;
}

/** The value of the input an event came from. */
export function valueOf(e: Event): string {
  return (e.currentTarget as HTMLInputElement).value;
}

/** `2025-01-01T12:00:00.123Z` → `2025-01-01 12:00:00 UTC`: sortable and unambiguous. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

/** A typed date-time (RFC 3339, or what the browser's Date reads) as RFC 3339 UTC; '' stays ''. Throws on nonsense. */
export function parseTime(label: string, text: string): string {
  const t = text.trim();
  if (t === '') return '';
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`${label}: '${t}' is not a date and time (e.g. 2030-01-01T00:00:00Z)`);
  return new Date(ms).toISOString();
}
