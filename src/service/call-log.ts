// The API call log: a write's entry goes with the write (committed in its transaction); every other call's is
// buffered and written in batches through the writer, off the hot path.
import type { Config } from '../config.js';
import { now } from '../clock.js';
import { log } from '../log.js';
import type { CallStub } from '../store/commands.js';
import { loggedBody, type ApiLogRecord } from '../store/records.js';
import type { WriterClient } from '../worker/writer-client.js';
import type { Caller } from './caller.js';

/** What a transport reports once it has answered a call. */
export interface CallRecord {
  transport: 'rest' | 'grpc';
  rpc: string;
  route: string;
  caller: Caller;
  input: Record<string, unknown>;
  status: number;
  latencyMs: number;
  /** The response body: JSON text (REST, gRPC errors and pre-encoded answers) or an object (other gRPC answers). */
  response: unknown;
  /** Successful calls of this RPC are recorded at the configured sample rate only (high-volume reads: Check). */
  sampled: boolean;
  /** The call's write committed its entry itself ({@link CallScope}): nothing left to record. */
  logged?: boolean;
}

/**
 * A call as the transport starts it, handed to the service with the request: a write it makes takes its call-log
 * entry along ({@link CallLog.stubOf}) and sets `logged` once the writer committed it.
 */
export interface CallScope {
  transport: 'rest' | 'grpc';
  /** As the entry records it (secrets in the path left out). */
  route: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  logged: boolean;
}

const FLUSH_INTERVAL_MS = 1000;
const FLUSH_AT_ENTRIES = 1000;
const MAX_BUFFERED = 50_000; // beyond this, entries are dropped (and counted) rather than growing memory
const SECRET_FIELDS = new Set(['key', 'token', 'authorization']);
const SECRET_MEMBERS = [...SECRET_FIELDS].map((field) => `"${field}"`); // as they appear in JSON text
const MS_PER_DAY = 86_400_000;

/**
 * `JSON.stringify` with secret fields replaced, cut as the log keeps bodies ({@link loggedBody}). A value too deep to
 * serialise (a hostile body nested 100,000 levels) is recorded as such instead of throwing.
 */
function redactedJson(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value); // a replacer would cost every call its fast path
    if (mayHoldSecret(text)) text = JSON.stringify(typeof value === 'string' ? JSON.parse(value) : value, redact);
  } catch {
    return '"[not serialisable]"';
  }
  return loggedBody(text);
}

/** Whether JSON text has a member named like a secret (a string value quoting one is escaped: `\"key\"`). */
function mayHoldSecret(json: string): boolean {
  return SECRET_MEMBERS.some((member) => json.includes(member));
}

function redact(key: string, value: unknown): unknown {
  return SECRET_FIELDS.has(key) ? '[REDACTED]' : value;
}

export class CallLog {
  private buffer: Omit<ApiLogRecord, 'id'>[] = [];
  private dropped = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly config: Config['callLog'],
    private readonly writer: WriterClient,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  /**
   * The call-log entry a write of this call carries to the writer, which completes and commits it with the write;
   * undefined when the log is off. The entries buffered so far go to the writer first, in the same group commit: the
   * log stays in time order.
   */
  stubOf(scope: CallScope, rpc: string, caller: Caller, input: Record<string, unknown>): CallStub | undefined {
    if (!this.config.enabled) return undefined;
    if (this.buffer.length > 0) void this.flush(); // sends its command now, ahead of the write's
    const named = input.organisation_id;
    const orgId = caller.organisationId ?? (typeof named === 'string' && named !== '' ? named : undefined);
    return {
      ...(orgId === undefined ? {} : { organisation_id: orgId }),
      actor: caller.keyId,
      transport: scope.transport,
      rpc,
      route: scope.route,
      latency_ms: Math.round((performance.now() - scope.startedAt) * 1000) / 1000,
      request: redactedJson(input),
      max_age_ms: this.config.retentionDays * MS_PER_DAY,
      max_per_org: this.config.maxEntriesPerOrg,
    };
  }

  /** Records one answered call; successful calls of sampled RPCs only at the configured sample rate. */
  record(call: CallRecord): void {
    if (!this.config.enabled || call.logged) return;
    if (call.sampled && call.status === 200 && Math.random() >= this.config.checkSampleRate) return;
    const orgId = call.caller.organisationId ?? organisationOf(call);
    if (orgId === undefined) return; // an operator call on no organisation (e.g. listing them all)
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.buffer.push({
      time: new Date(now()).toISOString(),
      organisation_id: orgId,
      actor: call.caller.keyId,
      transport: call.transport,
      rpc: call.rpc,
      route: call.route,
      status: call.status,
      latency_ms: Math.round(call.latencyMs * 1000) / 1000,
      request: redactedJson(call.input),
      response: redactedJson(call.response),
    });
    if (this.buffer.length >= FLUSH_AT_ENTRIES) void this.flush();
  }

  /** Writes the buffered entries as one command (sent at once); resolves once durable (or logged as failed). */
  async flush(): Promise<void> {
    if (this.dropped > 0) {
      log.warn('call log: entries dropped under load', { dropped: this.dropped });
      this.dropped = 0;
    }
    if (this.buffer.length === 0) return;
    const entries = this.buffer;
    this.buffer = [];
    try {
      await this.writer.write({
        op: 'appendLogs',
        entries,
        max_age_ms: this.config.retentionDays * MS_PER_DAY,
        max_per_org: this.config.maxEntriesPerOrg,
      });
    } catch (err) {
      log.error('call log: write failed', { error: String(err), entries: entries.length });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** The organisation an operator call acted on: from the request, or the one it created. */
function organisationOf(call: CallRecord): string | undefined {
  const id = call.input.organisation_id;
  if (typeof id === 'string' && id !== '') return id;
  // REST reports JSON text: parsed only here, for the operator's calls on no named organisation
  const res = (typeof call.response === 'string' ? JSON.parse(call.response) : call.response) as { organisation?: { id?: string } } | undefined;
  return res?.organisation?.id;
}
