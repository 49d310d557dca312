// Export/import records (SPEC §9) on each transport: NDJSON bytes for REST, one message per record for gRPC.
import { PermioError } from './errors.js';
import { encodeNdjson, ndjsonLines } from './ndjson.js';
import type { Message } from './transport.js';

/** The fields of each record type, in the order the export writes them (SPEC §9); `?` marks fields present only when set. */
export const RECORD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  header: ['type', 'format', 'project_name', 'revision', 'exported_at'],
  permission: ['type', 'name', 'description'],
  role: ['type', 'name', 'description', 'permissions'],
  grant: ['type', 'user_id', 'resource_uri', 'permissions', 'roles', 'starts_at?', 'expires_at?'],
};

/** A gRPC export message (every field of the flat record message decoded) → the §9 record of its type. */
export function exportRecord(message: Message): Message {
  const fields = RECORD_FIELDS[message.type as string];
  if (fields === undefined) return message;
  const record: Message = {};
  for (const field of fields) {
    const optional = field.endsWith('?');
    const name = optional ? field.slice(0, -1) : field;
    if (!optional || (message[name] !== undefined && message[name] !== '')) record[name] = message[name];
  }
  return record;
}

type Source = Iterable<unknown> | AsyncIterable<unknown>;
type Chunk = string | Uint8Array;

const isChunk = (item: unknown): item is Chunk => typeof item === 'string' || item instanceof Uint8Array;

/** Splits a source into its first item and an iterable of all items, so its kind (records or raw chunks) can be told. */
async function peek(source: Source): Promise<{ first: unknown; all: AsyncIterable<unknown> }> {
  const iterator = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()) as AsyncIterator<unknown>;
  const head = await iterator.next();
  const all = {
    async *[Symbol.asyncIterator]() {
      if (head.done) return;
      yield head.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    },
  };
  return { first: head.done ? undefined : head.value, all };
}

/** The import body for REST: raw chunks pass through untouched (the server numbers the file's own lines), records become lines. */
export async function* ndjsonBytes(source: Source): AsyncGenerator<Uint8Array> {
  const { first, all } = await peek(source);
  if (!isChunk(first)) return yield* encodeNdjson(all);
  const encoder = new TextEncoder();
  for await (const chunk of all as AsyncIterable<Chunk>) yield typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
}

/** One record with the physical line it had (1-based): raw text is split into lines here; records count one line each. */
export interface NumberedRecord {
  readonly record: Message;
  readonly line: number;
}

/** The import body for gRPC: records with line numbers; a raw line that is not JSON → 400 naming it, as the server would. */
export async function* numberedRecords(source: Source): AsyncGenerator<NumberedRecord> {
  const { first, all } = await peek(source);
  let line = 0;
  if (!isChunk(first)) {
    for await (const record of all) yield { record: record as Message, line: ++line };
    return;
  }
  for await (const text of ndjsonLines(all as AsyncIterable<Chunk>)) {
    line++;
    if (text.trim() === '') continue;
    let record: Message;
    try {
      record = JSON.parse(text);
    } catch {
      throw new PermioError(400, `Invalid import: line ${line} is not valid JSON`, [{ line, reason: 'not valid JSON' }]);
    }
    yield { record, line };
  }
}
