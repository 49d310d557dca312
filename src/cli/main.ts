#!/usr/bin/env node
// The `permio` executable: runs one command and exits 0 ok, 1 check denied, 2 usage, 3 API error, 4 unreachable (SPEC §10).
import { CommanderError } from 'commander';
import { PermioError } from '../client/errors.js';
import { exitCodeOf } from './exit-codes.js';
import { buildProgram, commanderExitCode } from './program.js';
import { loadSettings } from './settings.js';

/** Sets the exit code and lets pending output drain (process.exit could cut stdout short when piped). */
function exit(code: number): void {
  process.exitCode = code;
}

async function main(): Promise<void> {
  const settings = loadSettings();
  const program = buildProgram(settings, exit);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) return exit(commanderExitCode(err)); // commander printed the message
    const json = program.opts().json === true;
    if (err instanceof PermioError) {
      const body = { error: { code: err.status, message: err.message, ...(err.details.length ? { details: err.details } : {}) } };
      process.stderr.write(json ? `${JSON.stringify(body)}\n` : `permio: ${err.message}${err.details.length ? ` ${JSON.stringify(err.details)}` : ''}\n`);
    } else {
      process.stderr.write(`permio: ${(err as Error).message ?? String(err)}\n`);
    }
    exit(exitCodeOf(err));
  }
}

void main();
