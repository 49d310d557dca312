// What a command is applied with: the databases, the command's time and nonce, the id sequence, and what it changed.
import type { Database } from 'lmdb';
import type { WriteCommand } from '../commands.js';
import type { Change, WatchEvent } from '../change-feed.js';
import type { DbName } from '../keys.js';

export type Dbs = Readonly<Record<DbName, Database<any, any>>>;

const SEQ_DIGITS = 10; // base36: 3.6e15 ids before the width grows
const TAIL_DIGITS = 8; // hex digits of an id's tail (32 bits)

/** `n` as a fixed-width base36 sequence: ids sort in creation order. */
export const seqDigits = (n: number): string => n.toString(36).padStart(SEQ_DIGITS, '0');

/** A 32-bit mix (murmur3 finalizer): distinct sequence numbers give unrelated tails under one nonce. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * One writer's apply state, reused for every command: {@link begin} resets what the command changed. Domain
 * functions (`apply/*.ts`) read and write `db`, take time and id tails from the command only, and report their
 * effect with {@link emit} and the cache flags.
 */
export class WriteTxn {
  /** Last allocated sequence number; persisted by the writer with each batch. */
  seq: number;
  /** Record counts kept up to date across commands (call-log entries per organisation); dropped on a rollback. */
  readonly counts = new Map<string, number>();
  /** Organisations whose call log grew in this transaction, with its retention: trimmed once, before the commit. */
  readonly logRetention = new Map<string, { maxAgeMs: number; maxPerOrg: number }>();
  private cmd!: WriteCommand;
  private projectId: string | undefined;
  private events: WatchEvent[] = [];
  private organisationUpdated: string | undefined;
  private keysInvalidated = false;

  constructor(
    readonly db: Dbs,
    seq: number,
  ) {
    this.seq = seq;
  }

  /** Starts applying `cmd`. */
  begin(cmd: WriteCommand): this {
    this.cmd = cmd;
    this.projectId = undefined;
    this.events = [];
    this.organisationUpdated = undefined;
    this.keysInvalidated = false;
    return this;
  }

  /** The command's time, in milliseconds since the epoch. */
  get now(): number {
    return this.cmd.now;
  }

  /** The command's time as stored in records: RFC 3339 UTC, whole seconds. */
  timestamp(): string {
    return new Date(this.cmd.now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** `perm_0000000k3x9f1c2a`: sequence first, so ids sort in creation order; a tail from the command's nonce, so they are not guessable. */
  newId(prefix: string): string {
    const seq = this.nextSeq();
    const tail = mix32((this.cmd.nonce ^ Math.imul(seq, 0x9e3779b1)) >>> 0);
    return `${prefix}_${seqDigits(seq)}${tail.toString(16).padStart(TAIL_DIGITS, '0')}`;
  }

  /** Records one SPEC §7 event of project `projectId` (a command changes at most one project). */
  emit(projectId: string, event: WatchEvent): void {
    this.projectId = projectId;
    this.events.push(event);
  }

  markOrganisationUpdated(orgId: string): void {
    this.organisationUpdated = orgId;
  }

  markKeysInvalidated(): void {
    this.keysInvalidated = true;
  }

  /** What the command did, stamped with its revision. */
  change(revision: number): Change {
    return {
      revision,
      committed_at: new Date(this.cmd.now).toISOString(),
      ...(this.projectId === undefined ? {} : { project_id: this.projectId }),
      events: this.events,
      ...(this.organisationUpdated === undefined ? {} : { organisation_updated: this.organisationUpdated }),
      ...(this.keysInvalidated ? { keys_invalidated: true as const } : {}),
    };
  }
}
