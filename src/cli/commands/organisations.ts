// `permio orgs …`, `permio projects …`, `permio keys …`: organisations, their projects and API keys.
import type { Command } from 'commander';
import type { ApiKey, Organisation, Project } from '../../client/wire.js';
import { mergedPages, type CliContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';

type Run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void>) => void;

const orgRows = (orgs: readonly Organisation[]) =>
  orgs.map((o) => [o.id, o.name, o.plan, o.users.map((u) => u.id), o.created_at]);
const printOrgs = (orgs: readonly Organisation[]) => printTable(['ID', 'NAME', 'PLAN', 'USERS', 'CREATED'], orgRows(orgs));
const printProjects = (projects: readonly Project[]) => printTable(['NAME', 'CREATED'], projects.map((p) => [p.name, p.created_at]));
const printKeys = (keys: readonly ApiKey[]) =>
  printTable(
    ['ID', 'NAME', 'PROJECT', 'INVALIDATED', 'CREATED'],
    keys.map((k) => [k.id, k.name, k.project_name, k.invalidated, k.created_at]),
  );

export function registerOrganisationCommands(program: Command, run: Run): void {
  const orgs = program.command('orgs').description('organisations (creating one needs the operator key)');
  run(
    orgs.command('create').description('create an organisation with its first user').argument('<name>').requiredOption('--user <id>', 'the first user'),
    async (ctx, name: string, opts: { user: string }) => {
      const answer = await ctx.client().organisations.create({ name, user_id: opts.user });
      ctx.json ? printJson(answer) : printOrgs([answer.organisation]);
    },
  );
  run(orgs.command('list').description('list the organisations the key may see'), async (ctx) => {
    const answer = await mergedPages(ctx.client().organisations.list(), 'organisations');
    ctx.json ? printJson(answer) : printOrgs(answer.organisations);
  });
  run(orgs.command('get').description('show one organisation').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().organisations.get({ organisation_id: id });
    ctx.json ? printJson(answer) : printOrgs([answer.organisation]);
  });

  const projects = program.command('projects').description('projects of the organisation (--org, or the key\'s own)');
  run(projects.command('create').description('create a project').argument('<name>'), async (ctx, name: string) => {
    const answer = await ctx.client().projects.create({ name });
    ctx.json ? printJson(answer) : printProjects([answer.project]);
  });
  run(projects.command('delete').description('delete a project and everything in it').argument('<name>'), async (ctx, name: string) => {
    const answer = await ctx.client().projects.delete({ project_name: name });
    ctx.json ? printJson(answer) : printLine(`deleted project ${name}`);
  });
  run(projects.command('list').description('list the projects'), async (ctx) => {
    const answer = await mergedPages(ctx.client().projects.list(), 'projects');
    ctx.json ? printJson(answer) : printProjects(answer.projects);
  });

  const keys = program.command('keys').description('API keys of the organisation');
  run(
    keys
      .command('create')
      .description('create an organisation key, or a key of --project with --project-key; the secret is shown once')
      .argument('<name>')
      .option('--project-key', 'a key of the --project project only'),
    async (ctx, name: string, opts: { projectKey?: boolean }) => {
      const project = opts.projectKey ? { project_name: ctx.options.project } : {};
      const answer = await ctx.client().apiKeys.create({ name, ...project });
      if (ctx.json) return printJson(answer);
      printKeys([answer.api_key]);
      printLine(`key: ${answer.api_key.key}`);
    },
  );
  run(keys.command('list').description('list the keys (without secrets)'), async (ctx) => {
    const answer = await mergedPages(ctx.client().apiKeys.list(), 'api_keys');
    ctx.json ? printJson(answer) : printKeys(answer.api_keys);
  });
  run(keys.command('invalidate').description('invalidate a key').argument('<id>'), async (ctx, id: string) => {
    const answer = await ctx.client().apiKeys.invalidate({ apikey_id: id });
    ctx.json ? printJson(answer) : printLine(`invalidated ${id}`);
  });
}
