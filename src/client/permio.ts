// The Permio client: one member per operation over either transport, with defaults, retries, consistency and paging.
import type {
  AllowedOptions,
  ApiKeysApi,
  ExportRecord,
  GrantsApi,
  ImportRequest,
  ImportSource,
  InvitationsApi,
  ListOf,
  LogsApi,
  OrganisationsApi,
  PermioOptions,
  PermissionsApi,
  ProjectsApi,
  RequestOf,
  ResponseOf,
  RolesApi,
  UsersApi,
  WatchMessage,
} from './api.js';
import { Consistency } from './consistency.js';
import { pages } from './pages.js';
import { RestTransport } from './rest.js';
import { withRetries } from './retry.js';
import { rpcSpec, type Message, type Transport } from './transport.js';
import { resumingWatch } from './watch.js';
import { RPCS, type RpcSpec } from './wire.js';

const DEFAULT_PROJECT = 'default';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_GRPC_PORT = 50051;
/** Calls whose `project_name` is never filled in from the constructor: it makes a project key, or names what to delete. */
const EXPLICIT_PROJECT: ReadonlySet<string> = new Set(['CreateApiKey', 'DeleteProject']);


/**
 * A typed Permio client. Requests and responses are the wire's snake_case objects; `project_name` and
 * `organisation_id` default to the constructor's `project` and `organisationId`.
 *
 * ```ts
 * const permio = new Permio({ url: 'http://localhost:8080', apiKey: process.env.PERMIO_API_KEY! });
 * await permio.grants.grant({ user_id: 'alice', resource_uri: '/teams/eng', permissions: ['document.read'] });
 * if (await permio.allowed('alice', 'document.read', '/teams/eng/app1')) console.log('allowed');
 * ```
 */
export class Permio {
  /** Organisations (`create` needs the operator key). */
  readonly organisations: OrganisationsApi;
  /** Projects of the organisation, and their export and import. */
  readonly projects: ProjectsApi;
  /** API keys of the organisation. */
  readonly apiKeys: ApiKeysApi;
  /** Users of the organisation. */
  readonly users: UsersApi;
  /** Invitations to the organisation. */
  readonly invitations: InvitationsApi;
  /** Permissions of the project. */
  readonly permissions: PermissionsApi;
  /** Roles of the project. */
  readonly roles: RolesApi;
  /** Grants of the project. */
  readonly grants: GrantsApi;
  /** The organisation's API call log. */
  readonly logs: LogsApi;

  private readonly options: Required<Omit<PermioOptions, 'organisationId' | 'grpcAddress'>> &
    Pick<PermioOptions, 'organisationId' | 'grpcAddress'>;
  private readonly consistency: Consistency;
  private transportReady: Promise<Transport> | undefined;
  private ownOrganisation: Promise<string | undefined> | undefined;

  constructor(options: PermioOptions) {
    this.options = {
      project: DEFAULT_PROJECT,
      transport: 'rest',
      timeoutMs: DEFAULT_TIMEOUT_MS,
      retries: DEFAULT_RETRIES,
      consistency: 'session',
      ...options,
    };
    this.consistency = new Consistency(this.options.consistency);
    const unary =
      <R extends string>(rpc: R) =>
      (request?: RequestOf<R>) =>
        this.call(rpc, request) as Promise<ResponseOf<R>>;
    const list =
      <R extends string>(rpc: R) =>
      (request?: RequestOf<R>) =>
        this.list(rpc, request);
    this.organisations = {
      create: unary('CreateOrganisation'),
      get: unary('GetOrganisation'),
      list: list('ListOrganisations'),
      update: unary('UpdateOrganisation'),
    };
    this.projects = {
      create: unary('CreateProject'),
      list: list('ListProjects'),
      delete: unary('DeleteProject'),
      export: (request) => this.exportProject(request ?? {}),
      import: (request, records) => this.importProject(request, records),
    };
    this.apiKeys = { create: unary('CreateApiKey'), list: list('ListApiKeys'), invalidate: unary('InvalidateApiKey') };
    this.users = { add: unary('AddUser'), list: list('ListUsers'), remove: unary('RemoveUser') };
    this.invitations = { create: unary('CreateInvitation'), accept: unary('AcceptInvitation') };
    this.permissions = {
      create: unary('CreatePermission'),
      get: unary('GetPermission'),
      update: unary('UpdatePermission'),
      list: list('ListPermissions'),
      delete: unary('DeletePermission'),
    };
    this.roles = {
      create: unary('CreateRole'),
      get: unary('GetRole'),
      update: unary('UpdateRole'),
      list: list('ListRoles'),
      delete: unary('DeleteRole'),
    };
    this.grants = { grant: unary('Grant'), revoke: unary('Revoke'), list: list('ListGrants') };
    this.logs = { list: list('ListApiLogs') };
  }

  /** The batch check (`principal_id`, `resource_uris`, `permissions`): `{passed, missing_permissions}`. */
  check(request: RequestOf<'Check'>): Promise<ResponseOf<'Check'>> {
    return this.call('Check', request) as Promise<ResponseOf<'Check'>>;
  }

  /** Whether `principalId` holds `permission` on `resourceUri` (or an ancestor): one check of one pair. */
  async allowed(principalId: string, permission: string, resourceUri: string, opts: AllowedOptions = {}): Promise<boolean> {
    const answer = await this.check({ ...opts, principal_id: principalId, resource_uris: [resourceUri], permissions: [permission] });
    return answer.passed;
  }

  /** A check with its reasons: the Check answer plus one explanation per pair, with the grants that supply it. */
  explain(request: RequestOf<'ExplainCheck'>): Promise<ResponseOf<'ExplainCheck'>> {
    return this.call('ExplainCheck', request) as Promise<ResponseOf<'ExplainCheck'>>;
  }

  /** The maximal subtrees at or under `resource_prefix` on which `principal_id` holds `permission`, ascending by byte order. */
  lookupResources(request: RequestOf<'LookupResources'>): ListOf<'LookupResources'> {
    return this.list('LookupResources', request);
  }

  /** Every principal for whom a check of `permission` on `resource_uri` passes, ascending by byte order. */
  lookupSubjects(request: RequestOf<'LookupSubjects'>): ListOf<'LookupSubjects'> {
    return this.list('LookupSubjects', request);
  }

  /**
   * The project's changes as §7 messages `{revision, committed_at, events}`, live (from `after_revision` when given,
   * replayed first). When the connection drops it reopens after the last delivered revision — no gap, no duplicate —
   * for up to 30 s without an answer; it ends after `PROJECT_DELETED` or when the loop is left (`break`).
   */
  watch(request: RequestOf<'Watch'> = {}): AsyncIterable<WatchMessage> {
    return this.stream('Watch', request, (transport, prepared, signal) =>
      resumingWatch((r, s) => transport.serverStream('Watch', r, s), prepared, signal),
    ) as AsyncIterable<WatchMessage>;
  }

  /** Closes the client's connections (gRPC channels); pending calls fail. */
  close(): void {
    void this.transportReady?.then((t) => t.close());
  }

  private transport(): Promise<Transport> {
    const { transport, url, apiKey, grpcAddress } = this.options;
    const authorization = `Bearer ${apiKey}`;
    this.transportReady ??=
      transport === 'grpc'
        ? import('./grpc.js').then((m) => new m.GrpcTransport(grpcAddress ?? `${new URL(url).hostname}:${DEFAULT_GRPC_PORT}`, authorization))
        : Promise.resolve(new RestTransport(url, authorization));
    return this.transportReady;
  }

  /** The request with the constructor's defaults and the consistency mode applied. */
  private async prepare(rpc: string, request: Message): Promise<Message> {
    const spec = rpcSpec(rpc);
    const prepared: Message = { ...request };
    if (prepared.project_name === undefined && spec.fields.includes('project_name') && !EXPLICIT_PROJECT.has(rpc)) {
      prepared.project_name = this.options.project;
    }
    if (prepared.organisation_id === undefined && spec.fields.includes('organisation_id')) {
      const org = this.options.organisationId ?? (spec.http[1].includes('{organisation_id}') ? await this.keyOrganisation() : undefined);
      if (org !== undefined) prepared.organisation_id = org;
    }
    return this.consistency.apply(rpc, prepared);
  }

  /** The one organisation the key can see (organisation and project keys), for routes that name it; else undefined. */
  private keyOrganisation(): Promise<string | undefined> {
    this.ownOrganisation ??= this.call('ListOrganisations', { page_size: 2 }).then(
      (page) => {
        const orgs = (page as ResponseOf<'ListOrganisations'>).organisations;
        return orgs.length === 1 ? orgs[0]!.id : undefined;
      },
      (err) => {
        this.ownOrganisation = undefined; // try again on the next call
        throw err;
      },
    );
    return this.ownOrganisation;
  }

  private async call(rpc: string, request: object = {}): Promise<unknown> {
    const transport = await this.transport();
    const prepared = await this.prepare(rpc, request as Message);
    const answer = await withRetries(this.options.retries, () => transport.unary(rpc, prepared, this.options.timeoutMs));
    this.consistency.observe(rpc, answer.revision);
    return answer.body;
  }

  private list<R extends string>(rpc: R, request: object = {}): ListOf<R> {
    const items = (RPCS as Record<string, RpcSpec>)[rpc]?.items ?? '';
    return pages(items, request, (paging) => this.call(rpc, paging)) as ListOf<R>;
  }

  /** A server stream as an async iterable: prepared lazily, cancelled when the consumer stops. */
  private stream(
    rpc: string,
    request: object,
    run: (transport: Transport, prepared: Message, signal: AbortSignal) => AsyncIterable<Message>,
  ): AsyncIterable<Message> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const controller = new AbortController();
        try {
          const transport = await self.transport();
          yield* run(transport, await self.prepare(rpc, request as Message), controller.signal);
        } finally {
          controller.abort();
        }
      },
    };
  }

  private exportProject(request: RequestOf<'ExportProject'>): AsyncIterable<ExportRecord> {
    return this.stream('ExportProject', request, (transport, prepared, signal) =>
      transport.serverStream('ExportProject', prepared, signal),
    ) as AsyncIterable<ExportRecord>;
  }

  private async importProject(request: ImportRequest, records: ImportSource): Promise<ResponseOf<'ImportProject'>> {
    const transport = await this.transport();
    const prepared = await this.prepare('ImportProject', request as Message);
    const answer = await transport.clientStream('ImportProject', prepared, records);
    this.consistency.observe('ImportProject', answer.revision);
    return answer.body as unknown as ResponseOf<'ImportProject'>;
  }
}
