// Markdown tables and number formats shared by the bench sections.

/** `| a | b |` rows under a header; `align` is 'l' or 'r' per column. */
export function markdownTable(header: readonly string[], align: string, rows: readonly (readonly string[])[]): string {
  const rule = [...align].map((a) => (a === 'r' ? '---:' : '---'));
  return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** 12,345 */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 0.42 (two decimals below 10, else integer). */
export const ms = (n: number): string => (n < 10 ? n.toFixed(2) : Math.round(n).toString());

/** 73 % */
export const pct = (ratio: number): string => `${(ratio * 100).toFixed(0)} %`;

/** 1.2 GB / 345 MB / 12 kB */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(0)} kB`;
}
