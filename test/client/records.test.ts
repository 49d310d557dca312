// Import sources: records or raw NDJSON chunks, numbered by physical line as the server numbers them (SPEC §9).
import { describe, expect, it } from 'vitest';
import { exportRecord, ndjsonBytes, numberedRecords } from '../../src/client/records.js';
import { PermioError } from '../../src/client/errors.js';

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

describe('import sources', () => {
  it('raw chunks split into lines anywhere keep their physical line numbers; blank lines count but send nothing', async () => {
    const text = '{"type":"permission","name":"a"}\n\n{"type":"perm';
    const chunks = [Buffer.from(text), 'ission","name":"b"}\r\n', '  \n{"type":"permission","name":"c"}'];
    expect(await all(numberedRecords(chunks))).toEqual([
      { line: 1, record: { type: 'permission', name: 'a' } },
      { line: 3, record: { type: 'permission', name: 'b' } },
      { line: 5, record: { type: 'permission', name: 'c' } },
    ]);
  });

  it('a raw line that is not JSON is a 400 naming it', async () => {
    const err = await all(numberedRecords(['{"type":"header"}\n', '{nope}\n'])).catch((e) => e);
    expect(err).toBeInstanceOf(PermioError);
    expect([err.status, err.details]).toEqual([400, [{ line: 2, reason: 'not valid JSON' }]]);
  });

  it('records count one line each; REST sends them as NDJSON and raw chunks untouched', async () => {
    const records = [{ type: 'permission', name: 'a' }, { type: 'role', name: 'r', permissions: ['a'] }];
    expect((await all(numberedRecords(records))).map((r) => r.line)).toEqual([1, 2]);
    const bytes = Buffer.concat(await all(ndjsonBytes(records))).toString();
    expect(bytes).toBe('{"type":"permission","name":"a"}\n{"type":"role","name":"r","permissions":["a"]}\n');
    expect(Buffer.concat(await all(ndjsonBytes(['raw\n', Buffer.from('bytes')]))).toString()).toBe('raw\nbytes');
    expect(await all(ndjsonBytes([]))).toEqual([]);
  });

  it('a flat gRPC export message becomes the record of its type', () => {
    const message = { type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], roles: [], name: '', description: '', format: '', starts_at: '', expires_at: '2030-01-01T00:00:00Z' };
    expect(exportRecord(message)).toEqual({ type: 'grant', user_id: 'u', resource_uri: '/a', permissions: ['p'], roles: [], expires_at: '2030-01-01T00:00:00Z' });
    expect(exportRecord({ type: 'permission', name: 'p', description: '', permissions: [], roles: [] })).toEqual({ type: 'permission', name: 'p', description: '' });
  });
});
