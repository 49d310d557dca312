// LogWaits: bounded waits for a revision, coalesced log-end queries, catching up after a 404 (SPEC §7, §12).
import { describe, expect, it } from 'vitest';
import { PermioError } from '../../src/errors.js';
import { ChangeFeed } from '../../src/store/change-feed.js';
import { LogWaits } from '../../src/service/log-waits.js';

const token = (r: number) => `t${r}`;

describe('LogWaits', () => {
  it('single node: nothing to wait for, nothing to catch up on', async () => {
    const waits = new LogWaits(new ChangeFeed(), undefined, 10, token);
    await waits.current();
    expect(await waits.advancedPast(0)).toBe(false);
  });

  it('waits for a revision, and answers 503 with both tokens when it is not applied in time', async () => {
    const feed = new ChangeFeed();
    const waits = new LogWaits(feed, async () => 5, 50, token);
    const reached = waits.applied(3);
    feed.advance(3);
    await reached;
    const err = await waits.applied(9).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermioError);
    expect(err).toMatchObject({ status: 503, details: [{ revision_wanted: 't9', revision_applied: 't3' }] });
  });

  it('shares one log-end query among the callers that arrive while it is in flight (plus one after it)', async () => {
    const feed = new ChangeFeed();
    feed.advance(100);
    let queries = 0;
    const waits = new LogWaits(feed, async () => (queries++, 100), 50, token);
    await Promise.all(Array.from({ length: 10 }, () => waits.current()));
    expect(queries).toBe(2); // the first, and one for everyone who came while it was out
  });

  it('after a 404: true only if catching up brought something new; false when the log cannot say', async () => {
    const feed = new ChangeFeed();
    feed.advance(10);
    const waits = new LogWaits(feed, async () => 20, 1000, token);
    const caughtUp = waits.advancedPast(10);
    feed.advance(20);
    expect(await caughtUp).toBe(true);
    expect(await waits.advancedPast(20)).toBe(false);
    const unreachable = new LogWaits(feed, () => Promise.reject(new PermioError(503, 'Unavailable: down')), 1000, token);
    expect(await unreachable.advancedPast(5)).toBe(false);
  });
});
