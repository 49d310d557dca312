// Cluster mode's waits on the shared log (SPEC §7, §12): for a revision this node has not applied yet, and for
// everything the log held when a call began (fully consistent reads; a write that found something missing).
import { Errors } from '../errors.js';
import type { ChangeFeed } from '../store/change-feed.js';

/** Asks where the log ends now, as a revision (the writer thread asks JetStream); rejects with 503. */
export type LogEndQuery = () => Promise<number>;

export class LogWaits {
  private inFlight: Promise<number> | undefined;
  private queued: Promise<number> | undefined;

  /**
   * @param logEnd undefined on a single node: it is its own log, always current.
   * @param waitMs PERMIO_CONSISTENCY_WAIT_MS.
   * @param token a revision as the wire's token.
   */
  constructor(
    private readonly feed: ChangeFeed,
    private readonly logEnd: LogEndQuery | undefined,
    private readonly waitMs: number,
    private readonly token: (revision: number) => string,
  ) {}

  /** Resolves once this node has applied `revision`; 503 with `revision_wanted`/`revision_applied` after the wait. */
  async applied(revision: number): Promise<void> {
    if (await this.feed.reachedWithin(revision, this.waitMs)) return;
    throw Errors.revisionNotApplied(this.token(revision), this.token(this.feed.applied));
  }

  /** Resolves once this node has applied every entry the log held when this was called. Single node: at once. */
  async current(): Promise<void> {
    if (this.logEnd === undefined) return;
    await this.applied(await this.endAfterNow());
  }

  /**
   * Cluster mode: catches up with the log (as {@link current}); true if this node has now applied past `revision`.
   * False when the log cannot say (unreachable, or not applied in time): the caller keeps what the replica said.
   */
  async advancedPast(revision: number): Promise<boolean> {
    if (this.logEnd === undefined) return false;
    try {
      await this.current();
    } catch {
      return false;
    }
    return this.feed.applied > revision;
  }

  /**
   * A log end read after this call: concurrent callers share one JetStream request — the one in flight if it was sent
   * after them, else the next one, sent as soon as the one in flight returns.
   */
  private endAfterNow(): Promise<number> {
    if (this.inFlight === undefined) {
      this.inFlight = this.logEnd!().finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.endAfterNow();
      });
    return this.queued;
  }
}
