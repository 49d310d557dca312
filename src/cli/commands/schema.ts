// `permio permissions …` and `permio roles …`: the permissions and roles of the --project project.
import type { Command } from 'commander';
import type { Permio } from '../../client/permio.js';
import type { Permission, Role } from '../../client/wire.js';
import { collect, mergedPages, type CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';

type Run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void>) => void;

const printPermissions = (list: readonly Permission[]) =>
  printTable(['ID', 'NAME', 'DESCRIPTION'], list.map((p) => [p.id, p.name, p.description]));
const printRoles = (list: readonly Role[]) =>
  printTable(['ID', 'NAME', 'PERMISSIONS', 'DESCRIPTION'], list.map((r) => [r.id, r.name, r.permissions.map((p) => p.name), r.description]));

/** Role permissions are ids on the wire; the CLI also takes names, looked up in the project (unknown ones pass through for the server to name). */
async function permissionIds(permio: Permio, given: readonly string[]): Promise<string[]> {
  const byName = new Map<string, string>();
  const ids = new Set<string>();
  for await (const p of permio.permissions.list()) {
    byName.set(p.name, p.id);
    ids.add(p.id);
  }
  return given.map((g) => (ids.has(g) ? g : (byName.get(g) ?? g)));
}

export function registerSchemaCommands(program: Command, run: Run): void {
  const permissions = program.command('permissions').description('permissions of the project');
  run(
    permissions.command('create').description('create a permission').argument('<name>').option('--description <text>', 'what it allows'),
    async (ctx, name: string, opts: { description?: string }) => {
      const answer = await ctx.client().permissions.create({ name, ...(opts.description === undefined ? {} : { description: opts.description }) });
      ctx.json ? printJson(answer) : printPermissions([answer]);
    },
  );
  run(permissions.command('list').description('list the permissions'), async (ctx) => {
    const answer = await mergedPages(ctx.client().permissions.list(), 'permissions');
    ctx.json ? printJson(answer) : printPermissions(answer.permissions);
  });
  run(permissions.command('get').description('show one permission').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().permissions.get({ permission_id: id });
    ctx.json ? printJson(answer) : printPermissions([answer]);
  });
  run(permissions.command('delete').description('delete a permission (also from every role and grant)').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().permissions.delete({ permission_id: id });
    ctx.json ? printJson(answer) : printLine(`deleted ${id}`);
  });

  const roles = program.command('roles').description('roles of the project');
  run(
    roles
      .command('create')
      .description('create a role')
      .argument('<name>')
      .requiredOption('--permission <p>', 'a permission id or name (repeat for each)', collect)
      .option('--description <text>', 'what the role is for'),
    async (ctx, name: string, opts: { permission: string[]; description?: string }) => {
      const permio = ctx.client();
      const answer = await permio.roles.create({
        name,
        permissions: await permissionIds(permio, opts.permission),
        ...(opts.description === undefined ? {} : { description: opts.description }),
      });
      ctx.json ? printJson(answer) : printRoles([answer]);
    },
  );
  run(roles.command('list').description('list the roles'), async (ctx) => {
    const answer = await mergedPages(ctx.client().roles.list(), 'roles');
    ctx.json ? printJson(answer) : printRoles(answer.roles);
  });
  run(roles.command('get').description('show one role').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().roles.get({ role_id: id });
    ctx.json ? printJson(answer) : printRoles([answer]);
  });
  run(roles.command('delete').description('delete a role and its grants').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().roles.delete({ role_id: id });
    ctx.json ? printJson(answer) : printLine(`deleted ${id}`);
  });
}
