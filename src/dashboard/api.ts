// The console's only way to the server: fetch with the Bearer key, SPEC §5 errors turned into ApiError.
import type * as wire from '../client/wire.js';

/** A §5 error answer (`status` 0: the server could not be reached). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
  }
}

/** What the page shows for any failure: `403 Permission denied: …`, or the error's message. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.message : `${err.status} ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export type Query = Record<string, string | number | undefined>;

/** The organisation (operator key: chosen; organisation key: its own) and project a page acts on. */
export interface Scope {
  readonly orgId: string;
  readonly project: string;
}

// Wire shapes: the client's, generated from the protos (type-only: nothing of the client is shipped).
export type { ApiKey, ApiLog as LogEntry, Explanation, Grant, GrantWindow, Organisation, Permission, Project, Role } from '../client/wire.js';
/** A Check answer, with explanations when it came from ExplainCheck. */
export type CheckAnswer = wire.CheckResponse & { explanations?: wire.Explanation[] };
/** An explanation source; its `role` is JSON `null` for a direct permission. */
export type Source = Omit<wire.ExplanationSource, 'role'> & { role: wire.ExplanationRole | null };

/** The paging fields of every list answer (SPEC §5). */
export interface Page { next_page_token: string; total_items: number }

/** Pages fetched by {@link Api.listAll} at most: the console is for people, not for bulk export. */
const MAX_LIST_PAGES = 10;
const LIST_PAGE_SIZE = 1000; // SPEC §5 maximum

export class Api {
  constructor(private readonly key: string) {}

  /** One call; resolves to the JSON body of a 200, rejects with {@link ApiError}. */
  async call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path + queryString(opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, `Cannot reach the server: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, `unexpected answer (${res.statusText || 'not JSON'})`);
    }
    if (!res.ok) {
      const e = json?.error;
      throw new ApiError(typeof e?.code === 'number' ? e.code : res.status, e?.message ?? res.statusText, e?.details);
    }
    return json as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, { body });
  }

  del<T>(path: string, query?: Query, body?: unknown): Promise<T> {
    return this.call<T>('DELETE', path, { query, body });
  }

  /** Every item of a paginated list (`field` names the array), up to {@link MAX_LIST_PAGES} pages. */
  async listAll<T>(path: string, field: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let token = '';
    for (let i = 0; i < MAX_LIST_PAGES; i++) {
      const page = await this.get<Record<string, unknown> & Page>(path, { ...query, page_size: LIST_PAGE_SIZE, page_token: token || undefined });
      items.push(...((page[field] as T[] | undefined) ?? []));
      token = page.next_page_token;
      if (!token) break;
    }
    return items;
  }
}

/** `organisation_id` and `project_name` of a project-scoped call (the operator key must name the organisation). */
export function projectQuery(scope: Scope): { organisation_id: string; project_name: string } {
  return { organisation_id: scope.orgId, project_name: scope.project };
}

/** `/v1/organisations/{id}` + `rest`, the id escaped. */
export function orgPath(orgId: string, rest = ''): string {
  return `/v1/organisations/${encodeURIComponent(orgId)}${rest}`;
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}
