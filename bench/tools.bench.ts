// Export and import at scale (SPEC §9): a streamed REST import of N grants into an empty project — durable grants/s
// and the server's peak RSS — then the export of that project: records/s and how far RSS grows while it streams.
import { residentBytes, startPermio } from './processes.js';
import { bytes, int, markdownTable, ms } from './table.js';

export interface ToolsRow {
  step: string;
  records: number;
  seconds: number;
  /** Peak RSS of the server during the step, and the growth of its anonymous part (heaps: not LMDB's mapped file). */
  peakRss: number;
  anonGrowth: number;
}

const LINES_PER_CHUNK = 2000;
const RSS_SAMPLE_MS = 50;

/** The import body, generated a chunk at a time (the client never holds the file either). */
async function* importBody(grants: number): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode('{"type":"permission","name":"doc.read"}\n{"type":"permission","name":"doc.write"}\n{"type":"role","name":"Editor","permissions":["doc.read","doc.write"]}\n');
  for (let i = 0; i < grants; i += LINES_PER_CHUNK) {
    let text = '';
    for (let j = i; j < Math.min(grants, i + LINES_PER_CHUNK); j++) {
      const roles = j % 4 === 0 ? '["Editor"]' : '[]';
      // shaped like an export: sorted by principal (50 grants each), then URI
      const user = String(Math.floor(j / 50)).padStart(7, '0');
      text += `{"type":"grant","user_id":"user-${user}","resource_uri":"/tenants/${user.slice(0, 3)}/docs/${String(j).padStart(8, '0')}","permissions":["doc.read"],"roles":${roles}}\n`;
    }
    yield encoder.encode(text);
  }
}

/** Samples the server's RSS until `stop` is called; returns the peak. */
function rssPeak(pid: number): () => { rss: number; anon: number } {
  const peak = residentBytes(pid);
  const sample = () => {
    const now = residentBytes(pid);
    peak.rss = Math.max(peak.rss, now.rss);
    peak.anon = Math.max(peak.anon, now.anon);
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

export async function runToolsBench(opts: { grants: number; workers: number }): Promise<ToolsRow[]> {
  const server = await startPermio(opts.workers, { env: { PERMIO_CALL_LOG: '0' } });
  const url = `http://127.0.0.1:${server.ports.http_port}`;
  const headers = { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' };
  const pid = server.child.pid!;
  server.child.stdout!.on('data', (d: Buffer) => {
    for (const line of String(d).split('\n')) if (line.includes('"level":"error"')) console.error(`server: ${line.slice(0, 2000)}`);
  });
  const rows: ToolsRow[] = [];
  try {
    const created = await (await fetch(`${url}/v1/organisations`, { method: 'POST', headers, body: JSON.stringify({ name: 'Bench', user_id: 'u' }) })).json();
    const org = created.organisation.id as string;

    let before = residentBytes(pid).anon;
    let stop = rssPeak(pid);
    let t0 = performance.now();
    const res = await fetch(`${url}/v1/organisations/${org}/projects/default:import`, {
      method: 'POST',
      headers: { authorization: headers.authorization, 'content-type': 'application/x-ndjson' },
      body: importBody(opts.grants),
      duplex: 'half',
    } as unknown as RequestInit);
    const answer = await res.text();
    if (res.status !== 200) throw new Error(`import: ${res.status} ${answer}`);
    let seconds = (performance.now() - t0) / 1000;
    let peak = stop();
    rows.push({ step: 'import (REST, streamed, until durable)', records: opts.grants, seconds, peakRss: peak.rss, anonGrowth: peak.anon - before });

    await new Promise((r) => setTimeout(r, 1000)); // let the check worker take the import's change before measuring again
    before = residentBytes(pid).anon;
    stop = rssPeak(pid);
    t0 = performance.now();
    const exp = await fetch(`${url}/v1/organisations/${org}/projects/default:export`, { headers });
    let lines = 0;
    for await (const chunk of exp.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
    seconds = (performance.now() - t0) / 1000;
    peak = stop();
    rows.push({ step: 'export (REST NDJSON, read to the end)', records: lines - 1, seconds, peakRss: peak.rss, anonGrowth: peak.anon - before });
  } finally {
    await server.stop();
  }
  return rows;
}

export function formatToolsRows(rows: readonly ToolsRow[]): string {
  return markdownTable(
    ['step', 'records', 'seconds', 'records/s', 'server peak RSS', 'peak growth of anonymous RSS (heaps)'],
    'lrrrrr',
    rows.map((r) => [r.step, int(r.records), ms(r.seconds), int(r.records / r.seconds), bytes(r.peakRss), bytes(r.anonGrowth)]),
  );
}
