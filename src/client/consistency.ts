// Consistency modes: remember the newest revision of this client's writes and ask reads to reflect it (SPEC §7, §10).
import { rpcSpec, type Message } from './transport.js';

/** `session`: reads reflect this client's own writes; `full`: reads reflect every acknowledged write; `minimize_latency`: no constraint. */
export type ConsistencyMode = 'session' | 'minimize_latency' | 'full';

/** Reads that evaluate grants and take a `consistency` body field (SPEC §7). */
const CONSISTENCY_FIELD_READS: ReadonlySet<string> = new Set(['Check', 'ExplainCheck', 'LookupResources', 'LookupSubjects']);
/** Reads that take the token as a plain `at_least_revision` field (the REST query parameter). */
const REVISION_FIELD_READS: ReadonlySet<string> = new Set(['ListGrants']);

/** A write: any RPC that is not bound to GET and is not one of the evaluating reads (POST /v1/check, …). */
function isWrite(rpc: string): boolean {
  return rpcSpec(rpc).http[0] !== 'GET' && !CONSISTENCY_FIELD_READS.has(rpc);
}

const TOKEN = /^([0-9a-z]+)_/; // the server's token: base36(revision) + '_' + tag

/**
 * Whether token `a` is newer than `b`. Tokens are opaque, but this server makes them `base36(revision)_tag`, so the
 * prefix orders them (length first: base36 has no leading zeros); tokens of another shape count as newer (last seen wins).
 */
function isNewer(a: string, b: string): boolean {
  const pa = TOKEN.exec(a)?.[1];
  const pb = TOKEN.exec(b)?.[1];
  if (pa === undefined || pb === undefined) return true;
  return pa.length !== pb.length ? pa.length > pb.length : pa > pb;
}

export class Consistency {
  private newest: string | undefined;

  constructor(readonly mode: ConsistencyMode) {}

  /** The newest revision token of this client's acknowledged writes, if any. */
  get revision(): string | undefined {
    return this.newest;
  }

  /** Remembers the revision of a successful write. */
  observe(rpc: string, revision: string | undefined): void {
    if (revision === undefined || !isWrite(rpc)) return;
    if (this.newest === undefined || isNewer(revision, this.newest)) this.newest = revision;
  }

  /** The request with this mode's consistency added, unless the caller set one. */
  apply(rpc: string, request: Message): Message {
    if (this.mode === 'minimize_latency') return request;
    if (CONSISTENCY_FIELD_READS.has(rpc) && request.consistency === undefined) {
      if (this.mode === 'full') return { ...request, consistency: { fully_consistent: true } };
      return this.newest === undefined ? request : { ...request, consistency: { at_least_revision: this.newest } };
    }
    // ListGrants has no fully_consistent: 'full' sends the newest own revision there too
    if (REVISION_FIELD_READS.has(rpc) && request.at_least_revision === undefined && this.newest !== undefined) {
      return { ...request, at_least_revision: this.newest };
    }
    return request;
  }
}
