// ARIA tabs (tablist, tab, tabpanel) with arrow-key, Home and End navigation.
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';

export interface TabSpec {
  readonly id: string;
  readonly label: string;
  readonly content: ComponentChildren;
}

export function Tabs({ label, tabs }: { label: string; tabs: readonly TabSpec[] }) {
  const [selected, setSelected] = useState(0);
  const list = useRef<HTMLDivElement>(null);
  const select = (i: number) => {
    const n = (i + tabs.length) % tabs.length;
    setSelected(n);
    (list.current?.children[n] as HTMLElement | undefined)?.focus();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: selected + 1, ArrowLeft: selected - 1, Home: 0, End: tabs.length - 1 };
    if (!(e.key in moves)) return;
    e.preventDefault();
    select(moves[e.key]!);
  };
  return html`
    <div role="tablist" aria-label=${label} ref=${list} onKeyDown=${onKeyDown}>
      ${tabs.map(
        (t, i) => html`<button type="button" role="tab" id=${`tab-${t.id}`} aria-controls=${`panel-${t.id}`}
          aria-selected=${i === selected ? 'true' : 'false'} tabindex=${i === selected ? 0 : -1} onClick=${() => select(i)}>${t.label}</button>`,
      )}
    </div>
    ${tabs.map(
      (t, i) => html`<div role="tabpanel" id=${`panel-${t.id}`} aria-labelledby=${`tab-${t.id}`} tabindex="0" hidden=${i !== selected}>${t.content}</div>`,
    )}
  `;
}
