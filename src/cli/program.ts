// The `permio` command tree (SPEC §10): global flags, every command, and usage errors that exit 2.
import { Command, CommanderError } from 'commander';
import { contextOf, type CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { registerAccessCommands } from './commands/access.js';
import { registerOrganisationCommands } from './commands/organisations.js';
import { registerSchemaCommands } from './commands/schema.js';
import { registerServerCommands } from './commands/server.js';
import { registerStreamCommands } from './commands/streams.js';
import { DEFAULT_URL, type CliSettings } from './settings.js';

/** Builds the program; a command's handler resolves to its exit code (void = 0) or throws. */
export function buildProgram(settings: CliSettings, onExit: (code: number) => void): Command {
  const program = new Command('permio')
    .description('Permio: the authorization server and its command-line client')
    .option('--url <url>', `REST URL (env PERMIO_URL, default ${DEFAULT_URL})`)
    .option('--grpc <addr>', 'talk gRPC to host:port instead of REST')
    .option('--key <key>', 'API key (env PERMIO_API_KEY, default: the contents of ./data/admin.key when present)')
    .option('--org <id>', 'organisation id (default: the key\'s own organisation)')
    .option('--project <name>', 'project name', 'default')
    .option('--json', "print the API's JSON (NDJSON for streams) instead of tables")
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void | number>) => {
    command.action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const ctx = contextOf(cmd, settings);
      try {
        onExit((await handler(ctx, ...args.slice(0, -1))) ?? EXIT.ok);
      } finally {
        ctx.close();
      }
    });
  };
  registerServerCommands(program, run, settings);
  registerOrganisationCommands(program, run);
  registerSchemaCommands(program, run);
  registerAccessCommands(program, run);
  registerStreamCommands(program, run);
  return program;
}

/** Commander's own exits: help and version are successes, everything else is a usage error. */
export function commanderExitCode(err: CommanderError): number {
  return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
