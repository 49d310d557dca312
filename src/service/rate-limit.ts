// One token bucket per organisation, sized by its plan (SPEC §5): all its keys share it, so minting keys cannot
// multiply the budget; one instance serves both transports.
import { Errors } from '../errors.js';
import type { Plan } from '../config.js';
import type { Caller } from './caller.js';
import * as clock from '../clock.js';

/** Requests per minute by plan; enterprise uses the organisation's own limit, 0 = unlimited. */
export const PLAN_LIMITS: Readonly<Record<Exclude<Plan, 'enterprise'>, number>> = { free: 100, pro: 1000 };

const MS_PER_MINUTE = 60_000;

export function limitFor(plan: Plan, customPerMinute: number): number {
  return plan === 'enterprise' ? customPerMinute : PLAN_LIMITS[plan];
}

interface Bucket {
  limit: number;
  tokens: number;
  at: number;
}

export type RateHeaders = Record<string, string>;

export class RateLimiter {
  /** By organisation id. */
  private readonly buckets = new Map<string, Bucket>();

  /** @param limitOf the caller's organisation limit per minute (0 = unlimited). */
  constructor(private readonly limitOf: (organisationId: string) => number) {}

  /**
   * Takes one token from the caller's organisation. Returns the rate-limit headers when it is limited (undefined
   * when unlimited); throws 429 with `Retry-After` when the bucket is empty.
   */
  admit(caller: Caller, now = clock.now()): RateHeaders | undefined {
    if (caller.organisationId === undefined) return undefined; // the operator key is never limited
    const limit = this.limitOf(caller.organisationId);
    if (limit <= 0) return undefined;
    let b = this.buckets.get(caller.organisationId);
    if (b === undefined || b.limit !== limit) {
      b = { limit, tokens: b === undefined ? limit : Math.min(b.tokens, limit), at: now };
      this.buckets.set(caller.organisationId, b);
    }
    const perMs = limit / MS_PER_MINUTE;
    b.tokens = Math.min(limit, b.tokens + (now - b.at) * perMs);
    b.at = now;
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      throw Errors.rateLimited(retryAfter, headers(b, perMs));
    }
    b.tokens -= 1;
    return headers(b, perMs);
  }
}

function headers(b: Bucket, perMs: number): RateHeaders {
  return {
    'x-ratelimit-limit': String(b.limit),
    'x-ratelimit-remaining': String(Math.floor(b.tokens)),
    'x-ratelimit-reset': String(Math.ceil((b.limit - b.tokens) / perMs / 1000)),
  };
}
