// NDJSON both ways: text or byte chunks → physical lines or parsed records, and records → encoded chunks.

/** Every physical line of a stream of chunks, without its `\n` (a last line without one included when not empty). */
export async function* ndjsonLines(chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      yield pending.slice(start, nl);
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}

/** Parses newline-delimited JSON; blank lines are skipped. */
export async function* parseNdjson(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  for await (const line of ndjsonLines(chunks)) if (line.trim() !== '') yield JSON.parse(line);
}

const LINES_PER_CHUNK = 256; // one chunk per batch of lines: fewer, larger writes through fetch's body stream

/** Encodes records as NDJSON byte chunks, a batch of lines per chunk. */
export async function* encodeNdjson(records: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let batch = '';
  let lines = 0;
  for await (const record of records) {
    batch += `${JSON.stringify(record)}\n`;
    if (++lines === LINES_PER_CHUNK) {
      yield encoder.encode(batch);
      batch = '';
      lines = 0;
    }
  }
  if (batch !== '') yield encoder.encode(batch);
}
