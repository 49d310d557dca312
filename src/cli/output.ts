// What commands print: the API's JSON (`--json`, one document or NDJSON) or plain aligned tables for people.

/** One JSON document on stdout, exactly as the API sent it (compact, one line). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const cell = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

/** An aligned table: a header row, then one row per item (columns separated by two spaces). */
export function printTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const text = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...text.map((r) => (r[i] as string).length)));
  const lines = text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c as string).padEnd(widths[i]!))).join('  ').trimEnd());
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A line of text on stdout. */
export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}
