// Top self-time functions of V8 .cpuprofile files (from `npm run bench -- --server-cpu-prof`, one file per thread):
//   node dist/bench/cpu-profile.js bench-profiles/*.cpuprofile [--top=15]
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name, file, line), in ms, largest first, and the profile's total. */
export function selfTimes(profile: Profile): { total: number; rows: [string, number][] } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byNode.get(profile.samples[i]!)!.callFrame;
    const where = frame.url ? ` ${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    ms.set(key, (ms.get(key) ?? 0) + dt);
    total += dt;
  }
  return { total, rows: [...ms].sort((a, b) => b[1] - a[1]) };
}

function main(argv: readonly string[]): void {
  const top = Number(argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 15);
  for (const file of argv.filter((a) => !a.startsWith('--'))) {
    const { total, rows } = selfTimes(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
    const busy = rows.filter(([k]) => k !== '(idle)' && k !== '(program)').reduce((s, [, v]) => s + v, 0);
    console.log(`\n### ${path.basename(file)}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s not idle\n`);
    console.log('| self ms | % of sampled | function |\n|---:|---:|---|');
    for (const [name, v] of rows.slice(0, top)) console.log(`| ${v.toFixed(0)} | ${((v / total) * 100).toFixed(1)} | ${name.replace(/\|/g, '\\|')} |`);
  }
}

if (process.argv[1]?.endsWith('cpu-profile.js')) main(process.argv.slice(2));
