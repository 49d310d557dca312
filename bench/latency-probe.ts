// A probe preloaded into the server under test with `--require` (which, unlike `--import`, also runs in every worker
// thread): per thread, the event-loop delay's max per 100 ms window (perf_hooks.monitorEventLoopDelay) and every GC
// pause (a PerformanceObserver on 'gc'), on the wall clock so they line up with the load's timeline. Each thread
// rewrites its own JSON file in $PERMIO_PROBE_DIR once a second. CommonJS source written to a file at run time (the
// project compiles to ES modules, which `--require` cannot load).
import fs from 'node:fs';
import path from 'node:path';

const SOURCE = `'use strict';
const fs = require('node:fs'), path = require('node:path');
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const wt = require('node:worker_threads');
const dir = process.env.PERMIO_PROBE_DIR;
if (dir) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const windows = []; // [window start (epoch ms), max delay ms]
  const gcs = []; // [start (epoch ms), duration ms, kind]
  // the writer thread is started with its options, a check worker with { dataDir } only
  const thread = wt.isMainThread ? 'main' : (Object.keys(wt.workerData || {}).length > 1 ? 'writer' : 'check worker') + ' ' + wt.threadId;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration, e.detail ? e.detail.kind : 0]);
  }).observe({ entryTypes: ['gc'] });
  const file = path.join(dir, process.pid + '-' + wt.threadId + '.json');
  let last = Date.now();
  setInterval(() => {
    const t = Date.now();
    windows.push([last, histogram.max / 1e6]);
    histogram.reset();
    last = t;
    if (windows.length % 10 === 0) fs.writeFileSync(file, JSON.stringify({ thread, windows, gcs }));
  }, 100).unref();
  // PERMIO_PROBE_HEAP=1: the main thread samples its allocations (garbage included) from when a file named
  // heap-start appears in the directory until heap-stop does
  if (process.env.PERMIO_PROBE_HEAP && wt.isMainThread) {
    const session = new (require('node:inspector').Session)();
    session.connect();
    let state = 0;
    setInterval(() => {
      if (state === 0 && fs.existsSync(path.join(dir, 'heap-start'))) {
        state = 1;
        session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
      } else if (state === 1 && fs.existsSync(path.join(dir, 'heap-stop'))) {
        state = 2;
        session.post('HeapProfiler.stopSampling', (err, r) => {
          fs.writeFileSync(path.join(dir, 'heap-' + process.pid + '.heapprofile'), JSON.stringify(err ? { error: String(err) } : r.profile));
        });
      }
    }, 100).unref();
  }
}
`;

/** One thread's record. */
export interface ThreadProbe {
  thread: string;
  /** [window start (epoch ms), max event-loop delay in ms] per 100 ms. */
  windows: [number, number][];
  /** [start (epoch ms), duration ms, kind (perf_hooks.constants.NODE_PERFORMANCE_GC_*)] per GC. */
  gcs: [number, number, number][];
}

/** Writes the probe into `dir` and returns the node flag that preloads it. */
export function probeArgs(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'probe.cjs');
  fs.writeFileSync(file, SOURCE);
  return ['--require', file];
}

/** Every thread's record of process `pid`. */
export function readProbes(dir: string, pid: number): ThreadProbe[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${pid}-`) && f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ThreadProbe);
}
