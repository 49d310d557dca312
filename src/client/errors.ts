// The client's PermioError: the server's error (either transport) or a client-side failure, with its HTTP status and gRPC code name.

/** gRPC code names by HTTP status, as the server maps them (SPEC §5, §7); 504 is the client's own timeout. */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  409: 'ALREADY_EXISTS',
  413: 'RESOURCE_EXHAUSTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** HTTP status by gRPC code name, for gRPC errors that arrive without the server's error body. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(CODE_BY_STATUS).map(([status, code]) => [code, Number(status)])),
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  UNKNOWN: 500,
};

/** The gRPC code name of an HTTP status (`INTERNAL` for statuses outside the table). */
export function codeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'UNKNOWN');
}

/** The HTTP status of a gRPC code name. */
export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/**
 * An error thrown by the client: an error answer of the server (`status` and `message` as it sent them, over REST
 * or gRPC alike), a timeout (504 `DEADLINE_EXCEEDED`), or a server that could not be reached (503 `UNAVAILABLE`
 * with the network error as `cause`).
 */
export class PermioError extends Error {
  /** The HTTP status, e.g. 404; over gRPC the status the server's error body names. */
  readonly status: number;
  /** The gRPC status code name, e.g. `NOT_FOUND`. */
  readonly code: string;
  /** The error's `details` array (`[]` when the server sent none). */
  readonly details: unknown[];
  /** How long the server asked to wait before retrying (its `Retry-After`), in ms, when it said so. */
  retryAfterMs: number | undefined;

  constructor(status: number, message: string, details: unknown[] = [], options: { code?: string; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PermioError';
    this.status = status;
    this.code = options.code ?? codeForStatus(status);
    this.details = details;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True when no server answered (connection refused, reset, DNS failure): `cause` holds the network error. */
  get unreachable(): boolean {
    return this.cause !== undefined;
  }
}

/** A server error body `{"error":{code,message,details}}` → PermioError (undefined when `body` is not one). */
export function fromErrorBody(body: unknown, fallbackStatus: number): PermioError | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error === undefined || error === null || typeof error.message !== 'string') return undefined;
  const status = typeof error.code === 'number' ? error.code : fallbackStatus;
  return new PermioError(status, error.message, Array.isArray(error.details) ? error.details : []);
}

/** The client's timeout: 504 `DEADLINE_EXCEEDED`, never retried. */
export function deadlineExceeded(ms: number): PermioError {
  return new PermioError(504, `Deadline exceeded: no answer within ${ms} ms`);
}

/** No server answered: 503 `UNAVAILABLE` with the network error as `cause`. */
export function unreachable(target: string, cause: unknown): PermioError {
  const why = (cause as { code?: string; message?: string })?.code ?? (cause as Error)?.message ?? String(cause);
  return new PermioError(503, `Unavailable: cannot reach ${target} (${why})`, [], { cause });
}

/** A request the client refuses before sending it (the server's wording for the same fault). */
export function missingField(field: string): PermioError {
  return new PermioError(400, `Invalid request: Missing required field '${field}'`, [{ field, description: 'This field is required' }]);
}
