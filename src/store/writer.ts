// The writer core: applies stamped commands in order inside LMDB transactions (group commit), gives each its
// revision, stores its change in the change log in the same transaction, and returns per command its value and its
// Change. The domain rules live in apply/*.ts.
import crypto from 'node:crypto';
import { PermioError, type WireError } from '../errors.js';
import { log } from '../log.js';
import { MAX_CARRIED_EVENTS, type Change } from './change-feed.js';
import { appendChange } from './change-log.js';
import type { Op, WriteCommand } from './commands.js';
import type { Store } from './env.js';
import { META } from './keys.js';
import { createApiKey, invalidateApiKey } from './apply/api-keys.js';
import { appendLogs, logCall, trimCallLogs } from './apply/call-log.js';
import { ensureLogFacets } from './call-log-facets.js';
import { ensureGrantIndexes, expireGrants, grant, revoke } from './apply/grants.js';
import { importCommit, importDiscard, importStage } from './apply/import.js';
import {
  acceptInvitation,
  addUser,
  createInvitation,
  createOrganisation,
  hashStoredInvitationTokens,
  removeUser,
  updateOrganisation,
} from './apply/organisations.js';
import { createPermission, createRole, deletePermission, deleteRole, updatePermission, updateRole } from './apply/permissions.js';
import { createProject, deleteProject } from './apply/projects.js';
import { WriteTxn } from './apply/write-txn.js';
import { StorageTrouble, storageTroubleOf } from './storage-trouble.js';

const STORAGE_STATUS = 503; // the disk is the operator's to fix: the write may be sent again

/** A command's outcome: its value and what it changed, or the error it was refused with (nothing written). */
export type WriteResult = { ok: true; value: unknown; change: Change } | WireError;

type Handler<K extends Op> = (tx: WriteTxn, cmd: Extract<WriteCommand, { op: K }>) => unknown;

const HANDLERS: { readonly [K in Op]: Handler<K> } = {
  createOrganisation,
  updateOrganisation,
  addUser,
  removeUser,
  createInvitation,
  acceptInvitation,
  appendLogs,
  createProject,
  deleteProject,
  createApiKey,
  invalidateApiKey,
  createPermission,
  updatePermission,
  deletePermission,
  createRole,
  updateRole,
  deleteRole,
  grant,
  revoke,
  expireGrants,
  importStage,
  importCommit,
  importDiscard,
};

const STORE_ID_BYTES = 16;

/**
 * Owns the read-write side of the store; used only by the writer thread. Revisions are given by the caller of
 * {@link applyBatch} (cluster mode: from the log's sequence) or, when omitted, taken from the store's counter
 * (single node): command i of a batch gets `revision + 1 + i`, whether it succeeds or not.
 */
export class StoreWriter {
  private readonly tx: WriteTxn;
  private applied: number;
  /** Random id of this store, made when it is created: revision tokens are tagged with it. */
  readonly storeId: string;

  /** What the last failed commit said about the disk; undefined once a commit succeeds. */
  private trouble: StorageTrouble | undefined;

  /** @param onTrouble called when the disk's state changes: trouble found (full, failing), or cleared by a commit. */
  constructor(
    private readonly store: Store,
    private readonly onTrouble: (trouble: StorageTrouble | undefined) => void = () => {},
  ) {
    const meta = store.dbs.meta;
    this.tx = new WriteTxn(store.dbs, (meta.get(META.seq) as number | undefined) ?? 0);
    this.applied = (meta.get(META.revision) as number | undefined) ?? 0;
    let id = meta.get(META.storeId) as string | undefined;
    if (id === undefined) {
      id = crypto.randomBytes(STORE_ID_BYTES).toString('hex');
      meta.putSync(META.storeId, id);
    }
    this.storeId = id;
    ensureLogFacets(store.root, store.dbs);
    ensureGrantIndexes(store.root, store.dbs);
    store.root.transactionSync(() => hashStoredInvitationTokens(store.dbs));
  }

  /** The revision of the last command applied (persisted with it). */
  get revision(): number {
    return this.applied;
  }

  /**
   * Applies `cmds` in order in one transaction and returns one result each. A command at or below
   * {@link revision} was applied before (a redelivered log entry) and is skipped. A command that fails
   * validation writes nothing; an unexpected exception aborts the batch, which is then retried one command
   * per transaction so only the faulty command fails (500).
   * @param revisions strictly increasing, one per command; default: the store's counter.
   */
  applyBatch(cmds: readonly WriteCommand[], revisions?: readonly number[]): WriteResult[] {
    const revs = revisions ?? cmds.map((_, i) => this.applied + 1 + i);
    try {
      return this.commit(() => this.applyAll(cmds, revs));
    } catch (err) {
      if (err instanceof StorageTrouble) throw err; // nothing of the batch is applied
    }
    let trouble: StorageTrouble | undefined;
    return cmds.map((cmd, i) => {
      if (trouble !== undefined) return { ok: false as const, status: STORAGE_STATUS, message: trouble.message };
      try {
        return this.commit(() => this.applyAll([cmd], [revs[i]!]))[0]!;
      } catch (err) {
        if (err instanceof StorageTrouble) {
          trouble = err;
          return { ok: false as const, status: STORAGE_STATUS, message: err.message };
        }
        log.error('writer: command failed', { op: cmd.op, error: String((err as Error)?.stack ?? err) });
        return { ok: false as const, status: 500, message: 'Internal error' };
      }
    });
  }

  /**
   * Runs `apply` in one transaction. When it throws or the commit fails, the transaction is aborted and so is the
   * apply state (sequence, revision, counts); a disk that is full or failing is thrown as {@link StorageTrouble}.
   */
  private commit<T>(apply: () => T): T {
    const { seq } = this.tx;
    const applied = this.applied;
    try {
      const result = this.store.root.transactionSync(apply);
      this.setTrouble(undefined);
      return result;
    } catch (err) {
      this.tx.seq = seq;
      this.tx.counts.clear();
      this.tx.logRetention.clear();
      this.applied = applied;
      const trouble = storageTroubleOf(err, this.store.dir);
      if (trouble === undefined) throw err;
      log.error('writer: the commit failed', { data_dir: this.store.dir, error: trouble.message, cause: String((err as Error)?.message ?? err) });
      this.setTrouble(trouble);
      throw trouble;
    }
  }

  private setTrouble(trouble: StorageTrouble | undefined): void {
    if (trouble?.message === this.trouble?.message) return;
    this.trouble = trouble;
    this.onTrouble(trouble);
  }

  private applyAll(cmds: readonly WriteCommand[], revs: readonly number[]): WriteResult[] {
    const { tx } = this;
    const startSeq = tx.seq;
    const startRevision = this.applied;
    const results: WriteResult[] = [];
    for (let i = 0; i < cmds.length; i++) {
      const cmd = cmds[i]!;
      const revision = revs[i]!;
      if (revision <= this.applied) {
        results.push({ ok: false, status: 409, message: `Already applied: revision ${revision}` });
        continue;
      }
      try {
        const value = (HANDLERS[cmd.op] as Handler<Op>)(tx.begin(cmd), cmd);
        logCall(tx, cmd, { value }); // the call's entry commits with the write: a crash loses neither or both
        const change = tx.change(revision);
        appendChange(this.store.dbs, change); // in the write's own transaction: the log holds exactly what was acknowledged
        results.push({ ok: true, value, change: change.events.length > MAX_CARRIED_EVENTS ? { ...change, events: [], elided_events: change.events.length } : change });
      } catch (err) {
        if (!(err instanceof PermioError)) throw err; // the transaction is aborted: `commit` rolls the state back
        logCall(tx, cmd, { error: err });
        results.push({ ok: false, status: err.status, message: err.message, details: err.details });
      }
      this.applied = revision;
    }
    trimCallLogs(tx);
    const meta = this.store.dbs.meta;
    if (tx.seq !== startSeq) meta.putSync(META.seq, tx.seq);
    if (this.applied !== startRevision) meta.putSync(META.revision, this.applied);
    return results;
  }
}
