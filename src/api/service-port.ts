// The service layer as both transports see it: implemented by service/service.ts (and by test doubles).
import type { Caller } from '../service/caller.js';
import type { CallRecord, CallScope } from '../service/call-log.js';
import type { Subscription, WatchSink } from '../service/watch-hub.js';
import type { ProjectExport } from '../service/export-ops.js';
import type { ImportSession } from '../service/import-ops.js';

export interface ServiceLike {
  /** Throws PermioError 401 for missing/malformed/unknown/invalidated keys; `authorization` is the raw value, e.g. "Bearer perms_api_…". */
  authenticate(authorization: string | undefined): Caller;
  /**
   * Cluster mode: after `authenticate` threw `err`, a second verdict once this node has caught up with the log (a key
   * just created on another node); undefined when there is nothing to wait for (optional: test doubles may omit it).
   */
  authenticateLate?(authorization: string | undefined, err: unknown): Promise<Caller> | undefined;
  /** Takes one request from the caller's rate budget: the `x-ratelimit-*` headers to send (undefined when unlimited), or throws 429. */
  admit(caller: Caller): Readonly<Record<string, string>> | undefined;
  /**
   * Runs one unary RPC by name with a JSON-shaped (snake_case) input; resolves to the REST response body — JSON text
   * for operations marked `preEncoded` in the operation table — or to an `Answer` carrying it with response headers;
   * rejects with PermioError. `scope` (unsampled calls): a write commits the call's log entry and sets `scope.logged`.
   */
  invoke(rpc: string, caller: Caller, input: Record<string, unknown>, scope?: CallScope): Promise<unknown>;
  /**
   * Opens a Watch subscription (SPEC §7) whose messages go to `sink`; rejects with PermioError (optional: test doubles
   * may omit it, and the transports then refuse Watch).
   */
  watch?(caller: Caller, input: Record<string, unknown>, sink: WatchSink): Promise<Subscription>;
  /** Opens an export (SPEC §9): scope checked, then a snapshot to pull records from (optional: test doubles may omit it). */
  exportProject?(caller: Caller, input: Record<string, unknown>): Promise<ProjectExport>;
  /** Opens an import (SPEC §9): scope checked, then a session to feed lines to (optional, as `exportProject`). */
  importProject?(caller: Caller, input: Record<string, unknown>): Promise<ImportSession>;
  /** The largest import body or stream in bytes (PERMIO_IMPORT_MAX_MB). */
  readonly importMaxBytes?: number;
  /** Records an answered call in the API call log (optional: test doubles may omit it). */
  recordCall?(call: CallRecord): void;
}
