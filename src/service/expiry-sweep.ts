// The expiry sweep (SPEC §8): when a grant entry's window ends, a command through the writer (in cluster mode the
// log, like any write) removes it and emits GRANT_EXPIRED — within a second, whatever the clock (test clock included).
import { now } from '../clock.js';
import { log } from '../log.js';
import type { Change, GrantEvent } from '../store/change-feed.js';
import type { ServiceContext } from './context.js';

/** How often the next end is compared with the clock: the removal is at most this late (SPEC §8: within a second). */
const SWEEP_POLL_MS = 200;
/** Commands one sweep sends at most before it yields to the next poll (a sweep command removes ≤ 1,000 entries). */
const MAX_ROUNDS = 100;

/**
 * Knows the earliest end among indexed windowed entries (from the store at start, then from GRANT events) and, once
 * the clock passes it, sends one `expireGrants` command per project with ended entries. Checks never wait for it:
 * they judge windows themselves; the sweep only makes removals durable, listed and watched.
 */
export class ExpirySweeper {
  private next = Infinity;
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ServiceContext) {}

  start(): void {
    this.next = this.ctx.reader.nextExpiry();
    this.timer = setInterval(() => this.tick(), SWEEP_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A change feed listener: a new window may end before the one known. */
  observe(change: Change): void {
    // a change too large to carry (an import) has its windows in the store only
    if (change.elided_events !== undefined) this.next = Math.min(this.next, this.ctx.reader.nextExpiry());
    for (const e of change.events) {
      const end = (e as GrantEvent).expires_at;
      if (e.type === 'GRANT' && end !== undefined) this.next = Math.min(this.next, Date.parse(end));
    }
  }

  /** Sweeps if an end has passed (also called when the test clock moves). */
  tick(): void {
    if (this.running || now() < this.next) return;
    this.running = true;
    void this.sweep().finally(() => {
      this.running = false;
      this.next = this.ctx.reader.nextExpiry();
    });
  }

  private async sweep(): Promise<void> {
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const projects = this.ctx.reader.projectsWithEnded(now());
        if (projects.size === 0) return;
        for (const projectId of projects) await this.ctx.write({ op: 'expireGrants', project_id: projectId });
      }
    } catch (err) {
      log.warn('expiry sweep failed; retried at the next poll', { error: String((err as Error)?.message ?? err) });
    }
  }
}
