// The API call log: every external call, buffered and written in batches through the writer, off the hot path.
import type { Config } from '../config.js';
import { now } from '../clock.js';
import { log } from '../log.js';
import type { ApiLogRecord } from '../store/records.js';
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
}

const FLUSH_INTERVAL_MS = 1000;
const FLUSH_AT_ENTRIES = 1000;
const MAX_BUFFERED = 50_000; // beyond this, entries are dropped (and counted) rather than growing memory
const MAX_BODY_CHARS = 8192;
const SECRET_FIELDS = new Set(['key', 'token', 'authorization']);
const SECRET_MEMBERS = [...SECRET_FIELDS].map((field) => `"${field}"`); // as they appear in JSON text
const MS_PER_DAY = 86_400_000;

/**
 * `JSON.stringify` with secret fields replaced, cut to {@link MAX_BODY_CHARS}. A value too deep to
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
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…[truncated]` : text;
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

  /** Records one answered call; successful calls of sampled RPCs only at the configured sample rate. */
  record(call: CallRecord): void {
    if (!this.config.enabled) return;
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

  /** Writes the buffered entries as one command; resolves once durable (or logged as failed). */
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
