// README.md's `sh` blocks, run top to bottom in one bash (real curl and jq) against a fresh server started as
// `npm start` would be (no PERMIO_ADMIN_KEY: data/admin.key is created), so the README cannot drift from the product.
// A `# → <json>` line under a command is its expected output. Illustrative blocks use another info string (`console`).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './helpers/server.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');
const RUNNABLE = 'sh';
/** Ends every command's output: a byte no answer contains, then the command's exit code. */
const END = '\x1e';

export interface Step {
  /** The command, continuation lines joined. */
  command: string;
  /** The README line it starts on. */
  line: number;
  /** From a `# → …` line right under it. */
  expected?: string;
}

/** The commands of every block fenced as ```sh, in order. */
export function shellSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  const lines = markdown.split('\n');
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence) {
      inBlock = !inBlock && fence[1] === RUNNABLE ? true : false;
      continue;
    }
    if (!inBlock || line.trim() === '') continue;
    const expected = /^# → (.*)$/.exec(line);
    if (expected) {
      const last = steps[steps.length - 1];
      if (last === undefined) throw new Error(`README.md:${i + 1}: an expected output before any command`);
      last.expected = expected[1];
      continue;
    }
    if (line.startsWith('#')) continue;
    let command = line;
    const start = i + 1;
    while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1)}\n${lines[++i]}`;
    steps.push({ command, line: start });
  }
  return steps;
}

/** One bash process; `run` sends a command and resolves to its output and exit code. */
class Shell {
  private out = '';
  private err = '';
  private waiting: (() => void) | undefined;

  constructor(private readonly bash: ChildProcessWithoutNullStreams) {
    bash.stdout.on('data', (d) => {
      this.out += d;
      this.waiting?.();
    });
    bash.stderr.on('data', (d) => (this.err += d));
    // a 4xx/5xx answer makes curl fail (its body still shown); a failing stage fails the whole pipeline
    bash.stdin.write(`set -o pipefail\ncurl() { command curl --fail-with-body "$@"; }\n`);
  }

  async run(command: string): Promise<{ output: string; code: number; stderr: string }> {
    this.out = '';
    this.err = '';
    this.bash.stdin.write(`${command}\nprintf '\\n${END}%d\\n' "$?"\n`);
    const marker = new RegExp(`\\n${END}(\\d+)\\n$`);
    for (;;) {
      const m = marker.exec(this.out);
      if (m) return { output: this.out.slice(0, m.index), code: Number(m[1]), stderr: this.err };
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  close(): void {
    this.bash.stdin.end();
  }
}

const steps = shellSteps(fs.readFileSync(README, 'utf8'));
let dir: string;
let server: RunningServer;
let shell: Shell;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-readme-'));
  server = await startServer({ dataDir: path.join(dir, 'data'), env: { PERMIO_ADMIN_KEY: undefined as unknown as string } });
  const bash = spawn('bash', ['--noprofile', '--norc'], { cwd: dir, env: { PATH: process.env.PATH, PERMIO_URL: server.httpUrl } });
  shell = new Shell(bash);
});

afterAll(async () => {
  shell?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('README.md', () => {
  it('has sh blocks to run, and expected outputs to compare', () => {
    expect(steps.length).toBeGreaterThan(20);
    expect(steps.some((s) => s.expected !== undefined)).toBe(true);
  });

  it('runs top to bottom on a fresh server: every command succeeds, every `# →` output matches', async () => {
    for (const step of steps) {
      const { output, code, stderr } = await shell.run(step.command);
      const m = `README.md:${step.line}: ${step.command}\noutput: ${output}\nstderr: ${stderr}`;
      expect(code, m).toBe(0);
      if (step.expected !== undefined) expect(JSON.parse(output), m).toEqual(JSON.parse(step.expected));
    }
  });
});
