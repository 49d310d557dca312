// `permio grant|revoke|grants list|check|explain|lookup …`: grants of the --project project and the questions asked of them.
import type { Command } from 'commander';
import type { Grant } from '../../client/wire.js';
import { collect, mergedPages, type CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { printJson, printLine, printTable } from '../output.js';

type Run = (command: Command, handler: (ctx: CliContext, ...args: any[]) => Promise<void | number>) => void;

interface GrantFlags {
  permission?: string[];
  role?: string[];
  startsAt?: string;
  expiresAt?: string;
}

/** `--permission`/`--role` (ids or names) and the optional window as request fields. */
function grantFields(opts: GrantFlags) {
  return {
    permissions: opts.permission ?? [],
    roles: opts.role ?? [],
    ...(opts.startsAt === undefined ? {} : { starts_at: opts.startsAt }),
    ...(opts.expiresAt === undefined ? {} : { expires_at: opts.expiresAt }),
  };
}

const grantOptions = (command: Command) =>
  command
    .argument('<user>', 'the principal')
    .argument('<uri>', 'the resource URI')
    .option('--permission <p>', 'a permission id or name (repeat for each)', collect)
    .option('--role <r>', 'a role id or name (repeat for each)', collect);

const printGrants = (grants: readonly Grant[]) =>
  printTable(
    ['RESOURCE', 'PERMISSIONS', 'ROLES', 'WINDOWS'],
    grants.map((g) => [g.resource_uri, g.permissions, g.roles, (g as { windows?: unknown[] }).windows ?? []]),
  );

export function registerAccessCommands(program: Command, run: Run): void {
  run(
    grantOptions(program.command('grant').description('grant permissions and roles on a resource and everything under it'))
      .option('--starts-at <time>', 'RFC 3339: the grant is active from then')
      .option('--expires-at <time>', 'RFC 3339: the grant ends then'),
    async (ctx, user: string, uri: string, opts: GrantFlags) => {
      const answer = await ctx.client().grants.grant({ user_id: user, resource_uri: uri, ...grantFields(opts) });
      ctx.json ? printJson(answer) : printLine(`granted to ${user} on ${uri}`);
    },
  );
  run(grantOptions(program.command('revoke').description('revoke permissions and roles granted on exactly this resource')), async (ctx, user: string, uri: string, opts: GrantFlags) => {
    const answer = await ctx.client().grants.revoke({ user_id: user, resource_uri: uri, ...grantFields(opts) });
    ctx.json ? printJson(answer) : printLine(`revoked from ${user} on ${uri}`);
  });
  const grants = program.command('grants').description('grants of the project');
  run(grants.command('list').description("list a principal's grants, one entry per resource").argument('<user>'), async (ctx, user: string) => {
    const answer = await mergedPages(ctx.client().grants.list({ user_id: user }), 'grants');
    ctx.json ? printJson(answer) : printGrants(answer.grants);
  });

  run(
    program
      .command('check')
      .description('check permissions on resources: exit 0 when every pair passes, 1 when something is missing')
      .argument('<user>', 'the principal')
      .argument('<uris...>', 'resource URIs')
      .requiredOption('--permission <p>', 'a permission name (repeat for each)', collect),
    async (ctx, user: string, uris: string[], opts: { permission: string[] }) => {
      const answer = await ctx.client().check({ principal_id: user, resource_uris: uris, permissions: opts.permission });
      if (ctx.json) printJson(answer);
      else {
        printLine(answer.passed ? 'allowed' : 'denied');
        if (!answer.passed) printTable(['RESOURCE', 'MISSING'], answer.missing_permissions.map((m) => [m.resource_uri, m.missing_permissions]));
      }
      return answer.passed ? EXIT.ok : EXIT.denied;
    },
  );
  run(
    program
      .command('explain')
      .description('check, and show which grants supply each pair')
      .argument('<user>', 'the principal')
      .argument('<uris...>', 'resource URIs')
      .requiredOption('--permission <p>', 'a permission name (repeat for each)', collect),
    async (ctx, user: string, uris: string[], opts: { permission: string[] }) => {
      const answer = await ctx.client().explain({ principal_id: user, resource_uris: uris, permissions: opts.permission });
      if (ctx.json) return printJson(answer);
      printLine(answer.passed ? 'allowed' : 'denied');
      printTable(
        ['RESOURCE', 'PERMISSION', 'ALLOWED', 'SOURCES'],
        answer.explanations.map((e: Explanation) => [e.resource_uri, e.permission, e.allowed, e.sources.map(sourceText)]),
      );
    },
  );

  const lookup = program.command('lookup').description('which resources a principal reaches, or who reaches a resource');
  run(
    lookup
      .command('resources')
      .description('the maximal subtrees on which a principal holds a permission')
      .argument('<user>', 'the principal')
      .requiredOption('--permission <p>', 'the permission name')
      .option('--prefix <uri>', 'only at or under this URI', '/'),
    async (ctx, user: string, opts: { permission: string; prefix: string }) => {
      const list = ctx.client().lookupResources({ principal_id: user, permission: opts.permission, resource_prefix: opts.prefix });
      const answer = await mergedPages(list, 'resource_uris');
      ctx.json ? printJson(answer) : answer.resource_uris.forEach((u: string) => printLine(u));
    },
  );
  run(
    lookup
      .command('subjects')
      .description('the principals for whom a check of a permission on a resource passes')
      .argument('<uri>', 'the resource URI')
      .requiredOption('--permission <p>', 'the permission name'),
    async (ctx, uri: string, opts: { permission: string }) => {
      const list = ctx.client().lookupSubjects({ resource_uri: uri, permission: opts.permission });
      const answer = await mergedPages(list, 'principal_ids');
      ctx.json ? printJson(answer) : answer.principal_ids.forEach((u: string) => printLine(u));
    },
  );
}

/** What the table shows of an ExplainCheck explanation and its sources (SPEC §8). */
interface Explanation {
  resource_uri: string;
  permission: string;
  allowed: boolean;
  sources: ExplainSource[];
}
interface ExplainSource {
  resource_uri: string;
  role: { id: string; name: string } | null;
  starts_at?: string;
  expires_at?: string;
}

/** `/teams/eng (role Editor, until 2030-01-01T00:00:00Z)`. */
function sourceText(s: ExplainSource): string {
  const notes = [s.role ? `role ${s.role.name}` : 'direct', s.starts_at ? `from ${s.starts_at}` : '', s.expires_at ? `until ${s.expires_at}` : ''];
  return `${s.resource_uri} (${notes.filter(Boolean).join(', ')})`;
}
