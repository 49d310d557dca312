// Retries of 429 and 503 answers with exponential backoff, honouring the server's Retry-After.
import { PermioError } from './errors.js';

/** First backoff step; each retry doubles it (with jitter) unless the server said how long to wait. */
const BASE_BACKOFF_MS = 100;
/** The longest wait the client accepts between attempts, whatever Retry-After says. */
const MAX_WAIT_MS = 60_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether an error may be retried: an answered 429 (rate limit) or 503 (unavailable) — never a timeout or an unreachable server. */
export function isRetryable(err: unknown): err is PermioError {
  return err instanceof PermioError && !err.unreachable && (err.status === 429 || err.status === 503);
}

/** The wait before retry number `attempt` (0-based): the server's Retry-After, else 100 ms · 2^attempt ± 50 %. */
export function backoffMs(attempt: number, err?: PermioError): number {
  const asked = err?.retryAfterMs;
  const wait = asked ?? BASE_BACKOFF_MS * 2 ** attempt * (0.5 + Math.random());
  return Math.min(wait, MAX_WAIT_MS);
}

/** Runs `attempt` up to `retries + 1` times while it fails with a retryable error. */
export async function withRetries<T>(retries: number, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= retries || !isRetryable(err)) throw err;
      await sleep(backoffMs(n, err));
    }
  }
}
