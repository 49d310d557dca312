// Autocannon in its own process (forked by writes/scaling benches), so two loads can run at once without sharing
// one event loop. The parent sends the autocannon options; this process answers with the summary it needs.
import { fork } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { DIST } from './processes.js';

/** What the parent gets back from one autocannon run. */
export interface AutocannonSummary {
  requestsPerSec: number;
  total: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU cores the load process kept busy (its own CPU time over the run's wall time). */
  loadCores: number;
}

/** Runs autocannon with `options` in a forked process; resolves with its summary. */
export function autocannonInChild(options: autocannon.Options): Promise<AutocannonSummary> {
  const child = fork(path.join(DIST, 'bench/autocannon-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as AutocannonSummary));
    child.once('exit', (code) => code !== 0 && reject(new Error(`autocannon-load exited (${code})`)));
    child.send(options);
  });
}

if (process.send !== undefined && process.argv[1] === path.join(DIST, 'bench/autocannon-load.js')) {
  process.once('message', async (options: autocannon.Options) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const r = await autocannon(options);
    const used = process.cpuUsage(cpu);
    const summary: AutocannonSummary = {
      requestsPerSec: r.requests.average,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      loadCores: (used.user + used.system) / 1000 / (performance.now() - started),
    };
    process.send!(summary, () => process.exit(0));
  });
}
