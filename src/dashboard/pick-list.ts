// A fieldset of checkboxes to pick permissions or roles by name (used by the role and grant forms).
import { html } from 'htm/preact';
import type { Loaded } from './ui.js';
import { ErrorAlert, Status } from './ui.js';

export function PickList({ legend, items, picked, onChange, empty }: {
  legend: string;
  items: Loaded<readonly { id: string; name: string }[]>;
  /** Picked ids. */
  picked: ReadonlySet<string>;
  onChange: (picked: ReadonlySet<string>) => void;
  empty: string;
}) {
  const toggle = (id: string, on: boolean) => {
    const next = new Set(picked);
    if (on) next.add(id);
    else next.delete(id);
    onChange(next);
  };
  let body;
  if (items.error !== undefined) body = html`<${ErrorAlert} error=${items.error} />`;
  else if (items.data === undefined) body = html`<${Status}>Loading ${legend.toLowerCase()}…<//>`;
  else if (items.data.length === 0) body = html`<p class="empty">${empty}</p>`;
  else {
    body = items.data.map(
      (item) => html`<label class="check" key=${item.id}>
        <input type="checkbox" checked=${picked.has(item.id)} onChange=${(e: Event) => toggle(item.id, (e.currentTarget as HTMLInputElement).checked)} />
        ${item.name}</label>`,
    );
  }
  return html`<fieldset class="picks"><legend>${legend}</legend>${body}</fieldset>`;
}
