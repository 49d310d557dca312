// Same-run A/B of the REST check: this build against another one (`--against=DIR`, the `dist` folder of another
// checkout), both servers up at once and measured in alternating rounds, so machine noise hits both alike.
import { checkBody, load, type LoadOptions } from './http.bench.js';
import { startPermio } from './processes.js';
import { seedDataset } from './seed.js';
import { int, markdownTable } from './table.js';

export interface AbOptions extends LoadOptions {
  /** The other build's `dist` directory (e.g. `/tmp/base/dist` after `npx tsc` in a checkout of main). */
  against: string;
  /** Alternating rounds per scenario (each measures both builds once). */
  rounds: number;
}

export interface AbRow {
  scenario: string;
  /** Mean req/s of each build over the rounds. */
  baseRps: number;
  thisRps: number;
}

/** Cache off first: what a check never asked before costs (the worker hop); then the same loads answered from the cache. */
const SCENARIOS = [
  ['REST check 1×1, answer cache off', 1, 1, '0'],
  ['REST check 10×10, answer cache off', 10, 10, '0'],
  ['REST check 1×1, repeated (cached)', 1, 1, undefined],
  ['REST check 10×10, repeated (cached)', 10, 10, undefined],
] as const;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runAbBench(o: AbOptions): Promise<AbRow[]> {
  const rows: AbRow[] = [];
  for (const cacheMb of ['0', undefined]) {
    const env: Record<string, string> = cacheMb === undefined ? {} : { PERMIO_CHECK_CACHE_MB: cacheMb };
    const base = await startPermio(o.workers, { env, dist: o.against });
    const mine = await startPermio(o.workers, { env });
    try {
      const servers = await Promise.all(
        [base, mine].map(async (p) => {
          const url = `http://127.0.0.1:${p.ports.http_port}`;
          const ds = await seedDataset(url, p.adminKey);
          return { url: `${url}/v1/check`, ds, auth: { authorization: `Bearer ${ds.key}` } };
        }),
      );
      for (const [scenario, uris, perms, mb] of SCENARIOS) {
        if (mb !== cacheMb) continue;
        const rps: [number[], number[]] = [[], []];
        for (let round = 0; round < o.rounds; round++) {
          // alternate which build goes first, so neither always runs on a warmer (or noisier) machine
          const order = round % 2 === 0 ? [0, 1] : [1, 0];
          for (const i of order) {
            const s = servers[i]!;
            rps[i]!.push((await load(s.url, checkBody(s.ds, uris, perms), s.auth, o)).rps);
          }
        }
        rows.push({ scenario, baseRps: mean(rps[0]), thisRps: mean(rps[1]) });
      }
    } finally {
      await Promise.all([base.stop(), mine.stop()]);
    }
  }
  return rows;
}

export function formatAbRows(rows: readonly AbRow[]): string {
  return markdownTable(
    ['scenario', 'other build req/s', 'this build req/s', 'this / other'],
    'lrrr',
    rows.map((r) => [r.scenario, int(r.baseRps), int(r.thisRps), (r.thisRps / r.baseRps).toFixed(3)]),
  );
}
