// `permio watch`, `permio export`, `permio import`: the project's change stream and its NDJSON snapshot, both ways.
import fs from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { Writable } from 'node:stream';
import type { CliContext } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { printJson, printTable } from '../output.js';
import { progress } from '../progress.js';

type Run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void | number>) => void;

/** Records between two progress updates of an export. */
const PROGRESS_EVERY = 1000;

/** Writes `text`, waiting for the stream to drain when its buffer is full (an export never piles up in memory). */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export function registerStreamCommands(program: Command, run: Run): void {
  run(
    program
      .command('watch')
      .description("stream the project's changes as NDJSON, one message per line, until interrupted")
      .option('--after <revision>', 'replay every change after this revision first')
      .option('--user <id>', "only this principal's grant events")
      .option('--prefix <uri>', 'only grant events at or under this URI'),
    async (ctx, opts: { after?: string; user?: string; prefix?: string }) => {
      const request = {
        ...(opts.after === undefined ? {} : { after_revision: opts.after }),
        ...(opts.user === undefined ? {} : { user_id: opts.user }),
        ...(opts.prefix === undefined ? {} : { resource_prefix: opts.prefix }),
      };
      const stream = ctx.client().watch(request)[Symbol.asyncIterator]();
      const interrupted = new Promise<void>((resolve) => process.once('SIGINT', resolve));
      for (;;) {
        const next = await Promise.race([stream.next(), interrupted.then(() => undefined)]);
        if (next === undefined || next.done) break;
        await write(process.stdout, `${JSON.stringify(next.value)}\n`);
      }
      await stream.return?.(undefined);
    },
  );

  run(
    program.command('export').description('write one consistent snapshot of the project as NDJSON').option('--out <file>', 'write to this file instead of stdout'),
    async (ctx, opts: { out?: string }) => {
      const out = opts.out === undefined ? process.stdout : fs.createWriteStream(opts.out);
      const bar = progress('export', 'records');
      let records = 0;
      try {
        for await (const record of ctx.client().projects.export()) {
          await write(out, `${JSON.stringify(record)}\n`);
          if (++records % PROGRESS_EVERY === 0) bar.update(records);
        }
        bar.update(records);
      } finally {
        bar.stop();
        if (out !== process.stdout) await new Promise((resolve) => (out as fs.WriteStream).end(resolve));
      }
    },
  );

  run(
    program
      .command('import')
      .description('load an NDJSON export into the project, all or nothing (FILE may be - for stdin)')
      .argument('<file>')
      .option('--replace', 'make the project exactly the file (default: merge into it)'),
    async (ctx, file: string, opts: { replace?: boolean }) => {
      let size: number | undefined;
      if (file !== '-') {
        try {
          size = fs.statSync(file).size;
        } catch {
          throw new UsageError(`cannot read ${file}`);
        }
      }
      const input = file === '-' ? process.stdin : fs.createReadStream(file);
      const bar = progress('import', 'bytes', size);
      async function* counted() {
        let read = 0;
        for await (const chunk of input as AsyncIterable<Uint8Array>) {
          bar.update((read += chunk.length));
          yield chunk;
        }
      }
      try {
        const answer = await ctx.client().projects.import({ mode: opts.replace ? 'replace' : 'merge' }, counted());
        if (ctx.json) return printJson(answer);
        const counts = (answer as { imported: { permissions: number; roles: number; grants: number } }).imported;
        printTable(['PERMISSIONS', 'ROLES', 'GRANTS'], [[counts.permissions, counts.roles, counts.grants]]);
      } finally {
        bar.stop();
      }
    },
  );
}
