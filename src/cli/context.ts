// What every command gets: the global flags (over PERMIO_URL / PERMIO_API_KEY) and a client built from them on first use.
import type { Command } from 'commander';
import { Permio } from '../client/permio.js';
import type { PageIterable } from '../client/pages.js';
import { UsageError } from './exit-codes.js';
import type { CliSettings } from './settings.js';

/** `permio [--url URL] [--grpc ADDR] [--key KEY] [--org ORG_ID] [--project NAME] [--json]` (SPEC §10). */
export interface GlobalOptions {
  url?: string;
  grpc?: string;
  key?: string;
  org?: string;
  project: string;
  json?: boolean;
}

/** Page size while merging every page of a list: the server's maximum. */
const MERGE_PAGE_SIZE = 1000;

export class CliContext {
  private permio: Permio | undefined;

  constructor(
    readonly settings: CliSettings,
    readonly options: GlobalOptions,
  ) {}

  /** `--json`: print the API's JSON instead of tables. */
  get json(): boolean {
    return this.options.json === true;
  }

  /** The client: REST at `--url`, or gRPC at `--grpc`; no key from any source is a usage error (exit 2). */
  client(): Permio {
    const apiKey = this.options.key ?? this.settings.apiKey;
    if (apiKey === undefined || apiKey === '') {
      throw new UsageError('no API key: pass --key, set PERMIO_API_KEY, or run where ./data/admin.key exists');
    }
    this.permio ??= new Permio({
      url: this.options.url ?? this.settings.url,
      apiKey,
      project: this.options.project,
      organisationId: this.options.org,
      ...(this.options.grpc === undefined ? {} : { transport: 'grpc', grpcAddress: this.options.grpc }),
    });
    return this.permio;
  }

  close(): void {
    this.permio?.close();
  }
}

/** The context of the command being run (its global options merged over the settings). */
export function contextOf(command: Command, settings: CliSettings): CliContext {
  return new CliContext(settings, command.optsWithGlobals() as GlobalOptions);
}

/** Every page of a list merged into one list-shaped document: `{<items>: [...all], next_page_token: "", total_items}`. */
export async function mergedPages<Page extends object>(list: PageIterable<unknown, Page>, items: keyof Page & string): Promise<Page> {
  const all: unknown[] = [];
  let page: Page;
  let token = '';
  do {
    page = await list.page({ page_size: MERGE_PAGE_SIZE, ...(token === '' ? {} : { page_token: token }) });
    all.push(...(page[items] as unknown[]));
    token = (page as { next_page_token?: string }).next_page_token ?? '';
  } while (token !== '');
  return { ...page, [items]: all, next_page_token: '' };
}

/** Collects a repeatable flag (`--permission a --permission b`) into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
